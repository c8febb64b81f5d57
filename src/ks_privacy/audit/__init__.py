"""The auditor's side of the audit trail: check, report and look up, without personal data.

- `chain_checks`: the chain walk, every anchor in the anchor store (ks_privacy.anchors), the
  append-only triggers, and the mirrored tables (ks_privacy.state_evidence); `checks`: that,
  every erasure/redaction read back (`verify` event), every request answered within four weeks.
- `verdicts` (with `period` and `retention_view`): the report's numbers; `report` renders them
  (Jinja2, `templating`), signs and writes them through `ObjectStoragePath`; `csvcheck`
  re-verifies a report's CSV without our database.
- `lookup`: "what happened to this person?" from an e-mail address, via its pseudonym only; each
  lookup is itself evidence.
- `web` and `access`: the auditors' page in the Airflow UI (plugin `ks_audit`, auditors only).
- `cli`: `python -m ks_privacy audit verify|verify-report|public-key|report|lookup` and
  `python -m ks_privacy policy|hold`.

Besides lookups and the `hold` commands (ks_privacy.holds), nothing here writes to the audit
database; anchors and reports go to their own stores.
"""
