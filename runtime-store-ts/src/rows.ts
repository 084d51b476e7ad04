/**
 * The rows of every v1 table (contract/v1_schema.sql) and of ours beside them
 * (contract/tommemory_schema.sql), as this store writes and reads them.
 *
 * Each row type has a column list beside it, `<TABLE>_COLUMNS`: every column in the DDL's
 * order with what it holds ("text", "number", and "?" when the DDL lets it be NULL). The
 * compiler holds the two together (`satisfies Columns<Session>`: a column in one and not the
 * other, or held differently, does not compile), and src/test/rows.test.ts holds the lists
 * to the DDL, so a column added to the DDL alone fails the tests.
 *
 * The types say what the DDL declares and this store writes. SQLite does not enforce a
 * column's type: a row another writer stored may hold another kind of value, which the
 * store reads as stored.
 */

/** What a column holds: its value's kind, "?" when the DDL allows NULL. */
export type ColumnKind = "text" | "text?" | "number" | "number?";

type KindOf<V> = [V] extends [string] ? "text"
  : [V] extends [number] ? "number"
  : [V] extends [string | null] ? "text?"
  : [V] extends [number | null] ? "number?"
  : never;

/** Every column of a row type with its kind: what a `<TABLE>_COLUMNS` list must be. */
export type Columns<T> = { readonly [K in keyof T]-?: KindOf<T[K]> };

// --- v1 ------------------------------------------------------------------------------------

export type Session = {
  id: string; actor: string; channel: string | null; started_at: string; ended_at: string | null;
  status: string; metadata_json: string;
};
export const SESSION_COLUMNS = {
  id: "text", actor: "text", channel: "text?", started_at: "text", ended_at: "text?",
  status: "text", metadata_json: "text",
} as const satisfies Columns<Session>;

export type Turn = {
  id: string; session_id: string; turn_index: number; role: string; content: string;
  token_count: number | null; created_at: string; metadata_json: string;
};
export const TURN_COLUMNS = {
  id: "text", session_id: "text", turn_index: "number", role: "text", content: "text",
  token_count: "number?", created_at: "text", metadata_json: "text",
} as const satisfies Columns<Turn>;

export type WorkflowRun = {
  id: string; workflow_name: string; trigger_source: string; initiated_by: string; status: string;
  started_at: string; finished_at: string | null; context_json: string;
};
export const WORKFLOW_RUN_COLUMNS = {
  id: "text", workflow_name: "text", trigger_source: "text", initiated_by: "text", status: "text",
  started_at: "text", finished_at: "text?", context_json: "text",
} as const satisfies Columns<WorkflowRun>;

export type WorkflowStep = {
  id: string; workflow_run_id: string; step_index: number; step_name: string; status: string;
  started_at: string; finished_at: string | null; details_json: string;
};
export const WORKFLOW_STEP_COLUMNS = {
  id: "text", workflow_run_id: "text", step_index: "number", step_name: "text", status: "text",
  started_at: "text", finished_at: "text?", details_json: "text",
} as const satisfies Columns<WorkflowStep>;

export type TaskEvent = {
  id: string; workflow_run_id: string | null; step_id: string | null; event_type: string;
  event_level: string; message: string; payload_json: string; created_at: string;
};
export const TASK_EVENT_COLUMNS = {
  id: "text", workflow_run_id: "text?", step_id: "text?", event_type: "text", event_level: "text",
  message: "text", payload_json: "text", created_at: "text",
} as const satisfies Columns<TaskEvent>;

export type Skill = {
  id: string; skill_key: string; description: string; source_type: string; source_ref: string | null;
  confidence: number; learned_at: string; state: string; metadata_json: string;
};
export const SKILL_COLUMNS = {
  id: "text", skill_key: "text", description: "text", source_type: "text", source_ref: "text?",
  confidence: "number", learned_at: "text", state: "text", metadata_json: "text",
} as const satisfies Columns<Skill>;

export type BehaviorProfile = {
  id: string; profile_name: string; version: number; behavior_json: string; rationale: string | null;
  source_ref: string | null; effective_from: string; effective_to: string | null; created_at: string;
  created_by: string;
};
export const BEHAVIOR_PROFILE_COLUMNS = {
  id: "text", profile_name: "text", version: "number", behavior_json: "text", rationale: "text?",
  source_ref: "text?", effective_from: "text", effective_to: "text?", created_at: "text",
  created_by: "text",
} as const satisfies Columns<BehaviorProfile>;

export type PersonalityProfile = {
  id: string; profile_name: string; version: number; personality_json: string;
  rationale: string | null; source_ref: string | null; effective_from: string;
  effective_to: string | null; created_at: string; created_by: string;
};
export const PERSONALITY_PROFILE_COLUMNS = {
  id: "text", profile_name: "text", version: "number", personality_json: "text", rationale: "text?",
  source_ref: "text?", effective_from: "text", effective_to: "text?", created_at: "text",
  created_by: "text",
} as const satisfies Columns<PersonalityProfile>;

export type Proposal = {
  id: string; skill_id: string; proposed_by: string; proposal_type: string; proposal_json: string;
  determinism_score: number | null; risk_level: string; status: string; created_at: string;
  updated_at: string;
};
export const PROPOSAL_COLUMNS = {
  id: "text", skill_id: "text", proposed_by: "text", proposal_type: "text", proposal_json: "text",
  determinism_score: "number?", risk_level: "text", status: "text", created_at: "text",
  updated_at: "text",
} as const satisfies Columns<Proposal>;

export type Validation = {
  id: string; proposal_id: string; validator: string; build_pass: number; lint_pass: number;
  test_pass: number; policy_pass: number; details_json: string; validated_at: string;
};
export const VALIDATION_COLUMNS = {
  id: "text", proposal_id: "text", validator: "text", build_pass: "number", lint_pass: "number",
  test_pass: "number", policy_pass: "number", details_json: "text", validated_at: "text",
} as const satisfies Columns<Validation>;

export type Approval = {
  id: string; proposal_id: string; approver: string; approval_type: string; decision: string;
  notes: string | null; decided_at: string;
};
export const APPROVAL_COLUMNS = {
  id: "text", proposal_id: "text", approver: "text", approval_type: "text", decision: "text",
  notes: "text?", decided_at: "text",
} as const satisfies Columns<Approval>;

export type DeployOutcome = {
  id: string; proposal_id: string; deployment_target: string; deployment_id: string | null;
  status: string; summary: string | null; metrics_json: string; deployed_at: string;
};
export const DEPLOY_OUTCOME_COLUMNS = {
  id: "text", proposal_id: "text", deployment_target: "text", deployment_id: "text?",
  status: "text", summary: "text?", metrics_json: "text", deployed_at: "text",
} as const satisfies Columns<DeployOutcome>;

// --- ours ----------------------------------------------------------------------------------

/** A decision's evidence and its link in the hash chain (memory_app/promotion/evidence_chain.py). */
export type ApprovalEvidence = {
  approval_id: string; seq: number; validation_id: string | null; proposal_sha256: string;
  idempotency_token: string | null; prev_hash: string; row_hash: string; proposal_id: string;
  risk_level: string | null;
};
export const APPROVAL_EVIDENCE_COLUMNS = {
  approval_id: "text", seq: "number", validation_id: "text?", proposal_sha256: "text",
  idempotency_token: "text?", prev_hash: "text", row_hash: "text", proposal_id: "text",
  risk_level: "text?",
} as const satisfies Columns<ApprovalEvidence>;

/** A break-glass decision (recorded from the dashboard; counted by the rule here too). */
export type Override = {
  id: string; actor: string; reason: string; decided_at: string; validation_id: string | null;
  proposal_sha256: string; risk_level: string | null; proposal_id: string;
};
export const OVERRIDE_COLUMNS = {
  id: "text", actor: "text", reason: "text", decided_at: "text", validation_id: "text?",
  proposal_sha256: "text", risk_level: "text?", proposal_id: "text",
} as const satisfies Columns<Override>;

/** One leaf of the decision log (contract/decision_log.json). */
export type DecisionLogEntry = {
  index: number; kind: string; row_id: string; leaf_hash: string; logged_at: string;
};
export const DECISION_LOG_ENTRY_COLUMNS = {
  index: "number", kind: "text", row_id: "text", leaf_hash: "text", logged_at: "text",
} as const satisfies Columns<DecisionLogEntry>;

/** A decision log entry's previous take-in (NULL: none), kept by triggers as it is appended:
 * the lower bound of its row's counted time (countedTime.ts). */
export type DecisionLogPrevious = { index: number; previous_take_in: string | null };
export const DECISION_LOG_PREVIOUS_COLUMNS = {
  index: "number", previous_take_in: "text?",
} as const satisfies Columns<DecisionLogPrevious>;

/** A C2SP tlog-tiles tile of the decision log's tree: up to 256 hashes of one level, as hex
 * (logTiles.ts). */
export type LogTile = { level: number; index: number; hashes: string };
export const LOG_TILE_COLUMNS = {
  level: "number", index: "number", hashes: "text",
} as const satisfies Columns<LogTile>;

/** A scheduled profile version withdrawn before it started: who, when, why. */
export type ProfileWithdrawal = {
  id: string; profile_table: string; version_id: string; withdrawn_by: string;
  withdrawn_at: string; reason: string;
};
export const PROFILE_WITHDRAWAL_COLUMNS = {
  id: "text", profile_table: "text", version_id: "text", withdrawn_by: "text",
  withdrawn_at: "text", reason: "text",
} as const satisfies Columns<ProfileWithdrawal>;

/** What a reviewer's score measures and the values it takes (categories as a JSON list). */
export type ScoreConfig = {
  id: string; name: string; data_type: string; categories_json: string | null;
  min_value: number | null; max_value: number | null; description: string; created_by: string;
  created_at: string; archived_at: string | null;
};
export const SCORE_CONFIG_COLUMNS = {
  id: "text", name: "text", data_type: "text", categories_json: "text?", min_value: "number?",
  max_value: "number?", description: "text", created_by: "text", created_at: "text",
  archived_at: "text?",
} as const satisfies Columns<ScoreConfig>;

/** A reviewer's annotation on a turn, a session or a workflow run; an edit supersedes one. */
export type Annotation = {
  id: string; target_kind: string; target_id: string; author: string; comment: string;
  correction: string | null; queue_item_id: string | null; created_at: string;
  supersedes_id: string | null;
};
export const ANNOTATION_COLUMNS = {
  id: "text", target_kind: "text", target_id: "text", author: "text", comment: "text",
  correction: "text?", queue_item_id: "text?", created_at: "text", supersedes_id: "text?",
} as const satisfies Columns<Annotation>;

/** One score of an annotation: a category in value_text, a number in value_number, a
 * boolean in both ("true"/"false", 1/0). */
export type AnnotationScore = {
  id: string; value_text: string | null; value_number: number | null; annotation_id: string;
  score_config_id: string;
};
export const ANNOTATION_SCORE_COLUMNS = {
  id: "text", value_text: "text?", value_number: "number?", annotation_id: "text",
  score_config_id: "text",
} as const satisfies Columns<AnnotationScore>;

/** A link from a reviewer's proposal to an annotation it rests on (a decision-log leaf). */
export type FindingEvidence = { id: string; proposal_id: string; annotation_id: string; created_at: string };
export const FINDING_EVIDENCE_COLUMNS = {
  id: "text", proposal_id: "text", annotation_id: "text", created_at: "text",
} as const satisfies Columns<FindingEvidence>;

// --- tables --------------------------------------------------------------------------------

/** The v1 tables' columns by table name, in the DDL's order. */
export const V1_TABLES = {
  sessions: SESSION_COLUMNS,
  conversation_turns: TURN_COLUMNS,
  workflow_runs: WORKFLOW_RUN_COLUMNS,
  workflow_steps: WORKFLOW_STEP_COLUMNS,
  task_events: TASK_EVENT_COLUMNS,
  skills_learned: SKILL_COLUMNS,
  behavior_profiles: BEHAVIOR_PROFILE_COLUMNS,
  personality_profiles: PERSONALITY_PROFILE_COLUMNS,
  skill_to_logic_proposals: PROPOSAL_COLUMNS,
  validation_results: VALIDATION_COLUMNS,
  approvals: APPROVAL_COLUMNS,
  deploy_outcomes: DEPLOY_OUTCOME_COLUMNS,
} as const;

/** Our tables beside v1 (contract/tommemory_schema.sql). */
export const OUR_TABLES = {
  tommemory_approval_evidence: APPROVAL_EVIDENCE_COLUMNS,
  tommemory_overrides: OVERRIDE_COLUMNS,
  tommemory_audit_log: DECISION_LOG_ENTRY_COLUMNS,
  tommemory_audit_log_previous: DECISION_LOG_PREVIOUS_COLUMNS,
  tommemory_log_tiles: LOG_TILE_COLUMNS,
  tommemory_profile_withdrawals: PROFILE_WITHDRAWAL_COLUMNS,
  tommemory_score_configs: SCORE_CONFIG_COLUMNS,
  tommemory_annotations: ANNOTATION_COLUMNS,
  tommemory_annotation_scores: ANNOTATION_SCORE_COLUMNS,
  tommemory_finding_evidence: FINDING_EVIDENCE_COLUMNS,
} as const;

/** Each table's row type by table name. */
export interface TableRows {
  sessions: Session; conversation_turns: Turn; workflow_runs: WorkflowRun;
  workflow_steps: WorkflowStep; task_events: TaskEvent; skills_learned: Skill;
  behavior_profiles: BehaviorProfile; personality_profiles: PersonalityProfile;
  skill_to_logic_proposals: Proposal; validation_results: Validation; approvals: Approval;
  deploy_outcomes: DeployOutcome; tommemory_approval_evidence: ApprovalEvidence;
  tommemory_overrides: Override; tommemory_audit_log: DecisionLogEntry;
  tommemory_audit_log_previous: DecisionLogPrevious; tommemory_log_tiles: LogTile;
  tommemory_profile_withdrawals: ProfileWithdrawal; tommemory_score_configs: ScoreConfig;
  tommemory_annotations: Annotation; tommemory_annotation_scores: AnnotationScore;
  tommemory_finding_evidence: FindingEvidence;
}
export type Table = keyof TableRows;

// Every table has its row type and its column list, and no other: a table added to one
// and not the other does not compile.
const TABLES = { ...V1_TABLES, ...OUR_TABLES } as const satisfies { [T in Table]: Columns<TableRows[T]> };

/** A table's column names in the DDL's order. */
export function columnsOf(table: Table): (keyof TableRows[Table])[] {
  return Object.keys(TABLES[table]) as (keyof TableRows[Table])[];
}
