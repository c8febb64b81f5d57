-- Legal holds by person, for every source, including those with no hold mark of their own
-- (Tawk, the website store). Keyed by pseudonym; placing and lifting are evidence events.
CREATE TABLE IF NOT EXISTS ks_legal_holds (
    subject_ref  TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    reference    TEXT NOT NULL,
    placed_by    TEXT NOT NULL,
    placed_at    TIMESTAMP NOT NULL,
    lifted_by    TEXT,
    lifted_at    TIMESTAMP
);
