-- The audit trail: append-only, hash-chained evidence, and the register of data-subject requests.
CREATE TABLE IF NOT EXISTS ks_evidence (
    seq          BIGINT PRIMARY KEY,
    recorded_at  TIMESTAMPTZ NOT NULL,
    dag_id       TEXT,
    run_id       TEXT,
    task_id      TEXT,
    try_number   INTEGER,
    event        TEXT NOT NULL,
    source       TEXT,
    record_ref   TEXT,
    subject_ref  TEXT,
    categories   TEXT NOT NULL DEFAULT '',
    rule         TEXT,
    age_days     INTEGER,
    outcome      TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}',
    prev_hash    CHAR(64) NOT NULL,
    row_hash     CHAR(64) NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS ks_evidence_subject ON ks_evidence (subject_ref);
CREATE INDEX IF NOT EXISTS ks_evidence_run ON ks_evidence (dag_id, run_id);
CREATE INDEX IF NOT EXISTS ks_evidence_record ON ks_evidence (source, record_ref);
CREATE INDEX IF NOT EXISTS ks_evidence_time ON ks_evidence (recorded_at);

CREATE OR REPLACE FUNCTION ks_evidence_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ks_evidence is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS ks_evidence_no_update_delete ON ks_evidence;
CREATE TRIGGER ks_evidence_no_update_delete BEFORE UPDATE OR DELETE ON ks_evidence
    FOR EACH ROW EXECUTE FUNCTION ks_evidence_append_only();
DROP TRIGGER IF EXISTS ks_evidence_no_truncate ON ks_evidence;
CREATE TRIGGER ks_evidence_no_truncate BEFORE TRUNCATE ON ks_evidence
    FOR EACH STATEMENT EXECUTE FUNCTION ks_evidence_append_only();

CREATE TABLE IF NOT EXISTS ks_requests (
    request_ref           TEXT PRIMARY KEY,
    kind                  TEXT NOT NULL,
    reason                TEXT,
    subject_ref           TEXT NOT NULL,
    received_on           DATE NOT NULL,
    due_on                DATE NOT NULL,
    status                TEXT NOT NULL,
    identity_verified_by  TEXT,
    approved_by           TEXT,
    dag_id                TEXT,
    run_id                TEXT,
    registered_at         TIMESTAMPTZ NOT NULL,
    closed_at             TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS ks_requests_open ON ks_requests (status, due_on);
