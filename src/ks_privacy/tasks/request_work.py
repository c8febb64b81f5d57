"""The work of each request run, between `check` and `finish`: locate (erasure), export
(access), rectify, withdraw consent. Each reads the request's address from the vault inside the
task, and returns counts and field names only: what `finish` needs to close the request with
the right outcome (`no_data_found` when no source holds the address) and write the letter.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk.exceptions import AirflowFailException

from ks_privacy import export, runtime
from ks_privacy.audit_db import transaction
from ks_privacy.evidence import AuditTrail, Evidence
from ks_privacy.holds import LegalHolds
from ks_privacy.plans import Plan, PlanRow
from ks_privacy.request_params import company_today
from ks_privacy.request_status import RequestStatus
from ks_privacy.sources import build_source
from ks_privacy.tasks import request_context
from ks_privacy.vault import RequestSecret

log = logging.getLogger("ks_privacy.tasks.request_work")


def _request(trail: AuditTrail):
    ref = request_context.run_ref()
    row = request_context.register(trail).get(ref)
    return ref, row, request_context.read_secret(trail, ref)


def locate() -> dict:
    """Find the person in every source (exact, normalised address) and plan the erasure. The
    result feeds the approval's text: counts, dates and staff names, never the address."""
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ref, row, secret = _request(trail)
    dry_run = request_context.dry_run()
    held_person = row.subject_ref in LegalHolds(trail).active()
    counts = {}
    for name in policy.enabled_sources():
        source = build_source(policy, name)
        records = source.find(secret.email)
        if source.one_record_per_person and len(records) > 1:
            trail.append(
                [
                    Evidence(
                        event="request.ambiguous",
                        outcome="stopped",
                        source=name,
                        record_ref=ref,
                        subject_ref=row.subject_ref,
                        details={"matches": len(records)},
                    )
                ]
            )
            raise AirflowFailException(
                f"{len(records)} {name} records carry this address: a person must look at "
                f"them (merge or erase by hand); nothing was erased for {ref}"
            )
        rows = [
            PlanRow(
                record_ref=r.ref,
                subject_ref=row.subject_ref,
                action="hold" if r.held or held_person else "erase",
                categories=tuple(sorted(r.categories)),
                rule=f"request:{row.reason}",
                age_days=None,
            )
            for r in records
        ]
        counts[name] = {
            "erase": sum(r.action == "erase" for r in rows),
            "hold": sum(r.action == "hold" for r in rows),
        }
        plan = Plan(trail.engine, trail.context.dag_id, trail.context.run_id, name)
        with transaction(trail.engine) as conn:
            plan.add(conn, rows)
            trail.append(
                [
                    Evidence(
                        event="request.located",
                        outcome="found" if rows else "none",
                        source=name,
                        record_ref=ref,
                        subject_ref=row.subject_ref,
                        details=counts[name],
                    )
                ],
                conn,
            )
        log.info(
            "%s: %d records to erase, %d on legal hold",
            name,
            counts[name]["erase"],
            counts[name]["hold"],
        )
    total = sum(n["erase"] + n["hold"] for n in counts.values())
    if not total:
        log.info("no data found for this address in any source")
    if not dry_run:
        request_context.register(trail).set_status(ref, RequestStatus.AWAITING_APPROVAL)
    return {
        "counts": counts,
        "records": total,
        "reason": row.reason,
        "received_on": row.received_on.isoformat(),
        "verified_by": row.identity_verified_by,
    }


def access_export() -> dict:
    """Gather everything every source holds on the person into one zip (JSON + CSV per
    source); its sha256 is evidence. The file is personal data: it expires with the sweep. No
    data anywhere: no file. A dry run counts and writes nothing."""
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ref, row, secret = _request(trail)
    data = {
        name: build_source(policy, name).export(secret.email) for name in policy.enabled_sources()
    }
    found = {name: export.record_count(payload) for name, payload in data.items()}
    if not sum(found.values()) or request_context.dry_run():
        log.info("export for %s: %s records per source; no file written", ref, found)
        return {"found": found}
    written = export.write_export(ref, data)
    trail.append(
        [
            Evidence(
                event="export.written",
                outcome="written",
                record_ref=ref,
                subject_ref=row.subject_ref,
                details={
                    "sha256": written.sha256,
                    "bytes": written.size,
                    "location": written.location_hint,
                    **{f"records.{k}": v for k, v in written.counts.items()},
                },
            )
        ]
    )
    log.info("export for %s: %d bytes, sha256 %s", ref, written.size, written.sha256)
    until = company_today(policy.timezone) + timedelta(days=policy.export_retention_days)
    return {
        "found": found,
        "export": {
            "file": written.location_hint.rsplit("/", 1)[-1],
            "kilobytes": max(1, round(written.size / 1024)),
            "sha256": written.sha256,
            "until": until.isoformat(),
        },
    }


def rectify() -> dict:
    """Apply the given field changes in every source holding the person; evidence lists which
    fields changed where, never the values. A dry run changes nothing and says what it would."""
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ref, row, secret = _request(trail)
    dry_run = request_context.dry_run()
    found: dict[str, int] = {}
    changed: dict[str, list[str]] = {}
    for name in policy.enabled_sources():
        source = build_source(policy, name)
        records = source.find(secret.email)
        found[name] = len(records)
        fields: set[str] = set()
        evidence = []
        for record in records:
            done = [] if dry_run else source.rectify(record.ref, secret.changes)
            fields.update(done)
            evidence.append(
                Evidence(
                    event="rectify.dry_run" if dry_run else "rectify.outcome",
                    outcome="dry_run" if dry_run else "rectified" if done else "not_held",
                    source=name,
                    record_ref=record.ref,
                    subject_ref=row.subject_ref,
                    categories=tuple(done),
                    rule=ref,
                )
            )
        trail.append(evidence)
        if records:
            changed[name] = sorted(fields)
    return {"found": found, "changed": changed}


def withdraw_consent() -> dict:
    """Unsubscribe everywhere consent is the basis (ActiveCampaign lists), stop website tracking,
    and record it. A dry run only counts."""
    trail = runtime.audit_trail()
    policy = runtime.policy()
    ref, row, secret = _request(trail)
    dry_run = request_context.dry_run()
    found, unsubscribed = {}, 0
    for name in policy.enabled_sources():
        source = build_source(policy, name)
        if dry_run:
            counts = {"records": len(source.find(secret.email))}
        else:
            counts = source.withdraw_consent(secret.email)
        trail.append(
            [
                Evidence(
                    event="consent.dry_run" if dry_run else "consent.withdrawn",
                    outcome="dry_run" if dry_run else "done",
                    source=name,
                    record_ref=ref,
                    subject_ref=row.subject_ref,
                    details=counts,
                )
            ]
        )
        found[name] = sum(counts.get(k, 0) for k in ("records", "contacts", "chats", "visitors"))
        unsubscribed += counts.get("lists_unsubscribed", 0)
    return {"found": found, "lists_unsubscribed": unsubscribed}


def sources_with_another_holder(trail: AuditTrail, request_ref: str, secret: RequestSecret):
    """The sources where a record that is not the person's carries the rectification's new
    address. The person's records are those found under the current address, plus those this
    request already rectified (a resumed run may have changed some addresses already)."""
    policy = runtime.policy()
    own = {
        (row["source"], row["record_ref"])
        for row in trail.rows(
            "WHERE event = 'rectify.outcome' AND rule = :ref", {"ref": request_ref}
        )
    }
    held_in = []
    for name in policy.enabled_sources():
        source = build_source(policy, name)
        others = {r.ref for r in source.find(secret.changes["email"])}
        others -= {r.ref for r in source.find(secret.email)}
        others -= {ref for src, ref in own if src == name}
        if others:
            held_in.append(name)
    return held_in
