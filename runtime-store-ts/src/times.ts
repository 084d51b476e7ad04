/**
 * Times as the contract writes and compares them: any ISO-8601 text read, canonical
 * toISOString() text written (memory_app/timeutil.py is the same in Python).
 */
import { InvalidInput } from "./errors.js";

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ]+(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** Any ISO-8601 date or date-time as a canonical toISOString() text, or null. */
export function normalizeIso(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value !== "string" || value.length > 64) return null;
  const m = ISO.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", , sign, oh = "00", om = "00"] = m;
  const millis = Number((frac + "000").slice(0, 3));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis);
  const date = new Date(utc);
  // Date.UTC rolls 2026-02-30 over to March: such a text is not a time.
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1
      || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return null;
  }
  const offset = sign ? (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  const instant = new Date(utc - offset * 60_000);
  const year = instant.getUTCFullYear();
  if (year < 1 || year > 9999) return null;
  return instant.toISOString();
}

/** The sort key of a stored time: canonical text, or "" when unreadable (sorts first). */
export function instantKey(value: unknown): string {
  return normalizeIso(value) ?? "";
}

/** A given time in the canonical form, or ``now`` when none is given; refused when unreadable. */
export function givenTime(value: unknown, what: string, now: () => string): string {
  if (value === undefined || value === null) return now();
  const text = normalizeIso(value);
  if (text === null) throw new InvalidInput(`${what} must be an ISO-8601 timestamp; got ${JSON.stringify(value)}`);
  return text;
}

/** Whether a version's window [effective_from, effective_to) contains ``moment``; an
 * unreadable bound leaves the window unknown, and an unknown window contains nothing. */
export function isActiveAt(version: { effective_from: unknown; effective_to: unknown }, moment: string): boolean {
  const start = instantKey(version.effective_from);
  if (!start || start > moment) return false;
  if (version.effective_to === null || version.effective_to === "") return true;
  const end = instantKey(version.effective_to);
  return Boolean(end) && end > moment;
}
