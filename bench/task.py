"""One benchmark task process: our sweep of one source (scan, guard, apply, verify, each step with
a fresh source and hook as an Airflow task would have), or the naive script.

    python -m bench.task sweep --source activecampaign --mode incremental --audit-url URL
    python -m bench.task naive --source google_contacts [--limit 20000]
    python -m bench.task imports

The parent sets the Airflow connections in the environment (AIRFLOW_CONN_*), reads the JSON this
prints last, and this process's peak RSS from the operating system when it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _environment() -> None:
    """A throw-away AIRFLOW_HOME (no metadata database is touched: connections come from the
    environment) before anything imports Airflow."""
    home = Path(tempfile.mkdtemp(prefix="ks-bench-airflow-"))
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")


def _sweep(args: argparse.Namespace) -> dict:
    from bench.data import NOW
    from ks_privacy import sweep
    from ks_privacy.audit_db import engine_for_url
    from ks_privacy.evidence import AuditTrail, RunContext
    from ks_privacy.policy import load_policy
    from ks_privacy.pseudonym import Pseudonymiser
    from ks_privacy.sources import build_source

    policy = load_policy()
    engine = engine_for_url(args.audit_url)

    def step(task_id: str) -> sweep.SweepStep:
        trail = AuditTrail(engine, RunContext("ks_retention_daily", args.run_id, task_id, 1))
        return sweep.SweepStep(
            policy=policy,
            source_name=args.source,
            source=build_source(policy, args.source),
            engine=engine,
            trail=trail,
            pseudonymise=Pseudonymiser("bench-pseudonym-key-0123456789abcdef"),
            now=NOW,
            dry_run=False,
        )

    seconds: dict[str, float] = {}
    result: dict = {}
    client: dict[str, dict] = {}
    for name, run in (
        ("scan", lambda s: sweep.scan(s, full_scan=args.mode == "full")),
        ("guard", lambda s: sweep.guard(s, override=True)),
        ("apply", sweep.apply),
        ("verify", sweep.verify),
    ):
        current = step(name)
        started = time.monotonic()
        result[name] = run(current)
        seconds[name] = round(time.monotonic() - started, 3)
        api = current.source.hook.__dict__.get("api")  # the session, if the step made calls
        if api is not None:
            client[name] = {
                "calls": api.calls,
                "paced": round(api.paced_seconds, 3),
                "http": round(api.http_seconds, 3),
            }
    engine.dispose()
    return {"seconds": seconds, "result": result, "client": client}


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries the maximum
    over from before exec(), and a child started by vfork + exec reports its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.task")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sweep")
    p.add_argument("--source", required=True)
    p.add_argument("--mode", choices=["incremental", "full"], required=True)
    p.add_argument("--audit-url", required=True)
    p.add_argument("--run-id", default="bench")
    p = sub.add_parser("naive")
    p.add_argument("--source", required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--rate", type=float, required=True)
    sub.add_parser("imports")
    args = parser.parse_args(argv)
    # the JSON answer goes to the real stdout; everything else (Airflow's log lines, the
    # EVIDENCE lines a task logs) to stderr, which the parent keeps in a file
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    _environment()
    sys.path[:0] = [str(REPO)]
    if args.command == "sweep":
        out = _sweep(args)
    elif args.command == "naive":
        from bench.naive import run

        out = run(args.source, args.rate, args.limit)
    else:  # what importing the task's code costs, before any work
        from bench.data import NOW  # noqa: F401
        from ks_privacy import sweep  # noqa: F401
        from ks_privacy.sources.activecampaign import ActiveCampaignSource  # noqa: F401
        from ks_privacy.sources.google_contacts import GoogleContactsSource  # noqa: F401

        out = {}
    out["peak_rss_mb"] = _peak_rss_mb()
    answer.write(json.dumps(out, default=str) + "\n")
    answer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
