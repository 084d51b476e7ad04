/**
 * Values as the contract allows and writes them: the enumerations of v1's columns, ids,
 * and the checks every write makes of its input before anything is written (each throws
 * InvalidInput naming the value).
 */
import { randomBytes } from "node:crypto";

import { people } from "./contract.js";
import { InvalidInput } from "./errors.js";

export const ROLES = ["system", "user", "assistant", "tool", "agent"] as const;
export const SESSION_STATUSES = ["active", "ended", "failed"] as const;
export const RUN_STATUSES = ["queued", "running", "failed", "succeeded", "aborted"] as const;
export const STEP_STATUSES = ["queued", "running", "failed", "succeeded", "skipped"] as const;
export const TRIGGER_SOURCES = ["cron", "manual", "api", "agent"] as const;
export const EVENT_TYPES = ["info", "warn", "error", "policy", "approval"] as const;
export const LEVELS = ["low", "medium", "high", "critical"] as const;
export const SOURCE_TYPES = ["conversation", "doc", "external"] as const;
export const SKILL_STATES = ["active", "promoted", "retired"] as const;
export const PROPOSED_BY = ["oxide", "human"] as const;
export const PROPOSAL_TYPES = ["code_patch", "config_change", "policy_change"] as const;
export const VALIDATORS = ["ci", "oxide", "human"] as const;
export const APPROVAL_TYPES = ["policy", "human", "security", "ops"] as const;
export const DECISIONS = ["approved", "rejected"] as const;
export const DEPLOY_STATUSES = ["succeeded", "failed", "rolled_back"] as const;

export const MAX_INTEGER = 2n ** 63n - 1n;

let lastMillis = 0;
let sequence = 0;

/** An RFC 9562 UUIDv7, monotonic within this process. */
export function uuid7(): string {
  let millis = Date.now();
  if (millis <= lastMillis) {
    millis = lastMillis;
    sequence += 1;
    if (sequence > 0xfff) { millis += 1; sequence = 0; }
  } else {
    sequence = randomBytes(2).readUInt16BE() & 0x3ff;
  }
  lastMillis = millis;
  const bytes = randomBytes(16);
  bytes.writeUIntBE(millis, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function number(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidInput(`${what} must be a number; got ${JSON.stringify(value)}`);
  }
  return value;
}

export function flag(value: unknown, what: string): number {
  if (value !== 0 && value !== 1 && value !== true && value !== false) {
    throw new InvalidInput(`${what} must be true/false or 0/1; got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** A stored value as text ("" for none), as Python's str() of a column reads. */
export function textOf(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

export function text(value: unknown, what: string): string;
export function text(value: unknown, what: string, required: false): string | null;
export function text(value: unknown, what: string, required = true): string | null {
  if ((value === undefined || value === null) && !required) return null;
  if (typeof value !== "string" || (required && !value.trim())) {
    throw new InvalidInput(`${what} must be a non-empty text; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A name that names a person: one with visible characters (contract/people.json). */
export function person(value: unknown, what: string): string {
  const name = text(value, what);
  if (people.key(name) === "") {
    throw new InvalidInput(`${what} must name a person; ${JSON.stringify(name)} has no visible characters`);
  }
  return name;
}

export function choice<T extends string>(value: unknown, choices: readonly T[], what: string): T {
  if (!choices.includes(value as T)) {
    throw new InvalidInput(`${what} must be one of ${choices.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** JSON object text for an object or JSON text; "{}" when absent. */
export function jsonObject(value: unknown, what: string): string {
  if (value === undefined || value === null) return "{}";
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new InvalidInput(`${what} is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    const kind = Array.isArray(parsed) ? "list" : parsed === null ? "NoneType" : typeof parsed;
    throw new InvalidInput(`${what} must be a JSON object, got ${kind}`);
  }
  return JSON.stringify(parsed);
}

/** The most levels a JSON column may nest and still be read (memory_app/jsontext.py). */
const MAX_DEPTH = 100;

function depth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [item, level] = stack.pop() as [unknown, number];
    if (typeof item !== "object" || item === null) continue;
    deepest = Math.max(deepest, level + 1);
    if (deepest > MAX_DEPTH) break;
    for (const child of Object.values(item)) stack.push([child, level + 1]);
  }
  return deepest;
}

/** A JSON column's object as every store reads it, or {} when it holds none: nested at most
 * MAX_DEPTH levels (memory_app/jsontext.py strict_json_object reads the same object). */
export function strictJsonObject(raw: unknown): Record<string, unknown> {
  if (raw === null || raw === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(textOf(raw));
  } catch {
    return {};
  }
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  return isObject && depth(value) <= MAX_DEPTH ? (value as Record<string, unknown>) : {};
}

/**
 * A batch writer's items (appendTurns, addSteps, addEvents), each checked by ``check`` (the
 * single call's checks) before anything is written: an item that is no object, names a
 * value the single call does not take (``takes``) or lacks one it needs (``needs``), or
 * that ``check`` refuses, refuses the batch, named by its place (``turns[2]: ...``).
 */
export function each<T>(
  items: unknown, what: string, takes: readonly string[], needs: readonly string[],
  check: (item: Record<string, unknown>) => T,
): T[] {
  if (!Array.isArray(items)) {
    throw new InvalidInput(`${what} must be a list of objects; got ${items === null ? "null" : typeof items}`);
  }
  return items.map((item: unknown, n) => {
    try {
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        throw new InvalidInput(`must be an object of values; got ${Array.isArray(item) ? "a list" : typeof item}`);
      }
      const given = item as Record<string, unknown>;
      const unknown = Object.keys(given).find((key) => !takes.includes(key));
      if (unknown !== undefined) {
        throw new InvalidInput(`unknown value ${JSON.stringify(unknown)}; a value is one of ${takes.join(", ")}`);
      }
      const missing = needs.find((key) => !(key in given));
      if (missing !== undefined) throw new InvalidInput(`${missing} is missing`);
      return check(given);
    } catch (error) {
      if (error instanceof InvalidInput) throw new InvalidInput(`${what}[${n}]: ${error.message}`);
      throw error;
    }
  });
}

/** The id of the row a batch's item hangs from (its session, its run), as core.get checks it. */
export function parentId(table: string, id: unknown): string {
  if (typeof id !== "string" || !id) {
    throw new InvalidInput(`${table} id must be a non-empty text, got ${JSON.stringify(id)}`);
  }
  return id;
}
