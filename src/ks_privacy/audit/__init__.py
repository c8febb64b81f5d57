"""The auditor's side of the audit trail: check, report and look up, without personal data.

- `checks`: the chain walk (`AuditTrail.verify`), every erasure/redaction followed by a
  read-back (`verify` event), every data-subject request answered within four weeks.
- `report`: a self-contained HTML report and a CSV of the evidence for a period, written
  through `ObjectStoragePath`; `csvcheck` re-verifies such a CSV without our database.
- `lookup`: "what happened to this person?" from an e-mail address, via its pseudonym only.
- `web`: the auditors' page in the Airflow UI (plugin `ks_audit`, behind Airflow's login).
- `cli`: `python -m ks_privacy audit verify|report|lookup` and `python -m ks_privacy policy`.

The auditor's checks, report and lookup only read the audit trail; the CLI's `hold place|lift`
commands (ks_privacy.holds) write their own evidence.
"""
