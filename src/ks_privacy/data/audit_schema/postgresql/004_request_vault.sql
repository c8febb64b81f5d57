-- Data-subject requests, second wave: who decided what at approval, and the address vault.
-- The subject's address (and a rectification's new values) never enters Airflow: it is held
-- here, AES-GCM encrypted with a random key per request; that key sits in its own table,
-- itself encrypted with a key derived from the pseudonym key (secrets backend, never in this
-- database). Closing a request deletes both rows: without its key the ciphertext is noise.
ALTER TABLE ks_requests ADD COLUMN IF NOT EXISTS decided_by TEXT;
ALTER TABLE ks_requests ADD COLUMN IF NOT EXISTS decision TEXT;

CREATE TABLE IF NOT EXISTS ks_request_vault (
    request_ref  TEXT PRIMARY KEY,
    nonce        BYTEA NOT NULL,
    ciphertext   BYTEA NOT NULL,
    stored_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS ks_request_keys (
    request_ref  TEXT PRIMARY KEY,
    nonce        BYTEA NOT NULL,
    wrapped_key  BYTEA NOT NULL,
    stored_at    TIMESTAMPTZ NOT NULL
);
