-- Evidence an outsider can trust (issue 14). The tables decisions read (ks_requests,
-- ks_legal_holds, ks_plan, ks_clock_ledger) are mirrored into the chain as `state.<table>` rows
-- keyed by record_ref; person lookups are `audit.lookup` rows. Verification and the lookup rate
-- limit read them by event. Rows that exist when this runs are adopted into the chain by the
-- migration's Python step (ks_privacy.state_evidence.adopt_existing).
CREATE INDEX IF NOT EXISTS ks_evidence_event ON ks_evidence (event, record_ref);
