-- The mailbox intake (issue 19): one row per message read from the privacy mailbox, keyed by
-- the sha256 of its Message-ID, so a message is handled once however often or however
-- concurrently runs read it. Nothing personal: no address, subject line or body; `seq` numbers
-- the references of the requests registered from the mailbox (MAIL-<year>-<seq>).
CREATE TABLE IF NOT EXISTS ks_intake_messages (
    message_key         TEXT PRIMARY KEY,
    seq                 INTEGER NOT NULL UNIQUE,
    first_seen_at       TIMESTAMP NOT NULL,
    claimed_by          TEXT,
    claimed_at          TIMESTAMP,
    outcome             TEXT,
    reason              TEXT,
    request_ref         TEXT,
    id_copy             BOOLEAN NOT NULL DEFAULT FALSE,
    acknowledged_at     TIMESTAMP,
    ops_told_at         TIMESTAMP,
    reminded_at         TIMESTAMP,
    id_copy_removed_at  TIMESTAMP,
    mailbox_deleted_at  TIMESTAMP,
    mailbox_uid         BIGINT,
    uidvalidity         BIGINT
);
CREATE INDEX IF NOT EXISTS ks_intake_messages_ref ON ks_intake_messages (request_ref);
