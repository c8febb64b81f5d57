-- Working state of sweeps and requests: the plan of a run, records being acted on, and the
-- clock ledger (the last activity we saw before our own write restarted a vendor's clock).
CREATE TABLE IF NOT EXISTS ks_plan (
    dag_id       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    source       TEXT NOT NULL,
    record_ref   TEXT NOT NULL,
    subject_ref  TEXT,
    action       TEXT NOT NULL,
    categories   TEXT NOT NULL DEFAULT '',
    rule         TEXT,
    age_days     INTEGER,
    last_activity TIMESTAMPTZ,
    state        TEXT NOT NULL DEFAULT 'planned',
    outcome      TEXT,
    PRIMARY KEY (dag_id, run_id, source, record_ref)
);
CREATE INDEX IF NOT EXISTS ks_plan_state ON ks_plan (dag_id, run_id, source, state);

CREATE TABLE IF NOT EXISTS ks_inflight (
    source       TEXT NOT NULL,
    record_ref   TEXT NOT NULL,
    dag_id       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    claimed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, record_ref)
);

CREATE TABLE IF NOT EXISTS ks_clock_ledger (
    source            TEXT NOT NULL,
    record_ref        TEXT NOT NULL,
    activity_before   TIMESTAMPTZ NOT NULL,
    vendor_stamp_after TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, record_ref)
);
