-- The audit trail: append-only, hash-chained evidence, and the register of data-subject requests.
CREATE TABLE IF NOT EXISTS ks_evidence (
    seq          INTEGER PRIMARY KEY,
    recorded_at  TIMESTAMP NOT NULL,
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
    prev_hash    TEXT NOT NULL,
    row_hash     TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS ks_evidence_subject ON ks_evidence (subject_ref);
CREATE INDEX IF NOT EXISTS ks_evidence_run ON ks_evidence (dag_id, run_id);
CREATE INDEX IF NOT EXISTS ks_evidence_record ON ks_evidence (source, record_ref);
CREATE INDEX IF NOT EXISTS ks_evidence_time ON ks_evidence (recorded_at);

CREATE TRIGGER IF NOT EXISTS ks_evidence_no_update BEFORE UPDATE ON ks_evidence
BEGIN
    SELECT RAISE(ABORT, 'ks_evidence is append-only: UPDATE refused');
END;
CREATE TRIGGER IF NOT EXISTS ks_evidence_no_delete BEFORE DELETE ON ks_evidence
BEGIN
    SELECT RAISE(ABORT, 'ks_evidence is append-only: DELETE refused');
END;

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
    registered_at         TIMESTAMP NOT NULL,
    closed_at             TIMESTAMP
);
CREATE INDEX IF NOT EXISTS ks_requests_open ON ks_requests (status, due_on);
