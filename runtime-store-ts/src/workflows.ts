/** Workflow runs, their steps, and task events (memory_app's runtime wing writes the same rows). */
import type { Core } from "./core.js";
import type { Tx } from "./engines.js";
import { InvalidInput, NotFound, StoreError } from "./errors.js";
import type { TaskEvent, WorkflowRun, WorkflowStep } from "./rows.js";
import {
  choice, each, EVENT_TYPES, jsonObject, LEVELS, parentId, RUN_STATUSES, STEP_STATUSES, text, TRIGGER_SOURCES, uuid7,
} from "./values.js";

export interface StartWorkflowRunOptions {
  triggerSource: string; initiatedBy: string; status?: string; context?: unknown;
  startedAt?: string | Date; runId?: string;
}
export interface FinishOptions { status: string; finishedAt?: string | Date }
export interface AddStepOptions {
  status?: string; details?: unknown; startedAt?: string | Date; stepId?: string;
}
export interface AddEventOptions {
  runId?: string | null; stepId?: string | null; payload?: unknown; createdAt?: string | Date;
  eventId?: string;
}
export interface StepReplay { step: WorkflowStep; events: TaskEvent[] }
export interface WorkflowReplay { run: WorkflowRun; steps: StepReplay[]; runEvents: TaskEvent[] }

export async function startWorkflowRun(core: Core, workflowName: string, options: StartWorkflowRunOptions): Promise<WorkflowRun> {
  const row = runValues(core, workflowName, options);
  return core.db.write((tx) => core.insert(tx, "workflow_runs", row));
}

/** A run of startWorkflowRuns: startWorkflowRun's arguments in one object. */
export interface RunInput extends StartWorkflowRunOptions { workflowName: string }
const RUN_VALUES = ["workflowName", "triggerSource", "initiatedBy", "status", "context", "startedAt", "runId"] as const;

/** Start runs: the rows as many startWorkflowRun calls write, in one transaction; one
 * refused refuses them all, naming its place (runs[2]: ...). */
export async function startWorkflowRuns(core: Core, runs: RunInput[]): Promise<WorkflowRun[]> {
  const rows = each(runs, "runs", RUN_VALUES, ["workflowName", "triggerSource", "initiatedBy"], (run) => {
    const { workflowName, ...options } = run as unknown as RunInput;
    return runValues(core, workflowName, options);
  });
  return core.db.write(async (tx) => {
    const stored = [];
    for (const row of rows) stored.push(await core.insert(tx, "workflow_runs", row));
    return stored;
  });
}

function runValues(core: Core, workflowName: string, options: StartWorkflowRunOptions) {
  const status = choice(options.status ?? "running", RUN_STATUSES, "workflow status");
  if (status !== "queued" && status !== "running") {
    throw new InvalidInput(`a run starts queued or running; got '${status}'`);
  }
  return {
    id: options.runId === undefined ? uuid7() : text(options.runId, "id"),
    workflow_name: text(workflowName, "workflow_name"),
    trigger_source: choice(options.triggerSource, TRIGGER_SOURCES, "trigger_source"),
    initiated_by: text(options.initiatedBy, "initiated_by"),
    status,
    started_at: core.when(options.startedAt, "started_at"),
    context_json: jsonObject(options.context, "context"),
  };
}

export async function finishWorkflowRun(core: Core, runId: string, options: FinishOptions): Promise<WorkflowRun> {
  const { status, finishedAt } = finishedRun(core, options);
  return finish(core, "workflow_runs", runId, status, finishedAt);
}

/** A run of finishWorkflowRuns: finishWorkflowRun's arguments in one object. */
export interface FinishRunInput extends FinishOptions { runId: string }

/** Finish runs, each as finishWorkflowRun finishes it, in order, in one transaction: all
 * locked first, so a missing one refuses them all (runs[2]: ...) before any is finished. */
export async function finishWorkflowRuns(core: Core, runs: FinishRunInput[]): Promise<WorkflowRun[]> {
  const finished = each(runs, "runs", ["runId", "status", "finishedAt"], ["runId", "status"], (run) => {
    const { runId, ...options } = run as unknown as FinishRunInput;
    return { ...finishedRun(core, options), runId: parentId("workflow_runs", runId) };
  });
  return core.db.write(async (tx) => {
    const found = await core.locked(tx, "workflow_runs", finished.map((f) => f.runId));
    const place = finished.findIndex((f) => !found.has(f.runId));
    if (place >= 0) throw new NotFound(`runs[${place}]: no workflow_runs row with id '${finished[place]?.runId}'`);
    const stored = [];
    for (const { runId, status, finishedAt } of finished) {
      await tx.run(`UPDATE "workflow_runs" SET status = ?, finished_at = ? WHERE id = ?`, status, finishedAt, runId);
      stored.push(await core.get(tx, "workflow_runs", runId));
    }
    return stored;
  });
}

function finishedRun(core: Core, options: FinishOptions) {
  const status = choice(options.status, RUN_STATUSES, "workflow status");
  if (status === "queued" || status === "running") {
    throw new InvalidInput(`a run finishes failed, succeeded or aborted; got '${status}'`);
  }
  return { status, finishedAt: core.when(options.finishedAt, "finished_at") };
}

/** Add the run's next step (step_index assigned like turn_index). */
export async function addStep(core: Core, runId: string, stepName: string, options: AddStepOptions = {}): Promise<WorkflowStep> {
  return core.append("workflow_steps", "workflow_runs", runId, stepValues(core, stepName, options));
}

/** A step of addSteps: addStep's arguments after the run, and finishedAt for a step that
 * is finished already. */
export interface StepInput extends AddStepOptions { stepName: string; finishedAt?: string | Date }
const STEP_VALUES = ["stepName", "status", "details", "startedAt", "finishedAt", "stepId"] as const;

/**
 * Add the run's next steps in the order given: the rows as many addStep calls write, a step
 * given finishedAt as addStep then finishStep with its status and finishedAt leave it. One
 * step refused refuses them all, naming its place (steps[2]: ...), and nothing is written.
 */
export async function addSteps(core: Core, runId: string, steps: StepInput[]): Promise<WorkflowStep[]> {
  const rows = each(steps, "steps", STEP_VALUES, ["stepName"], (step) => {
    const { stepName, ...options } = step as unknown as StepInput;
    return finishedStepValues(core, stepName, options);
  });
  return core.appendRows("workflow_steps", "workflow_runs", rows.map((row) => [runId, row]), { parent: runId });
}

/** A step of addStepsAcross: all of addStep's arguments, its run's id too. */
export interface RunStepInput extends StepInput { runId: string }

/**
 * Add steps to any runs, each naming its own (runId): the rows as many addStep (and
 * finishStep) calls write, each run's at its next step_indexes in the order given, in one
 * transaction. One refused, or one whose run does not exist, refuses them all, naming its
 * place (steps[2]: ...), and nothing is written.
 */
export async function addStepsAcross(core: Core, steps: RunStepInput[]): Promise<WorkflowStep[]> {
  const rows = each(steps, "steps", ["runId", ...STEP_VALUES], ["runId", "stepName"], (step) => {
    const { runId, stepName, ...options } = step as unknown as RunStepInput;
    const values = finishedStepValues(core, stepName, options);
    return [parentId("workflow_runs", runId), values] as [string, typeof values];
  });
  return core.appendRows("workflow_steps", "workflow_runs", rows, { what: "steps" });
}

/** A step that may be finished already: addStep's values, and the time finishStep would
 * give it (finishStep checks the status as addStep does). */
function finishedStepValues(core: Core, stepName: string, options: Omit<StepInput, "stepName">) {
  const { finishedAt, ...rest } = options;
  const values = stepValues(core, stepName, rest);
  return finishedAt === undefined || finishedAt === null
    ? values : { ...values, finished_at: core.when(finishedAt, "finished_at") };
}

/** A step's columns but its run and place, checked. */
function stepValues(core: Core, stepName: string, options: AddStepOptions) {
  return {
    id: options.stepId === undefined ? uuid7() : text(options.stepId, "id"),
    step_name: text(stepName, "step_name"),
    status: choice(options.status ?? "running", STEP_STATUSES, "step status"),
    started_at: core.when(options.startedAt, "started_at"),
    details_json: jsonObject(options.details, "details"),
  };
}

export async function finishStep(core: Core, stepId: string, options: FinishOptions): Promise<WorkflowStep> {
  const status = choice(options.status, STEP_STATUSES, "step status");
  return finish(core, "workflow_steps", stepId, status, core.when(options.finishedAt, "finished_at"));
}

/** Record a task event for a run, one of its steps, or neither (system-wide). */
export async function addEvent(
  core: Core, eventType: string, eventLevel: string, message: string, options: AddEventOptions = {},
): Promise<TaskEvent> {
  const values = eventValues(core, eventType, eventLevel, message, options);
  return core.db.write(async (tx) => {
    const runId = await eventRun(core, tx, options.runId ?? null, options.stepId ?? null, new Map());
    return core.insert(tx, "task_events", { ...values, workflow_run_id: runId, step_id: options.stepId ?? null });
  });
}

/** An event of addEvents: addEvent's arguments in one object. */
export interface EventInput extends AddEventOptions { eventType: string; eventLevel: string; message: string }
const EVENT_VALUES = ["eventType", "eventLevel", "message", "runId", "stepId", "payload", "createdAt", "eventId"] as const;

/**
 * Record task events in the order given: the rows as many addEvent calls write, in one
 * transaction. One refused refuses them all, naming its place (events[2]: ...), and
 * nothing is written.
 */
export async function addEvents(core: Core, events: EventInput[]): Promise<TaskEvent[]> {
  const checked = each(events, "events", EVENT_VALUES, ["eventType", "eventLevel", "message"], (event) => {
    const { eventType, eventLevel, message, ...options } = event as unknown as EventInput;
    return { options, values: eventValues(core, eventType, eventLevel, message, options) };
  });
  if (!checked.length) return [];
  return core.db.write(async (tx) => {
    const steps = new Map<string, WorkflowStep>();
    const rows = [];
    for (const [n, { options, values }] of checked.entries()) {
      try {
        const runId = await eventRun(core, tx, options.runId ?? null, options.stepId ?? null, steps);
        rows.push({ ...values, workflow_run_id: runId, step_id: options.stepId ?? null });
      } catch (error) {
        if (error instanceof StoreError) {
          const Kind = error.constructor as new (message: string) => StoreError;
          throw new Kind(`events[${n}]: ${error.message}`);
        }
        throw error;
      }
    }
    const stored = [];
    for (const row of rows) stored.push(await core.insert(tx, "task_events", row));
    return stored;
  });
}

/** An event's columns but its run and step, checked. */
function eventValues(core: Core, eventType: string, eventLevel: string, message: string, options: AddEventOptions) {
  const values = {
    id: options.eventId === undefined ? uuid7() : text(options.eventId, "id"),
    event_type: choice(eventType, EVENT_TYPES, "event_type"),
    event_level: choice(eventLevel, LEVELS, "event_level"),
    message: text(message, "message"),
    payload_json: jsonObject(options.payload, "payload"),
    created_at: core.when(options.createdAt, "created_at"),
  };
  // The ids it names must be ids (whether those rows exist is read in the transaction).
  for (const [id, table] of [[options.runId, "workflow_runs"], [options.stepId, "workflow_steps"]] as const) {
    if (id !== undefined && id !== null && (typeof id !== "string" || !id)) {
      throw new InvalidInput(`${table} id must be a non-empty text, got ${JSON.stringify(id)}`);
    }
  }
  return values;
}

/** The run an event belongs to: its step's, which must be the run named, if one is; the
 * run and step named must exist. ``steps``: the steps read so far in this transaction. */
async function eventRun(
  core: Core, tx: Tx, runId: string | null, stepId: string | null, steps: Map<string, WorkflowStep>,
): Promise<string | null> {
  if (runId !== null) await core.get(tx, "workflow_runs", runId);
  if (stepId === null) return runId;
  const step = steps.get(stepId) ?? await core.get(tx, "workflow_steps", stepId);
  steps.set(stepId, step);
  if (runId !== null && step.workflow_run_id !== runId) {
    throw new InvalidInput(`step '${stepId}' belongs to run '${String(step.workflow_run_id)}'`);
  }
  return String(step.workflow_run_id);
}

/** Set a row's final status and the time it reached it. */
function finish<T extends "workflow_runs" | "workflow_steps">(
  core: Core, table: T, id: string, status: string, finishedAt: string,
) {
  return core.db.write(async (tx) => {
    await core.get(tx, table, id, true);
    await tx.run(`UPDATE "${table}" SET status = ?, finished_at = ? WHERE id = ?`, status, finishedAt, id);
    return core.get(tx, table, id);
  });
}

/** The run, its steps by step_index with their events, and run-level events. */
export async function workflowReplay(core: Core, runId: string): Promise<WorkflowReplay> {
  return core.db.read(async (tx) => {
    const run = await core.get(tx, "workflow_runs", runId);
    const steps = await tx.all("SELECT * FROM workflow_steps WHERE workflow_run_id = ? ORDER BY step_index", runId) as WorkflowStep[];
    // Another writer may link an event to a step only; such events belong here too.
    const events = await tx.all(
      "SELECT * FROM task_events WHERE workflow_run_id = ? OR step_id IN " +
      "(SELECT id FROM workflow_steps WHERE workflow_run_id = ?) ORDER BY created_at, id",
      runId, runId,
    ) as TaskEvent[];
    const byStep = new Map<unknown, TaskEvent[]>();
    for (const event of events) {
      const key = event.step_id ?? null;
      byStep.set(key, [...(byStep.get(key) ?? []), event]);
    }
    return {
      run,
      steps: steps.map((step) => ({ step, events: byStep.get(step.id) ?? [] })),
      runEvents: byStep.get(null) ?? [],
    };
  });
}

