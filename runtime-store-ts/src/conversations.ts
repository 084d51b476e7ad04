/** Sessions and their turns (memory_app's runtime wing writes the same rows). */
import type { Core } from "./core.js";
import { InvalidInput } from "./errors.js";
import type { Session, Turn } from "./rows.js";
import { choice, each, jsonObject, parentId, ROLES, SESSION_STATUSES, text, uuid7 } from "./values.js";

export interface StartSessionOptions {
  channel?: string | null; metadata?: unknown; startedAt?: string | Date; sessionId?: string;
}
export interface EndSessionOptions { status?: string; endedAt?: string | Date }
export interface AppendTurnOptions {
  tokenCount?: number | null; metadata?: unknown; createdAt?: string | Date; turnId?: string;
}
export interface SessionReplay { session: Session; turns: Turn[] }

export async function startSession(core: Core, actor: string, options: StartSessionOptions = {}): Promise<Session> {
  const row = sessionValues(core, actor, options);
  return core.db.write((tx) => core.insert(tx, "sessions", row));
}

/** A session of startSessions: startSession's arguments in one object. */
export interface SessionInput extends StartSessionOptions { actor: string }
const SESSION_VALUES = ["actor", "channel", "metadata", "startedAt", "sessionId"] as const;

/** Start sessions: the rows as many startSession calls write, in one transaction; one
 * refused refuses them all, naming its place (sessions[2]: ...). */
export async function startSessions(core: Core, sessions: SessionInput[]): Promise<Session[]> {
  const rows = each(sessions, "sessions", SESSION_VALUES, ["actor"], (session) => {
    const { actor, ...options } = session as unknown as SessionInput;
    return sessionValues(core, actor, options);
  });
  return core.db.write(async (tx) => {
    const stored = [];
    for (const row of rows) stored.push(await core.insert(tx, "sessions", row));
    return stored;
  });
}

function sessionValues(core: Core, actor: string, options: StartSessionOptions) {
  return {
    id: options.sessionId === undefined ? uuid7() : text(options.sessionId, "id"),
    actor: text(actor, "actor"),
    channel: text(options.channel, "channel", false),
    started_at: core.when(options.startedAt, "started_at"),
    status: "active",
    metadata_json: jsonObject(options.metadata, "metadata"),
  };
}

export async function endSession(core: Core, sessionId: string, options: EndSessionOptions = {}): Promise<Session> {
  const status = choice(options.status ?? "ended", SESSION_STATUSES, "session status");
  if (status === "active") throw new InvalidInput("an ended session cannot have status 'active'");
  const endedAt = core.when(options.endedAt, "ended_at");
  return core.db.write(async (tx) => {
    await core.get(tx, "sessions", sessionId, true);
    await tx.run("UPDATE sessions SET status = ?, ended_at = ? WHERE id = ?", status, endedAt, sessionId);
    return core.get(tx, "sessions", sessionId);
  });
}

/** Append a turn at the next turn_index of its session (gap-free, unique). */
export async function appendTurn(
  core: Core, sessionId: string, role: string, content: string, options: AppendTurnOptions = {},
): Promise<Turn> {
  return core.append("conversation_turns", "sessions", sessionId, turnValues(core, role, content, options));
}

/** A turn of appendTurns: appendTurn's arguments after the session, in one object. */
export interface TurnInput extends AppendTurnOptions { role: string; content: string }
const TURN_VALUES = ["role", "content", "tokenCount", "metadata", "createdAt", "turnId"] as const;

/**
 * Append turns at the session's next turn_indexes in the order given: the rows as many
 * appendTurn calls write, in one transaction. One turn appendTurn would refuse refuses them
 * all, naming its place (turns[2]: ...), and nothing is written.
 */
export async function appendTurns(core: Core, sessionId: string, turns: TurnInput[]): Promise<Turn[]> {
  const rows = each(turns, "turns", TURN_VALUES, ["role", "content"], (turn) => {
    const { role, content, ...options } = turn as unknown as TurnInput;
    return turnValues(core, role, content, options);
  });
  return core.appendRows("conversation_turns", "sessions", rows.map((row) => [sessionId, row]), { parent: sessionId });
}

/** A turn of appendTurnsAcross: all of appendTurn's arguments, its session's id too. */
export interface SessionTurnInput extends TurnInput { sessionId: string }

/**
 * Append turns to any sessions, each naming its own (sessionId): the rows as many
 * appendTurn calls write, each session's at its next turn_indexes in the order given, in
 * one transaction. One refused, or one whose session does not exist, refuses them all,
 * naming its place (turns[2]: ...), and nothing is written.
 */
export async function appendTurnsAcross(core: Core, turns: SessionTurnInput[]): Promise<Turn[]> {
  const rows = each(turns, "turns", ["sessionId", ...TURN_VALUES], ["sessionId", "role", "content"], (turn) => {
    const { sessionId, role, content, ...options } = turn as unknown as SessionTurnInput;
    const values = turnValues(core, role, content, options);
    return [parentId("sessions", sessionId), values] as [string, ReturnType<typeof turnValues>];
  });
  return core.appendRows("conversation_turns", "sessions", rows, { what: "turns" });
}

/** A turn's columns but its place, checked (one rule for one turn and for many). */
function turnValues(core: Core, role: string, content: string, options: AppendTurnOptions) {
  const chosenRole = choice(role, ROLES, "role");
  if (typeof content !== "string") throw new InvalidInput(`content must be text; got ${typeof content}`);
  const tokens = options.tokenCount;
  if (tokens !== undefined && tokens !== null && (!Number.isInteger(tokens) || tokens < 0)) {
    throw new InvalidInput(`token_count must be a non-negative integer; got ${JSON.stringify(tokens)}`);
  }
  return {
    id: options.turnId === undefined ? uuid7() : text(options.turnId, "id"),
    role: chosenRole,
    content,
    token_count: tokens ?? null,
    created_at: core.when(options.createdAt, "created_at"),
    metadata_json: jsonObject(options.metadata, "metadata"),
  };
}

/** The session and its turns by turn_index. */
export async function sessionReplay(core: Core, sessionId: string): Promise<SessionReplay> {
  return core.db.read(async (tx) => {
    const session = await core.get(tx, "sessions", sessionId);
    const turns = await tx.all("SELECT * FROM conversation_turns WHERE session_id = ? ORDER BY turn_index", sessionId);
    return { session, turns: turns as Turn[] };
  });
}
