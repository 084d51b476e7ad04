/** Workflow runs, their steps, and task events (memory_app's runtime wing writes the same rows). */
import type { Core } from "./core.js";
import { InvalidInput } from "./errors.js";
import type { TaskEvent, WorkflowRun, WorkflowStep } from "./rows.js";
import {
  choice, EVENT_TYPES, jsonObject, LEVELS, RUN_STATUSES, STEP_STATUSES, text, TRIGGER_SOURCES, uuid7,
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
  const status = choice(options.status ?? "running", RUN_STATUSES, "workflow status");
  if (status !== "queued" && status !== "running") {
    throw new InvalidInput(`a run starts queued or running; got '${status}'`);
  }
  const row = {
    id: options.runId === undefined ? uuid7() : text(options.runId, "id"),
    workflow_name: text(workflowName, "workflow_name"),
    trigger_source: choice(options.triggerSource, TRIGGER_SOURCES, "trigger_source"),
    initiated_by: text(options.initiatedBy, "initiated_by"),
    status,
    started_at: core.when(options.startedAt, "started_at"),
    context_json: jsonObject(options.context, "context"),
  };
  return core.db.write((tx) => core.insert(tx, "workflow_runs", row));
}

export async function finishWorkflowRun(core: Core, runId: string, options: FinishOptions): Promise<WorkflowRun> {
  const status = choice(options.status, RUN_STATUSES, "workflow status");
  if (status === "queued" || status === "running") {
    throw new InvalidInput(`a run finishes failed, succeeded or aborted; got '${status}'`);
  }
  return finish(core, "workflow_runs", runId, status, core.when(options.finishedAt, "finished_at"));
}

/** Add the run's next step (step_index assigned like turn_index). */
export async function addStep(core: Core, runId: string, stepName: string, options: AddStepOptions = {}): Promise<WorkflowStep> {
  const values = {
    id: options.stepId === undefined ? uuid7() : text(options.stepId, "id"),
    step_name: text(stepName, "step_name"),
    status: choice(options.status ?? "running", STEP_STATUSES, "step status"),
    started_at: core.when(options.startedAt, "started_at"),
    details_json: jsonObject(options.details, "details"),
  };
  return core.append("workflow_steps", "workflow_runs", runId, values);
}

export async function finishStep(core: Core, stepId: string, options: FinishOptions): Promise<WorkflowStep> {
  const status = choice(options.status, STEP_STATUSES, "step status");
  return finish(core, "workflow_steps", stepId, status, core.when(options.finishedAt, "finished_at"));
}

/** Record a task event for a run, one of its steps, or neither (system-wide). */
export async function addEvent(
  core: Core, eventType: string, eventLevel: string, message: string, options: AddEventOptions = {},
): Promise<TaskEvent> {
  const values = {
    id: options.eventId === undefined ? uuid7() : text(options.eventId, "id"),
    event_type: choice(eventType, EVENT_TYPES, "event_type"),
    event_level: choice(eventLevel, LEVELS, "event_level"),
    message: text(message, "message"),
    payload_json: jsonObject(options.payload, "payload"),
    created_at: core.when(options.createdAt, "created_at"),
  };
  return core.db.write(async (tx) => {
    let runId = options.runId ?? null;
    if (runId !== null) await core.get(tx, "workflow_runs", runId);
    const stepId = options.stepId ?? null;
    if (stepId !== null) {
      const step = await core.get(tx, "workflow_steps", stepId);
      if (runId !== null && step.workflow_run_id !== runId) {
        throw new InvalidInput(`step '${stepId}' belongs to run '${String(step.workflow_run_id)}'`);
      }
      runId = String(step.workflow_run_id);
    }
    return core.insert(tx, "task_events", { ...values, workflow_run_id: runId, step_id: stepId });
  });
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

