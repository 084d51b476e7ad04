/**
 * RuntimeMemoryStore: the one front door for every write, a thin facade over the wings'
 * writers (conversations, workflows, profiles, promotion), with the same calls as
 * tommemory's Python store, camelCased with an options object.
 *
 * Every write validates its input first and throws NotFound or InvalidInput before anything
 * is written; every write runs in one transaction (engines.ts), so concurrent writers never
 * interleave.
 */
import { contractConnection, contractText } from "./contract.js";
import * as conversations from "./conversations.js";
import { Core } from "./core.js";
import { type Engine, isPostgresUrl, PostgresEngine, SqliteEngine } from "./engines.js";
import { StoreError } from "./errors.js";
import * as profiles from "./profiles.js";
import * as promotion from "./promotion.js";
import * as review from "./review.js";
import {
  type Annotation, type BehaviorProfile, columnsOf, type DeployOutcome, type PersonalityProfile, type ProfileWithdrawal, type Proposal,
  type ScoreConfig, type Session, type Skill, type TaskEvent, type Turn, type Validation, V1_TABLES, type WorkflowRun,
  type WorkflowStep,
} from "./rows.js";
import * as workflows from "./workflows.js";

export interface OpenOptions {
  /** The store's clock (tests and replays); the system clock by default. */
  now?: () => Date;
}

/** The database the dashboard uses: DATABASE_URL, else TOM_RUNTIME_DB, else its default file. */
function defaultTarget(): string {
  return (process.env.DATABASE_URL?.trim() || undefined) ?? process.env.TOM_RUNTIME_DB ?? "memory/tom_runtime.sqlite";
}

export class RuntimeMemoryStore {
  private readonly core: Core;

  private constructor(db: Engine, clock: () => Date) {
    this.core = new Core(db, clock);
  }

  /**
   * Open a v1 database: a SQLite file path or a PostgreSQL URL (postgres://...). Without
   * one, DATABASE_URL, else TOM_RUNTIME_DB, else memory/tom_runtime.sqlite, as the
   * dashboard chooses. A file that does not exist is refused, and nothing is created
   * (bootstrap makes a new one); so is a database without the v1 tables, left as it was.
   */
  static async open(target?: string, options: OpenOptions = {}): Promise<RuntimeMemoryStore> {
    const chosen = target ?? defaultTarget();
    const engine = isPostgresUrl(chosen)
      ? await PostgresEngine.open(chosen)
      : SqliteEngine.open(chosen, contractConnection());
    const store = new RuntimeMemoryStore(engine, options.now ?? (() => new Date()));
    try {
      await store.checkSchema();
      engine.setUp();
    } catch (error) {
      await engine.close();
      throw error;
    }
    return store;
  }

  /**
   * Create the v1 tables and ours in a SQLite file (the seed's step 1), making the file and
   * its folder when missing, then open it; on a file that has them it changes nothing.
   * Without a path, the file open() would choose. A PostgreSQL database gets its tables
   * from the dashboard's migrations (python manage.py migrate).
   */
  static async bootstrap(path?: string, options: OpenOptions = {}): Promise<RuntimeMemoryStore> {
    const chosen = path ?? defaultTarget();
    if (isPostgresUrl(chosen)) {
      throw new StoreError(
        "bootstrap makes SQLite files; a PostgreSQL database gets its tables from " +
        "tommemory's migrations (DATABASE_URL=... python manage.py migrate)",
      );
    }
    const engine = SqliteEngine.open(chosen, contractConnection(), true);
    try {
      engine.setUp();
      engine.exec(contractText("v1_schema.sql"));
      engine.exec(contractText("tommemory_schema.sql"));
    } finally {
      await engine.close();
    }
    return RuntimeMemoryStore.open(chosen, options);
  }

  /** The engine this store writes: "sqlite" or "postgresql". */
  get engine(): "sqlite" | "postgresql" {
    return this.core.db.name;
  }

  async close(): Promise<void> {
    await this.core.db.close();
  }

  private async checkSchema(): Promise<void> {
    for (const table of Object.keys(V1_TABLES) as (keyof typeof V1_TABLES)[]) {
      const found = new Set(await this.core.db.columns(table));
      const missing = (columnsOf(table) as string[]).filter((column) => !found.has(column));
      if (found.size === 0 || missing.length) {
        throw new StoreError(
          `not a runtime memory v1 database: table ${table} ${found.size ? `lacks ${missing.join(", ")}` : "is missing"}` +
          " (RuntimeMemoryStore.bootstrap(path) creates the v1 tables in a new file)",
        );
      }
    }
  }

  // --- conversations ---------------------------------------------------------------------

  startSession(actor: string, options?: conversations.StartSessionOptions): Promise<Session> {
    return conversations.startSession(this.core, actor, options);
  }

  /** Start sessions (each an object of startSession's arguments): the rows as many
   * startSession calls write, in one transaction; one refused refuses them all. */
  startSessions(sessions: conversations.SessionInput[]): Promise<Session[]> {
    return conversations.startSessions(this.core, sessions);
  }

  endSession(sessionId: string, options?: conversations.EndSessionOptions): Promise<Session> {
    return conversations.endSession(this.core, sessionId, options);
  }

  /** Append a turn at the next turn_index of its session (gap-free, unique). */
  appendTurn(sessionId: string, role: string, content: string, options?: conversations.AppendTurnOptions): Promise<Turn> {
    return conversations.appendTurn(this.core, sessionId, role, content, options);
  }

  /**
   * Append turns at the session's next turn_indexes in the order given (each an object of
   * appendTurn's arguments after the session): the rows as many appendTurn calls write, in
   * one transaction; one refused refuses them all, naming its place, and nothing is written.
   */
  appendTurns(sessionId: string, turns: conversations.TurnInput[]): Promise<Turn[]> {
    return conversations.appendTurns(this.core, sessionId, turns);
  }

  /** Append turns to any sessions, each naming its own (sessionId), each session's at its
   * next turn_indexes in the order given: the rows as many appendTurn calls write. */
  appendTurnsAcross(turns: conversations.SessionTurnInput[]): Promise<Turn[]> {
    return conversations.appendTurnsAcross(this.core, turns);
  }

  /** The session and its turns by turn_index. */
  sessionReplay(sessionId: string): Promise<conversations.SessionReplay> {
    return conversations.sessionReplay(this.core, sessionId);
  }

  // --- workflows -------------------------------------------------------------------------

  startWorkflowRun(workflowName: string, options: workflows.StartWorkflowRunOptions): Promise<WorkflowRun> {
    return workflows.startWorkflowRun(this.core, workflowName, options);
  }

  /** Start runs (each an object of startWorkflowRun's arguments), in one transaction. */
  startWorkflowRuns(runs: workflows.RunInput[]): Promise<WorkflowRun[]> {
    return workflows.startWorkflowRuns(this.core, runs);
  }

  finishWorkflowRun(runId: string, options: workflows.FinishOptions): Promise<WorkflowRun> {
    return workflows.finishWorkflowRun(this.core, runId, options);
  }

  /** Finish runs (each an object of finishWorkflowRun's arguments), each as
   * finishWorkflowRun finishes it, in one transaction; one refused refuses them all. */
  finishWorkflowRuns(runs: workflows.FinishRunInput[]): Promise<WorkflowRun[]> {
    return workflows.finishWorkflowRuns(this.core, runs);
  }

  /** Add the run's next step (step_index assigned like turn_index). */
  addStep(runId: string, stepName: string, options?: workflows.AddStepOptions): Promise<WorkflowStep> {
    return workflows.addStep(this.core, runId, stepName, options);
  }

  /**
   * Add the run's next steps in the order given (each an object of addStep's arguments after
   * the run, and finishedAt for a step finished already): the rows as many addStep (and
   * finishStep) calls write, in one transaction; one refused refuses them all.
   */
  addSteps(runId: string, steps: workflows.StepInput[]): Promise<WorkflowStep[]> {
    return workflows.addSteps(this.core, runId, steps);
  }

  /** Add steps to any runs, each naming its own (runId), each run's at its next
   * step_indexes in the order given: the rows as many addStep (and finishStep) calls write. */
  addStepsAcross(steps: workflows.RunStepInput[]): Promise<WorkflowStep[]> {
    return workflows.addStepsAcross(this.core, steps);
  }

  finishStep(stepId: string, options: workflows.FinishOptions): Promise<WorkflowStep> {
    return workflows.finishStep(this.core, stepId, options);
  }

  /** Record a task event for a run, one of its steps, or neither (system-wide). */
  addEvent(eventType: string, eventLevel: string, message: string, options?: workflows.AddEventOptions): Promise<TaskEvent> {
    return workflows.addEvent(this.core, eventType, eventLevel, message, options);
  }

  /**
   * Record task events in the order given (each an object of addEvent's arguments): the rows
   * as many addEvent calls write, in one transaction; one refused refuses them all.
   */
  addEvents(events: workflows.EventInput[]): Promise<TaskEvent[]> {
    return workflows.addEvents(this.core, events);
  }

  /** The run, its steps by step_index with their events, and run-level events. */
  workflowReplay(runId: string): Promise<workflows.WorkflowReplay> {
    return workflows.workflowReplay(this.core, runId);
  }

  // --- profiles --------------------------------------------------------------------------

  async publishBehaviorProfile(profileName: string, behavior: unknown, options: profiles.PublishOptions): Promise<BehaviorProfile> {
    return await profiles.publish(this.core, "behavior_profiles", "behavior_json", profileName, behavior, options) as BehaviorProfile;
  }

  async publishPersonalityProfile(profileName: string, personality: unknown, options: profiles.PublishOptions): Promise<PersonalityProfile> {
    return await profiles.publish(this.core, "personality_profiles", "personality_json", profileName, personality, options) as PersonalityProfile;
  }

  /** Withdraw a scheduled behavior version before it starts (the one before stays in effect). */
  withdrawBehaviorProfile(profileName: string, version: number, options: profiles.WithdrawOptions): Promise<ProfileWithdrawal> {
    return profiles.withdraw(this.core, "behavior_profiles", profileName, version, options);
  }

  /** Withdraw a scheduled personality version before it starts (the one before stays in effect). */
  withdrawPersonalityProfile(profileName: string, version: number, options: profiles.WithdrawOptions): Promise<ProfileWithdrawal> {
    return profiles.withdraw(this.core, "personality_profiles", profileName, version, options);
  }

  /** The highest behavior version in effect at ``at`` (default now), or null. */
  async latestActiveBehaviorProfile(profileName: string, at?: string | Date): Promise<BehaviorProfile | null> {
    return await profiles.activeAt(this.core, "behavior_profiles", profileName, at) as BehaviorProfile | null;
  }

  /** The highest personality version in effect at ``at`` (default now), or null. */
  async latestActivePersonalityProfile(profileName: string, at?: string | Date): Promise<PersonalityProfile | null> {
    return await profiles.activeAt(this.core, "personality_profiles", profileName, at) as PersonalityProfile | null;
  }

  // --- skills and the promotion flow ------------------------------------------------------

  learnSkill(skillKey: string, description: string, options: promotion.LearnSkillOptions): Promise<Skill> {
    return promotion.learnSkill(this.core, skillKey, description, options);
  }

  draftProposal(skillId: string, options: promotion.DraftProposalOptions): Promise<Proposal> {
    return promotion.draftProposal(this.core, skillId, options);
  }

  /** Append a validation result; the proposal's status follows the governance rule. */
  recordValidation(proposalId: string, options: promotion.ValidationOptions): Promise<Validation> {
    return promotion.recordValidation(this.core, proposalId, options);
  }

  /** Append one decision under the governance rule; changing one's mind is a new row. */
  recordApproval(proposalId: string, options: promotion.ApprovalOptions): Promise<promotion.RecordedDecision> {
    return promotion.recordApproval(this.core, proposalId, options);
  }

  /** Append a deploy outcome; a successful deploy of an approved proposal promotes it. */
  recordDeployOutcome(proposalId: string, options: promotion.DeployOptions): Promise<DeployOutcome> {
    return promotion.recordDeployOutcome(this.core, proposalId, options);
  }

  /** skill -> proposal -> validations -> approvals -> deploy outcomes, in time order. */
  proposalLineage(proposalId: string): Promise<promotion.ProposalLineage> {
    return promotion.proposalLineage(this.core, proposalId);
  }

  /** The proposal's status as the rule derives it from its rows now (the store's clock),
   * whatever status another writer stored. */
  proposalStatus(proposalId: string): Promise<{ status: string }> {
    return promotion.proposalStatus(this.core, proposalId);
  }

  // --- reviewers' annotations --------------------------------------------------------------

  /** Add a score config (categorical with its categories, numeric with a range, boolean). */
  createScoreConfig(name: string, dataType: string, options: review.ScoreConfigOptions): Promise<ScoreConfig> {
    return review.createScoreConfig(this.core, name, dataType, options);
  }

  /** Record a reviewer's annotation on a turn, a session or a workflow run (scores by config
   * name, a comment, for a turn a correction); an edit supersedes the author's own. */
  annotate(targetKind: string, targetId: string, options: review.AnnotateOptions): Promise<Annotation> {
    return review.annotate(this.core, targetKind, targetId, options);
  }

  /** The current annotations on the session and its turns, with their scores, oldest first. */
  annotationsForSession(sessionId: string): Promise<review.AnnotationRead[]> {
    return review.annotationsForSession(this.core, sessionId);
  }

  /** Annotations written after a cursor (an annotation's id), edits included, and the next cursor. */
  annotationsSince(options?: review.SinceOptions): Promise<review.AnnotationsSince> {
    return review.annotationsSince(this.core, options);
  }
}
