"""Discovery: where the personal data really is.

- `detectors`: pure functions that find e-mail addresses, phone numbers, IP addresses, Dutch
  addresses (postcode with house number), IBANs, BSNs and birth dates in a piece of text;
- `fieldmap`: the policy's field -> category map of one source, and what the sweep does with
  each field (empty it, redact free text in place, or flag it for a person);
- `walk`: a vendor record's fields as (field, text) pairs, the same names the policy uses;
- `inventory`: counts per source x field x category (never values) and the findings against the
  statement's processor table; `report` renders them; `tasks` are the DAG's task bodies.
"""
