-- Tables of ours beside v1 that every store reads or writes: the evidence and hash chain of
-- each decision (see memory_app/audit.py), and break-glass decisions (memory_app/models.py
-- Override; recorded from the dashboard only, counted by every store's governance rule),
-- and the decision log every store appends its governed rows to (memory_app/auditlog.py,
-- contract/decision_log.json), and the withdrawals of scheduled profile versions
-- (memory_app/profiles/models.py ProfileWithdrawal: who withdrew which version, when, why).
-- The Django migrations create exactly this; tests/test_contract.py compares the two.
-- RuntimeMemoryStore.bootstrap runs it after v1.
CREATE TABLE IF NOT EXISTS "tommemory_approval_evidence" ("approval_id" TEXT NOT NULL PRIMARY KEY REFERENCES "approvals" ("id") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, "seq" integer NOT NULL, "validation_id" text NULL, "proposal_sha256" text NOT NULL, "idempotency_token" text NULL UNIQUE, "prev_hash" text NOT NULL, "row_hash" text NOT NULL, "proposal_id" TEXT NOT NULL REFERENCES "skill_to_logic_proposals" ("id") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, "risk_level" text NULL, CONSTRAINT "uniq_evidence_chain_seq" UNIQUE ("proposal_id", "seq"));
CREATE TRIGGER IF NOT EXISTS tommemory_approval_evidence_append_only_update BEFORE UPDATE ON tommemory_approval_evidence BEGIN SELECT RAISE(ABORT, 'tommemory_approval_evidence is append-only: evidence of a decision cannot be changed or deleted'); END;
CREATE TRIGGER IF NOT EXISTS tommemory_approval_evidence_append_only_delete BEFORE DELETE ON tommemory_approval_evidence BEGIN SELECT RAISE(ABORT, 'tommemory_approval_evidence is append-only: evidence of a decision cannot be changed or deleted'); END;
CREATE TABLE IF NOT EXISTS "tommemory_overrides" ("id" text NOT NULL PRIMARY KEY, "actor" text NOT NULL, "reason" text NOT NULL, "decided_at" text NOT NULL, "validation_id" text NULL, "proposal_sha256" text NOT NULL, "risk_level" text NULL, "proposal_id" TEXT NOT NULL REFERENCES "skill_to_logic_proposals" ("id") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED);
CREATE TRIGGER IF NOT EXISTS tommemory_overrides_append_only_delete BEFORE DELETE ON tommemory_overrides BEGIN SELECT RAISE(ABORT, 'tommemory_overrides is append-only: a break-glass decision cannot be changed or deleted'); END;
CREATE TRIGGER IF NOT EXISTS tommemory_overrides_append_only_update BEFORE UPDATE ON tommemory_overrides BEGIN SELECT RAISE(ABORT, 'tommemory_overrides is append-only: a break-glass decision cannot be changed or deleted'); END;
CREATE INDEX IF NOT EXISTS "tommemory_overrides_proposal_id_e98b1490" ON "tommemory_overrides" ("proposal_id");
CREATE TABLE IF NOT EXISTS "tommemory_audit_log" ("index" bigint NOT NULL PRIMARY KEY, "kind" text NOT NULL, "row_id" text NOT NULL, "leaf_hash" text NOT NULL, "logged_at" text NOT NULL, CONSTRAINT "uniq_audit_log_row" UNIQUE ("kind", "row_id"));
CREATE TRIGGER IF NOT EXISTS tommemory_audit_log_append_only_delete BEFORE DELETE ON tommemory_audit_log BEGIN SELECT RAISE(ABORT, 'tommemory_audit_log is append-only: a log entry cannot be changed or deleted'); END;
CREATE TRIGGER IF NOT EXISTS tommemory_audit_log_append_only_update BEFORE UPDATE ON tommemory_audit_log BEGIN SELECT RAISE(ABORT, 'tommemory_audit_log is append-only: a log entry cannot be changed or deleted'); END;
CREATE TABLE IF NOT EXISTS "tommemory_profile_withdrawals" ("id" text NOT NULL PRIMARY KEY, "profile_table" text NOT NULL, "version_id" text NOT NULL, "withdrawn_by" text NOT NULL, "withdrawn_at" text NOT NULL, "reason" text NOT NULL, CONSTRAINT "uniq_profile_withdrawal" UNIQUE ("profile_table", "version_id"));
CREATE TRIGGER IF NOT EXISTS tommemory_profile_withdrawals_append_only_update BEFORE UPDATE ON tommemory_profile_withdrawals BEGIN SELECT RAISE(ABORT, 'tommemory_profile_withdrawals is append-only: a withdrawal cannot be changed or deleted'); END;
CREATE TRIGGER IF NOT EXISTS tommemory_profile_withdrawals_append_only_delete BEFORE DELETE ON tommemory_profile_withdrawals BEGIN SELECT RAISE(ABORT, 'tommemory_profile_withdrawals is append-only: a withdrawal cannot be changed or deleted'); END;
