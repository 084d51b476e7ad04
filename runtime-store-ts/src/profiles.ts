/**
 * Behavior and personality profiles: versions with windows of effect
 * [effective_from, effective_to), published N+1 at a time, and a scheduled version
 * withdrawn before it starts (memory_app's profiles wing).
 */
import type { Core } from "./core.js";
import { takeIn } from "./decisionLog.js";
import type { Tx } from "./engines.js";
import { InvalidInput, NotFound } from "./errors.js";
import type { BehaviorProfile, PersonalityProfile, ProfileWithdrawal } from "./rows.js";
import { instantKey, isActiveAt } from "./times.js";
import { jsonObject, MAX_INTEGER, text, uuid7 } from "./values.js";

export interface WithdrawOptions { withdrawnBy: string; reason: string }

export interface PublishOptions {
  createdBy: string; rationale?: string | null; sourceRef?: string | null;
  effectiveFrom?: string | Date;
}

// Clock skew between a caller and this process: a start this little in the past means now.
const START_GRACE_MS = 5_000;

type ProfileTable = "behavior_profiles" | "personality_profiles";
export type Profile = BehaviorProfile | PersonalityProfile;

function versionsOf(tx: Tx, table: ProfileTable, name: string): Promise<Profile[]> {
  return tx.all(`SELECT * FROM "${table}" WHERE profile_name = ? ORDER BY version DESC`, name) as Promise<Profile[]>;
}

/** The ids of the withdrawn versions among ``versions`` (one query). */
async function withdrawnAmong(tx: Tx, table: ProfileTable, versions: Profile[]): Promise<Set<unknown>> {
  if (!versions.length) return new Set();
  const rows = await tx.all(
    `SELECT version_id FROM tommemory_profile_withdrawals WHERE profile_table = ? AND version_id IN (${versions.map(() => "?").join(", ")})`,
    table, ...versions.map((v) => v.id),
  );
  return new Set(rows.map((r) => r.version_id));
}

/** The highest version of a profile in effect at ``at`` (default now), or null. */
export async function activeAt(core: Core, table: ProfileTable, name: string, at?: string | Date): Promise<Profile | null> {
  const moment = at === undefined ? core.now() : core.when(at, "at");
  const versions = await core.db.read((tx) => versionsOf(tx, table, name));
  return versions.find((v) => isActiveAt(v, moment)) ?? null;
}

/** Add version N+1 and close the open window at its start, atomically; never the past. */
export async function publish(
  core: Core, table: ProfileTable, column: string, name: unknown, document: unknown, options: PublishOptions,
): Promise<Profile> {
  const profileName = text(name, "profile_name");
  const values = {
    profile_name: profileName,
    [column]: jsonObject(document, column),
    rationale: text(options.rationale, "rationale", false),
    source_ref: text(options.sourceRef, "source_ref", false),
    created_by: text(options.createdBy, "created_by"),
    effective_from: start(core, options.effectiveFrom),
  };
  return core.db.write(async (tx) => {
    // A new profile has no row to lock: publishers of one name take turns (PostgreSQL).
    await tx.serializeOn(`${table}:${profileName}`);
    const versions = await versionsOf(tx, table, profileName);
    const withdrawn = await withdrawnAmong(tx, table, versions);
    const start = values.effective_from;
    const toClose: unknown[] = [];
    for (const v of versions) {
      // A withdrawn version was never in effect: it counts for neither check.
      if (withdrawn.has(v.id)) continue;
      const begins = instantKey(v.effective_from);
      if (begins >= start) {
        throw new InvalidInput(`${profileName} v${String(v.version)} starts at ${String(v.effective_from)}; a new version must start after it`);
      }
      if (v.effective_to === null || v.effective_to === "") {
        toClose.push(v.id);
      } else if (instantKey(v.effective_to) > start) {
        throw new InvalidInput(`${profileName} v${String(v.version)} is in effect until ${String(v.effective_to)}; a new version cannot start before that`);
      }
    }
    for (const id of toClose) {
      await tx.run(`UPDATE "${table}" SET effective_to = ? WHERE id = ?`, start, id as string);
    }
    const numbers = versions.map((v) => v.version).filter((n): n is number => Number.isInteger(n));
    const version = Math.max(0, ...numbers) + 1;
    if (BigInt(version) > MAX_INTEGER) throw new InvalidInput("the version numbers of this profile are used up");
    const published = await core.insert(tx, table, {
      id: uuid7(), ...values, version, effective_to: null, created_at: core.now(),
    });
    await takeIn(tx, core.now);
    return published;
  });
}

/**
 * Withdraw a scheduled version before it starts: the version before it stays in effect.
 * In one transaction the withdrawal (who, when, why) is recorded, the version's window is
 * closed at its own start (never in effect) and the windows its publishing closed (those
 * ending at its start) are open again, so v1 readers see it too. Only the latest version
 * not withdrawn, not yet started and still open can be withdrawn.
 */
export async function withdraw(
  core: Core, table: ProfileTable, name: unknown, version: unknown, options: WithdrawOptions,
): Promise<ProfileWithdrawal> {
  const profileName = text(name, "profile_name");
  if (typeof version !== "number" || !Number.isInteger(version) || BigInt(version) > MAX_INTEGER || BigInt(version) < -MAX_INTEGER - 1n) {
    throw new InvalidInput(`version must be a whole number; got ${JSON.stringify(version)}`);
  }
  const by = text(options.withdrawnBy, "withdrawn_by");
  const reason = text(options.reason, "reason");
  return core.db.write(async (tx) => {
    await tx.serializeOn(`${table}:${profileName}`);
    const versions = await versionsOf(tx, table, profileName);
    const withdrawn = await withdrawnAmong(tx, table, versions);
    const target = withdrawable(core, versions, withdrawn, profileName, version);
    const recorded = await core.insert(tx, "tommemory_profile_withdrawals", {
      id: uuid7(), profile_table: table, version_id: target.id, withdrawn_by: by,
      withdrawn_at: core.now(), reason,
    });
    await tx.run(`UPDATE "${table}" SET effective_to = ? WHERE id = ?`, target.effective_from, target.id);
    // The windows this version's publishing closed: exactly those ending at its start.
    for (const v of versions) {
      if (v !== target && !withdrawn.has(v.id) && v.effective_to === target.effective_from) {
        await tx.run(`UPDATE "${table}" SET effective_to = NULL WHERE id = ?`, v.id);
      }
    }
    return recorded;
  });
}

/** The version ``version`` if it may be withdrawn now; refused otherwise. */
function withdrawable(core: Core, versions: Profile[], withdrawn: Set<unknown>, name: string, version: number): Profile {
  const target = versions.find((v) => v.version === version);
  if (target === undefined) throw new NotFound(`${name} has no v${version}`);
  if (withdrawn.has(target.id)) throw new InvalidInput(`${name} v${version} is already withdrawn`);
  const latest = versions.find((v) => !withdrawn.has(v.id)) as Profile;
  if (latest !== target) {
    throw new InvalidInput(`${name} v${version} is not the latest version (v${String(latest.version)} is): only the latest can be withdrawn`);
  }
  const begins = instantKey(target.effective_from);
  if (!(begins && begins > core.now())) {
    throw new InvalidInput(`${name} v${version} started at ${String(target.effective_from)}: only a version that has not started yet can be withdrawn`);
  }
  if (!(target.effective_to === null || target.effective_to === "")) {
    throw new InvalidInput(`${name} v${version} already ends at ${String(target.effective_to)}: only a version whose window is open can be withdrawn`);
  }
  return target;
}

/** A new version's start: now or later, never in the past. */
function start(core: Core, value: unknown): string {
  const now = core.now();
  const start = value === undefined || value === null ? now : core.when(value, "effective_from");
  if (start < now) {
    if (start < new Date(Date.parse(now) - START_GRACE_MS).toISOString()) {
      throw new InvalidInput(
        `effective_from ${start} is in the past: a new version starts now or later, ` +
        "so which version was active before now never changes",
      );
    }
    return now;
  }
  return start;
}
