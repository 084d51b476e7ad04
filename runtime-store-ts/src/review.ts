/**
 * Reviewers' annotations (memory_app's review wing, issue #23): score configs, annotations
 * with their scores on a turn, a session or a workflow run, and the runtime's reads of them
 * (for a session; new ones since a cursor), so the agent can learn from people. Both stores
 * write the same rows and refuse the same input (contract/scenarios/annotations*.json).
 *
 * Annotations and scores are append-only: an edit is a new annotation that supersedes its
 * author's own current one on the same target, once; the "current" annotations are those
 * nothing supersedes. Texts may not hold NUL, on either engine: PostgreSQL cannot store it.
 */
import { people } from "./contract.js";
import type { Core } from "./core.js";
import type { Row, Tx } from "./engines.js";
import { InvalidInput, NotFound } from "./errors.js";
import { SAYS_NOTHING } from "./people.js";
import type { Annotation, AnnotationScore, ScoreConfig } from "./rows.js";
import { choice, text, uuid7 } from "./values.js";

export const SCORE_DATA_TYPES = ["categorical", "numeric", "boolean"] as const;
export const TARGET_KINDS = ["turn", "session", "workflow_run"] as const;
const TARGET_TABLES = { turn: "conversation_turns", session: "sessions", workflow_run: "workflow_runs" } as const;
const TARGET_LABELS = { turn: "turn", session: "session", workflow_run: "workflow run" } as const;
const EMPTY = `an annotation needs a score, a comment or a correction; in a comment or a correction ${SAYS_NOTHING}`;
export const MAX_LIMIT = 1000;

export type ScoreValue = string | number | boolean | null;

export interface ScoreConfigOptions {
  createdBy: string; categories?: string[] | null; minValue?: number | null; maxValue?: number | null;
  description?: string | null;
}

export interface AnnotateOptions {
  author: string;
  /** Score config name → the category, the number, or true/false. */
  scores?: Record<string, ScoreValue> | null;
  comment?: string | null;
  /** For a turn only: the answer it should have given. */
  correction?: string | null;
  queueItemId?: string | null;
  /** The id of the author's own current annotation on the same target this one edits. */
  supersedes?: string | null;
  createdAt?: string | Date | null;
}

/** An annotation with its scores as the writer gave them, by config name. */
export interface AnnotationRead { annotation: Annotation; scores: Record<string, ScoreValue> }

/** A page of annotations in the order written, and the cursor to ask from next time. */
export interface AnnotationsSince { annotations: AnnotationRead[]; nextCursor: string | null }

export interface SinceOptions { after?: string | null; limit?: number }

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** A non-blank text a row can hold on both engines. */
function storedText(value: unknown, what: string): string {
  return storable(text(value, what), what);
}

function storable(value: string, what: string): string {
  if (value.includes("\0")) throw new InvalidInput(`${what} cannot hold the NUL character (PostgreSQL cannot store it)`);
  if (/\p{Cs}/u.test(value)) throw new InvalidInput(`${what} is not Unicode text (it holds a lone surrogate)`);
  return value;
}

/** A text that may be empty or blank ("" when absent). */
function freeText(value: unknown, what: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new InvalidInput(`${what} must be a text; got ${show(value)}`);
  return storable(value, what);
}

function person(value: unknown, what: string): string {
  const name = storedText(value, what);
  if (people.key(name) === "") throw new InvalidInput(`${what} must name a person; ${show(name)} has no visible characters`);
  return name;
}

function visible(value: unknown, what: string): string {
  const said = storedText(value, what);
  if (!people.hasVisible(said)) throw new InvalidInput(`${what} must say something; ${SAYS_NOTHING}`);
  return said;
}

/** Texts in code point order, as Python sorts them. */
function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0) as number);
  const y = [...b].map((c) => c.codePointAt(0) as number);
  for (let n = 0; n < Math.min(x.length, y.length); n++) {
    if (x[n] !== y[n]) return (x[n] as number) - (y[n] as number);
  }
  return x.length - y.length;
}

// --- score configs -------------------------------------------------------------------------

/** The columns that say what a config's scores take, checked (memory_app/review/writes.py
 * definition): categories for a categorical config alone, a range for a numeric one alone. */
function definition(dataType: unknown, categories: unknown, minValue: unknown, maxValue: unknown): Pick<ScoreConfig, "data_type" | "categories_json" | "min_value" | "max_value"> {
  const kind = choice(dataType, SCORE_DATA_TYPES, "data_type");
  const given = (v: unknown) => v !== undefined && v !== null;
  if (kind !== "categorical" && given(categories)) throw new InvalidInput(`only a categorical score config has categories, not a ${kind} one`);
  if (kind !== "numeric" && (given(minValue) || given(maxValue))) throw new InvalidInput(`only a numeric score config has a range, not a ${kind} one`);
  const columns = { data_type: kind, categories_json: null as string | null, min_value: null as number | null, max_value: null as number | null };
  if (kind === "categorical") {
    if (!Array.isArray(categories) || !categories.length) {
      throw new InvalidInput(`a categorical score config needs a list of categories; got ${show(categories)}`);
    }
    const listed = categories.map((c) => visible(c, "a category"));
    if (new Set(listed).size !== listed.length) throw new InvalidInput(`categories must differ from one another; got ${show(listed)}`);
    columns.categories_json = JSON.stringify(listed);
  } else if (kind === "numeric") {
    const bound = (value: unknown, what: string): number | null => {
      if (!given(value)) return null;
      if (typeof value !== "number" || Number.isNaN(value)) throw new InvalidInput(`${what} must be a number; got ${show(value)}`);
      if (!Number.isFinite(value)) throw new InvalidInput("a range's bounds are finite numbers (leave one out for none)");
      return value;
    };
    const low = bound(minValue, "min_value");
    const high = bound(maxValue, "max_value");
    if (low !== null && high !== null && low > high) throw new InvalidInput(`min_value ${low} is above max_value ${high}`);
    Object.assign(columns, { min_value: low, max_value: high });
  }
  return columns;
}

/** Add a score config; a name another config has is refused. */
export async function createScoreConfig(core: Core, name: unknown, dataType: unknown, options: ScoreConfigOptions): Promise<ScoreConfig> {
  const values = {
    name: visible(name, "name"),
    ...definition(dataType, options.categories, options.minValue, options.maxValue),
    description: freeText(options.description, "description"),
    created_by: person(options.createdBy, "created_by"),
  };
  return core.db.write(async (tx) => {
    await tx.serializeOn(`tommemory_score_configs:${values.name}`);
    if (await tx.get("SELECT 1 AS found FROM tommemory_score_configs WHERE name = ?", values.name)) {
      throw new InvalidInput(`a score config named ${show(values.name)} exists already`);
    }
    return core.insert(tx, "tommemory_score_configs", {
      id: uuid7(), ...values, created_at: core.now(), archived_at: null,
    });
  });
}

/** The values a config takes, in words (the Python store's ScoreConfig.allowed). */
function allowed(config: ScoreConfig): string {
  if (config.data_type === "categorical") return `one of ${categoriesOf(config).map((c) => JSON.stringify(c)).join(", ")}`;
  if (config.data_type === "boolean") return "true or false";
  const low = config.min_value === null ? "-∞" : String(config.min_value);
  const high = config.max_value === null ? "∞" : String(config.max_value);
  return `a finite number from ${low} to ${high}`;
}

function categoriesOf(config: ScoreConfig): string[] {
  try {
    const parsed: unknown = JSON.parse(config.categories_json ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((c): c is string => typeof c === "string") : [];
  } catch {
    return [];
  }
}

/** A score's [value_text, value_number], or InvalidInput naming the config and what it takes. */
function storedValue(config: ScoreConfig, value: unknown): [string | null, number | null] {
  if (config.data_type === "categorical") {
    if (typeof value === "string" && categoriesOf(config).includes(value)) return [value, null];
  } else if (config.data_type === "boolean") {
    if (typeof value === "boolean") return [value ? "true" : "false", value ? 1 : 0];
  } else if (config.data_type === "numeric" && typeof value === "number" && Number.isFinite(value)
    && (config.min_value === null || value >= config.min_value)
    && (config.max_value === null || value <= config.max_value)) {
    return [null, value];
  }
  throw new InvalidInput(`score '${config.name}' takes ${allowed(config)}, not ${show(value)}`);
}

// --- annotations ---------------------------------------------------------------------------

/** The configs the scores name, by name (one query); refused when one is unknown or archived. */
async function configsFor(tx: Tx, scores: unknown): Promise<Map<string, ScoreConfig>> {
  if (typeof scores !== "object" || scores === null || Array.isArray(scores)) {
    throw new InvalidInput(`scores must map score config names to values; got ${show(scores)}`);
  }
  const names = Object.keys(scores).map((name) => storedText(name, "a score config name"));
  const rows = names.length
    ? await tx.all(`SELECT * FROM tommemory_score_configs WHERE name IN (${names.map(() => "?").join(", ")})`, ...names)
    : [];
  const found = new Map((rows as ScoreConfig[]).map((c) => [c.name, c]));
  for (const name of names) {
    const config = found.get(name);
    if (config === undefined) throw new NotFound(`no score config named '${name}'`);
    if (config.archived_at !== null) throw new InvalidInput(`score config '${name}' is archived: it takes no new scores`);
  }
  return found;
}

/**
 * Record a reviewer's annotation on a turn, a session or a workflow run: scores by config
 * name, a comment, and for a turn a correction; `supersedes`: the author's own current
 * annotation on the same target this one edits. Refused, writing nothing, when any of it is
 * not allowed (memory_app/review/writes.py annotate checks in the same order).
 */
export async function annotate(core: Core, targetKind: unknown, targetId: unknown, options: AnnotateOptions): Promise<Annotation> {
  const kind = choice(targetKind, TARGET_KINDS, "target_kind");
  const values = {
    target_kind: kind,
    target_id: storedText(targetId, "target_id"),
    author: person(options.author, "author"),
    comment: freeText(options.comment, "comment"),
    correction: options.correction === undefined || options.correction === null ? null : visible(options.correction, "correction"),
    queue_item_id: options.queueItemId === undefined || options.queueItemId === null ? null : storedText(options.queueItemId, "queue_item_id"),
    created_at: core.when(options.createdAt, "created_at"),
  };
  if (values.correction !== null && kind !== "turn") throw new InvalidInput(`only a turn takes a correction, not a ${TARGET_LABELS[kind]}`);
  const given = options.scores ?? {};
  const old = options.supersedes === undefined || options.supersedes === null ? null : storedText(options.supersedes, "supersedes");
  return core.db.write(async (tx) => {
    const configs = await configsFor(tx, given);
    const stored = Object.entries(given).map(([name, value]) => [name, storedValue(configs.get(name) as ScoreConfig, value)] as const);
    if (!(stored.length || people.hasVisible(values.comment) || values.correction)) throw new InvalidInput(EMPTY);
    await core.get(tx, TARGET_TABLES[kind], values.target_id);
    if (old !== null) checkSupersedes(await core.get(tx, "tommemory_annotations", old, true), values, await tx.get("SELECT 1 AS found FROM tommemory_annotations WHERE supersedes_id = ?", old));
    const annotation = await core.insert(tx, "tommemory_annotations", { id: uuid7(), ...values, supersedes_id: old });
    for (const [name, [valueText, valueNumber]] of [...stored].sort(([a], [b]) => byCodePoint(a, b))) {
      await core.insert(tx, "tommemory_annotation_scores", {
        id: uuid7(), value_text: valueText, value_number: valueNumber, annotation_id: annotation.id,
        score_config_id: (configs.get(name) as ScoreConfig).id,
      });
    }
    return annotation;
  });
}

/** An edit supersedes its author's own current annotation on the same target, once. */
function checkSupersedes(old: Annotation, edit: Pick<Annotation, "target_kind" | "target_id" | "author">, editedAlready: Row | undefined): void {
  if (old.target_kind !== edit.target_kind || old.target_id !== edit.target_id) {
    throw new InvalidInput(`annotation ${old.id} is on ${old.target_kind} '${old.target_id}': an edit stays on the same target`);
  }
  if (!people.same(old.author, edit.author)) {
    throw new InvalidInput(`annotation ${old.id} is '${old.author}''s: only its author may edit it`);
  }
  if (editedAlready) throw new InvalidInput(`annotation ${old.id} was edited already: edit its latest version instead`);
}

// --- reads for the runtime -----------------------------------------------------------------

/** Each annotation with its scores by config name (one more query). */
async function withScores(tx: Tx, annotations: Annotation[]): Promise<AnnotationRead[]> {
  if (!annotations.length) return [];
  const scores = await tx.all(
    "SELECT s.*, c.name AS config_name FROM tommemory_annotation_scores s "
    + "JOIN tommemory_score_configs c ON c.id = s.score_config_id "
    + `WHERE s.annotation_id IN (${annotations.map(() => "?").join(", ")})`,
    ...annotations.map((a) => a.id),
  ) as (AnnotationScore & { config_name: string })[];
  return annotations.map((annotation) => {
    const own = scores.filter((s) => s.annotation_id === annotation.id).sort((a, b) => byCodePoint(a.config_name, b.config_name));
    return { annotation, scores: Object.fromEntries(own.map((s) => [s.config_name, scoreValue(s)])) };
  });
}

/** A score's value as given: the category, the number, or true/false. */
function scoreValue(score: AnnotationScore): ScoreValue {
  if ((score.value_text === "true" || score.value_text === "false") && score.value_number !== null) {
    return score.value_text === "true";
  }
  return score.value_text === null ? score.value_number : score.value_text;
}

/** The row, or NotFound (also for an id no row can have: NUL, which PostgreSQL cannot hold). */
async function existing<T extends "sessions" | "tommemory_annotations">(core: Core, tx: Tx, table: T, id: unknown) {
  if (typeof id === "string" && id.includes("\0")) throw new NotFound(`no ${table} row with id '${id}'`);
  return core.get(tx, table, id);
}

/** The current annotations on the session and on its turns, oldest first. */
export function annotationsForSession(core: Core, sessionId: unknown): Promise<AnnotationRead[]> {
  return core.db.read(async (tx) => {
    const session = await existing(core, tx, "sessions", sessionId);
    const annotations = await tx.all(
      "SELECT a.* FROM tommemory_annotations a WHERE ((a.target_kind = 'session' AND a.target_id = ?) "
      + "OR (a.target_kind = 'turn' AND a.target_id IN (SELECT id FROM conversation_turns WHERE session_id = ?))) "
      + "AND NOT EXISTS (SELECT 1 FROM tommemory_annotations e WHERE e.supersedes_id = a.id) "
      + "ORDER BY a.created_at, a.id",
      session.id, session.id,
    ) as Annotation[];
    return withScores(tx, annotations);
  });
}

/** Up to `limit` annotations written after the one whose id is `after` (from the first
 * when none), in (created_at, id) order, edits included; the next cursor is the last one's
 * id, or `after` when there was nothing new. */
export async function annotationsSince(core: Core, options: SinceOptions = {}): Promise<AnnotationsSince> {
  const limit = options.limit ?? 100;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidInput(`limit must be a whole number from 1 to ${MAX_LIMIT}; got ${show(limit)}`);
  }
  const after = options.after ?? null;
  return core.db.read(async (tx) => {
    const cursor = after === null ? null : await existing(core, tx, "tommemory_annotations", after);
    const annotations = await (cursor === null
      ? tx.all("SELECT * FROM tommemory_annotations ORDER BY created_at, id LIMIT ?", limit)
      : tx.all(
        "SELECT * FROM tommemory_annotations WHERE created_at > ? OR (created_at = ? AND id > ?) ORDER BY created_at, id LIMIT ?",
        cursor.created_at, cursor.created_at, cursor.id, limit,
      )) as Annotation[];
    const page = await withScores(tx, annotations);
    return { annotations: page, nextCursor: page.length ? (page.at(-1) as AnnotationRead).annotation.id : after };
  });
}
