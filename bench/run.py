"""The benchmark: our daily sweep (incremental), the weekly reconciliation (full scan) and a naive
script, on ActiveCampaign and Google accounts of 10 k, 100 k and 1 M contacts with 0.5 % due,
against the sandbox emulators with their rate limit set (scaled up: 100 requests/s by default,
so the runs stay short; the ratios are what count).

    python -m bench [--quick] [--sizes 10000,100000] [--rate 100] [--no-naive]

Per run it measures, in the sandbox's request log: every API call (429 answers included; the
Google token endpoint is not the People API and is left out) against the minimum the API allows
for the same work (bench/minimum.py); in the task process: the wall time of scan + guard +
apply + verify against calls / rate limit, and the process's peak RSS (from the operating
system when the process ends). Each run starts from a fresh copy of the same account, with a
new PostgreSQL audit database holding the clock ledger an earlier sweep would have left.
Prints a table and rewrites bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy as sa

from bench import data
from bench.minimum import expected_calls, kind_of, minimum_calls, naive_calls
from ks_privacy.audit_db import engine_for_url, migrate
from sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000, 1_000_000)
NAIVE_SAMPLE = 20_000  # above this many contacts the naive script runs on a sample
SOURCES = ("activecampaign", "google_contacts")
SERVICE = {"activecampaign": "activecampaign", "google_contacts": "google"}
VENDOR = {"activecampaign": "ActiveCampaign", "google_contacts": "Google"}
PG_ADMIN = os.environ.get(
    "KS_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
REAL_RATE = {"activecampaign": 5.0, "google_contacts": 1.0}  # the hooks' defaults
TARGETS = {"calls": 1.05, "rate": 0.9, "memory_mb": 300, "naive": 10.0}


@dataclass
class Run:
    size: int
    source: str
    kind: str  # incremental, full, naive
    calls: int
    by_route: dict[str, int]
    throttled: int
    seconds: float
    rate: float
    peak_mb: float
    minimum: int | None = None
    minimum_parts: dict[str, int] = field(default_factory=dict)
    expected_parts: dict[str, int] = field(default_factory=dict)
    sample: int | None = None  # naive: contacts processed, when a sample
    details: dict = field(default_factory=dict)
    load: float = 0.0  # the machine's 1-minute load average when the run ended

    @property
    def rate_used(self) -> float:
        return (self.calls / self.rate) / self.seconds if self.seconds else 0.0

    @property
    def scaled(self) -> float:
        """The naive sample scaled to the whole account (1 for a complete run)."""
        return self.size / self.sample if self.sample else 1.0


def log(text: str) -> None:
    print(text, flush=True)


# ---- processes ------------------------------------------------------------------------------


def start_task(args: list[str], env: dict[str, str], stderr) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.task", *args],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def finish_task(proc: subprocess.Popen) -> tuple[dict, float]:
    """The task's JSON answer and its peak RSS in MB (VmHWM, as the task read it at its end)."""
    out = proc.stdout.read()
    proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"bench task {proc.args[3:]} failed ({proc.returncode}); see its log")
    answer = json.loads(out.strip().splitlines()[-1])
    return answer, answer["peak_rss_mb"]


# ---- sandbox and audit database ---------------------------------------------------------------


@contextmanager
def sandbox_copy(template: Path, work_dir: Path, rate: float):
    work = work_dir / f"work-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, work)
    box = Sandbox(work).start()
    try:
        for service in ("activecampaign", "google"):
            control(box, service, "rate_limit", {"per_second": rate})
        yield box
    finally:
        box.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)


def control(box: Sandbox, service: str, path: str, body: dict | None = None):
    url = f"{box.control_url(service)}/{path}"
    response = requests.post(url, json=body, timeout=30) if body else requests.get(url, timeout=60)
    response.raise_for_status()
    return response.json()


def clear_requests(box: Sandbox, service: str) -> None:
    requests.delete(f"{box.control_url(service)}/requests", timeout=30).raise_for_status()


def api_requests(box: Sandbox, source: str) -> tuple[int, Counter, int]:
    """(calls, calls per kind, 429 answers) of one vendor since its log was cleared."""
    entries = control(box, SERVICE[source], "requests")["requests"]
    kinds: Counter = Counter()
    throttled = 0
    for entry in entries:
        kind = kind_of(source, entry)
        if kind is None:
            continue  # the OAuth token endpoint, not the People API
        kinds[kind] += 1
        throttled += entry["status"] == 429
    return sum(kinds.values()), kinds, throttled


@contextmanager
def audit_database(source: str, template: Path):
    """A migrated PostgreSQL audit database holding the ledger an earlier sweep left."""
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"ks_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN).set(database=name)
    try:
        engine = engine_for_url(url)
        migrate(engine)
        rows = data.ledger_rows(template, source)
        if rows:
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO ks_clock_ledger (source, record_ref, activity_before, "
                        "vendor_stamp_after) VALUES (:source, :ref, :before, :after)"
                    ),
                    rows,
                )
        engine.dispose()
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# ---- the runs ---------------------------------------------------------------------------------


def run_ours(template: Path, size: int, mode: str, truth: dict, opts) -> list[Run]:
    runs = []
    with sandbox_copy(template, opts.work_dir, opts.rate) as box:
        env = box.airflow_env({"requests_per_second": opts.rate, "timeout": 30})
        for source in SOURCES:
            service = SERVICE[source]
            with audit_database(source, template) as audit_url:
                clear_requests(box, service)
                with open(opts.work_dir / f"task-{size}-{mode}-{source}.log", "w") as err:
                    proc = start_task(
                        ["sweep", "--source", source, "--mode", mode, "--audit-url", audit_url],
                        env,
                        err,
                    )
                    out, peak = finish_task(proc)
            calls, routes, throttled = api_requests(box, source)
            seconds = sum(out["seconds"].values())
            parts = minimum_calls(truth[source], full=mode == "full")
            expected = expected_calls(truth[source], full=mode == "full")
            run = Run(
                size,
                source,
                mode,
                calls,
                dict(routes),
                throttled,
                seconds,
                opts.rate,
                peak,
                minimum=sum(parts.values()),
                minimum_parts=parts,
                expected_parts=expected,
                details=out,
            )
            run.load = os.getloadavg()[0]
            check_work(run, truth[source])
            if dict(routes) != expected:
                log(f"  note: {source} {mode} made {dict(routes)}, expected {expected}")
            runs.append(run)
            log(
                f"  {VENDOR[source]:<14} {mode:<11} {calls:>7} calls (min {run.minimum}), "
                f"{seconds:7.1f} s, rate used {run.rate_used:.2f}, peak {peak:.0f} MB"
            )
    return runs


def check_work(run: Run, truth: data.Truth) -> None:
    """The sweep did exactly the day's work (the truth is computed from the sandbox file)."""
    scan = run.details["result"]["scan"]
    applied = run.details["result"]["apply"]
    got = {
        "erase": scan.get("erase", 0),
        "redact": scan.get("redact", 0),
        "hold": scan.get("hold", 0),
        "erased": applied.get("erase.erased", 0),
        "redacted": applied.get("redact.redacted", 0),
        "verified": run.details["result"]["verify"].get("verified", 0),
        "missed_by_incremental": scan.get("missed_by_incremental", 0),
    }
    want = {
        "erase": truth.erase,
        "redact": truth.redact,
        "hold": truth.held_due,
        "erased": truth.erase,
        "redacted": truth.redact,
        "verified": truth.acted,
        "missed_by_incremental": 0,
    }
    run.details["work"] = got
    if got != want:
        raise RuntimeError(f"{run.source} {run.kind}: did {got}, the truth is {want}")


def run_naive(template: Path, size: int, truth: dict, opts) -> list[Run]:
    limit = NAIVE_SAMPLE if size > opts.naive_full_up_to else None
    runs = []
    with sandbox_copy(template, opts.work_dir, opts.rate) as box:
        env = box.airflow_env({"requests_per_second": opts.rate, "timeout": 30})
        procs = {}
        logs = []
        for source in SOURCES:
            clear_requests(box, SERVICE[source])
            ledger_file = opts.work_dir / f"ledger-{source}.json"
            ledger_file.write_text(
                json.dumps(
                    {
                        r["ref"]: [r["before"].isoformat(), r["after"].isoformat()]
                        for r in data.ledger_rows(template, source)
                    }
                )
            )
            err = open(opts.work_dir / f"task-{size}-naive-{source}.log", "w")  # noqa: SIM115
            logs.append(err)
            args = ["naive", "--source", source, "--rate", str(opts.rate)]
            if limit:
                args += ["--limit", str(limit)]
            # both vendors at once: each has its own rate limit, and hours become half
            procs[source] = start_task(args, {**env, "KS_BENCH_LEDGER": str(ledger_file)}, err)
        for source, proc in procs.items():
            out, peak = finish_task(proc)
            logged, routes, throttled = api_requests(box, source)
            # the emulators' request log keeps the last 200 000 requests of all ports together:
            # two naive runs at 100 k contacts overflow it, so count with the client (every
            # request it sent, retries included)
            calls = max(logged, out["calls"])
            run = Run(
                size,
                source,
                "naive",
                calls,
                dict(routes),
                throttled,
                out["seconds"],
                opts.rate,
                peak,
                sample=limit,
                details=out,
            )
            run.minimum = naive_calls(truth[source], limit)  # its own expected count
            run.load = os.getloadavg()[0]
            runs.append(run)
            note = f" (first {limit:,} contacts)" if limit else ""
            log(
                f"  {VENDOR[source]:<14} naive{note}: {calls} calls, {out['seconds']:.1f} s, "
                f"rate used {run.rate_used:.2f}, peak {peak:.0f} MB"
            )
        for err in logs:
            err.close()
    return runs


def import_baseline(opts) -> float:
    with open(opts.work_dir / "task-imports.log", "w") as err:
        _out, peak = finish_task(start_task(["imports"], {}, err))
    return peak


# ---- report -----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "?"
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgres": _pg_version(),
    }


def _pg_version() -> str:
    try:
        engine = sa.create_engine(PG_ADMIN, poolclass=sa.NullPool)
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar())
    except sa.exc.SQLAlchemyError:
        return "?"


def table(runs: list[Run]) -> list[str]:
    ours = {(r.size, r.source): r for r in runs if r.kind == "incremental"}
    lines = [
        "| contacts | vendor | run | API calls | minimum | calls ÷ min | wall s | calls ÷ rate s "
        "| rate used | peak MB | naive ÷ ours (time) |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        est = "~" if r.sample else ""
        calls = round(r.calls * r.scaled)
        seconds = r.seconds * r.scaled
        if r.kind == "naive":
            mine = ours.get((r.size, r.source))
            versus = f"{est}{seconds / mine.seconds:.0f}x" if mine else "-"
            label = f"naive (first {r.sample:,}, scaled)" if r.sample else "naive"
            minimum, ratio = "-", "-"
        else:
            versus = "-"
            label = "ours, daily" if r.kind == "incremental" else "ours, weekly full scan"
            minimum, ratio = f"{r.minimum:,}", f"{r.calls / r.minimum:.3f}"
        lines.append(
            f"| {r.size:,} | {VENDOR[r.source]} | {label} | {est}{calls:,} | {minimum} | {ratio} "
            f"| {est}{seconds:,.1f} | {est}{calls / r.rate:,.1f} | {r.rate_used:.2f} "
            f"| {r.peak_mb:.0f} | {versus} |"
        )
    return lines


def verdicts(runs: list[Run], sizes: list[int]) -> list[str]:
    daily = [r for r in runs if r.kind == "incremental"]
    ours = [r for r in runs if r.kind != "naive"]
    if not ours:
        return []
    biggest = max(sizes)
    lines = []
    full = [r for r in runs if r.kind == "full"]
    for label, group in (("daily sweep", daily), ("weekly full scan", full)):
        if not group:
            continue
        worst = max(group, key=lambda r: r.calls / r.minimum)
        ratio = worst.calls / worst.minimum
        low = min(group, key=lambda r: r.rate_used)
        lines += [
            f"- calls ÷ minimum, {label}: worst {ratio:.3f} ({VENDOR[worst.source]}, "
            f"{worst.size:,}); target ≤ {TARGETS['calls']}: "
            + ("met" if ratio <= TARGETS["calls"] else "NOT met"),
            f"- rate used, {label}: lowest {low.rate_used:.2f} ({VENDOR[low.source]}, "
            f"{low.size:,}); target ≥ {TARGETS['rate']}: "
            + ("met" if low.rate_used >= TARGETS["rate"] else "NOT met (see the notes)"),
        ]
    peaks = {s: max(r.peak_mb for r in ours if r.size == s) for s in sizes}
    growth = peaks[biggest] - peaks[min(sizes)]
    lines.append(
        "- peak memory of a task process: "
        + ", ".join(f"{s:,}: {p:.0f} MB" for s, p in peaks.items())
        + f" (+{growth:.0f} MB from the smallest to the largest); target ≤ "
        f"{TARGETS['memory_mb']} MB at the largest, and flat: "
        + ("met" if peaks[biggest] <= TARGETS["memory_mb"] else "NOT met")
    )
    naive = [r for r in runs if r.kind == "naive" and r.size == biggest]
    if naive and daily:
        mine = {r.source: r for r in daily if r.size == biggest}
        ratios = [r.seconds * r.scaled / mine[r.source].seconds for r in naive]
        lines.append(
            f"- naive ÷ ours at {biggest:,}: "
            + ", ".join(f"{VENDOR[r.source]} {x:.0f}x" for r, x in zip(naive, ratios, strict=True))
            + f"; target ≥ {TARGETS['naive']:.0f}x: "
            + ("met" if min(ratios) >= TARGETS["naive"] else "NOT met")
        )
    return lines


def time_rows(runs: list[Run]) -> list[str]:
    rows = []
    for r in runs:
        if r.kind == "naive":
            continue
        seconds = r.details["seconds"]
        client = r.details.get("client", {})
        paced = sum(c["paced"] for c in client.values())
        http = sum(c["http"] for c in client.values())
        rest = sum(seconds.values()) - paced - http
        steps = " | ".join(f"{seconds.get(s, 0):.1f}" for s in ("scan", "guard", "apply", "verify"))
        at_real = r.calls / REAL_RATE[r.source]
        rows.append(
            f"| {r.size:,} | {VENDOR[r.source]} | {r.kind} | {steps} | {paced:.1f} | {http:.1f} "
            f"| {rest:.1f} | {at_real / (at_real + rest):.2f} |"
        )
    return rows


def write_results(path: Path, runs, sizes, opts, started, finished, loads, baseline, seeding):
    info = machine()
    lines = [
        "# Benchmark results",
        "",
        f"Latest run: {started:%Y-%m-%d %H:%M} UTC, "
        f"{(finished - started).total_seconds() / 60:.0f} minutes, "
        f"`scripts/bench{' --quick' if opts.quick else ''}` (sizes "
        f"{', '.join(f'{s:,}' for s in sizes)}; sandbox and client rate {opts.rate:g} requests/s "
        "per vendor).",
        "",
        f"Machine: {info['cpu']}, {info['memory']} RAM, {info['os']}, Python {info['python']}, "
        f"PostgreSQL {info['postgres']}. Load average (1 min): {loads[0]:.1f} at the start, "
        f"{loads[1]:.1f} at the end, {min(r.load for r in runs):.1f}-"
        f"{max(r.load for r in runs):.1f} at the end of the runs (the benchmark's own task, "
        "emulator and PostgreSQL count in it; other work shared the machine too, so wall times "
        "are noisy; call counts are exact).",
        "",
        *table(runs),
        "",
        "## Against the targets",
        "",
        *verdicts(runs, sizes),
        "",
        "## What the columns mean",
        "",
        "- **API calls**: requests the emulator answered for the run (its request log), 429 "
        "answers included (there were "
        f"{sum(r.throttled for r in runs)} in all); Google's OAuth token endpoint is not counted.",
        "- **minimum**: the fewest calls the vendor's API allows for the same work "
        "(bench/minimum.py): ActiveCampaign: 1 tag lookup + 1 `meta.total` + ceil(C/100) "
        "filtered list pages (C = contacts whose clock is at or before the cutoff) + "
        "ceil(Hc/100) held pages + 2 x ceil(E/100) for the E ledger records (read, and their "
        "holds) + 1 DELETE per erased + 1 PUT per redacted contact + ceil(acted/100) "
        "verification reads; Google: 1 group list + ceil((C+1)/1000) list pages + ceil(E/200) "
        "batchGets + ceil(erased/500) batchDeletes + 1 updateContact per redaction + "
        "ceil(acted/200) verification batchGets. The weekly full scan reads every page instead "
        "(ceil(N/100) + ceil(H/100), or ceil(N/1000)).",
        "- **wall s**: scan + guard + apply + verify in the task process (interpreter start "
        "and imports excluded); **calls ÷ rate s**: the time the rate limit alone allows for "
        "those calls; **rate used** = the second ÷ the first.",
        "- **peak MB**: the task process's peak resident memory (VmHWM), all four steps in "
        f"one process. Importing the task's code alone takes {baseline:.0f} MB.",
        "- **naive**: bench/naive.py, the same decisions and the same client (pacing, retries), "
        "one GET per contact and one call per action, run on its own copy of the account "
        "(both vendors at once, each at its own rate limit). Above "
        f"{opts.naive_full_up_to:,} contacts it runs on the first {NAIVE_SAMPLE:,} contacts "
        "and its calls and time are scaled linearly to the account (marked ~): the due "
        "records are spread evenly, so the scaling is exact in calls and close in time.",
        "",
        "## Accounts",
        "",
        "Seeded by the sandbox (`--contacts-only`, everyone in both vendors, about 3 % on legal "
        "hold), then reshaped by bench/data.py so that 0.5 % is due on the benchmark day: 0.20 % "
        "phone redactions (159-179 days), 0.15 % erasures found by the vendor filter (179-200 "
        "days), 0.15 % erasures of contacts we redacted ~20 days ago (their vendor clock bumped "
        "by our write; found only through the clock ledger). Every run's plan and outcome are "
        "checked against this truth. Seeding and reshaping took "
        + ", ".join(f"{s:,}: {t:.0f} s" for s, t in seeding.items())
        + " (0 s: a cached account was reused).",
        "",
        "## Where the time goes",
        "",
        "Per step of our sweep (seconds), and over all steps: waiting for the client's rate "
        "limiter, in HTTP requests (the emulator's answer time included), and the rest: our "
        "own work in the task's main thread (deciding, the audit database; outcome rows are "
        "written in a second thread, overlapping the next batch's calls). The last column "
        "projects the rate used at the hooks' default rates (ActiveCampaign 5/s, Google 1/s): "
        "calls ÷ rate over that plus the rest, assuming the vendor answers within 1 ÷ rate.",
        "",
        "| contacts | vendor | run | scan | guard | apply | verify | limiter | HTTP | rest "
        "| rate used at the real rate |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *time_rows(runs),
        "",
        "## Calls per kind",
        "",
        "Measured (the sandbox's request log), what bench/minimum.py expects of our sweep, and the "
        "minimum. Kinds: ActiveCampaign `list` (keyset pages, with the date filter when "
        "incremental), `held list` (the same with `tagid`), `ids read` (`ids[]`: ledger records, "
        "their holds, verification), `total` (`meta.total`); Google `batch get` (ledger records, "
        "redactions' etags, verification).",
        "",
        "| contacts | vendor | run | measured | ours, expected | minimum |",
        "| ---: | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        if r.kind == "naive":
            continue

        def show(calls: dict[str, int]) -> str:
            return ", ".join(f"{k} {v:,}" for k, v in sorted(calls.items())) or "-"

        lines.append(
            f"| {r.size:,} | {VENDOR[r.source]} | {r.kind} | {show(r.by_route)} "
            f"| {show(r.expected_parts)} | {show(r.minimum_parts)} |"
        )
    if opts.notes and opts.notes.exists():
        lines += ["", opts.notes.read_text(encoding="utf-8").rstrip()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 k contacts only")
    parser.add_argument("--sizes", help="comma-separated account sizes")
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s per vendor")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument(
        "--runs", default="incremental,full,naive", help="which of incremental, full, naive"
    )
    parser.add_argument(
        "--naive-full-up-to",
        type=int,
        default=100_000,
        help=f"larger accounts run the naive script on the first {NAIVE_SAMPLE:,} contacts",
    )
    parser.add_argument("--work-dir", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "RESULTS.md")
    parser.add_argument(
        "--notes", type=Path, default=REPO / "bench" / "NOTES.md", help="appended to RESULTS"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite RESULTS.md from the last run's figures (var/bench/last-run.json)",
    )
    opts = parser.parse_args(argv)
    if opts.report_only:
        return report_only(opts)
    sizes = [10_000] if opts.quick else list(SIZES)
    if opts.sizes:
        sizes = [int(s) for s in opts.sizes.split(",")]
    opts.work_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    loads = [os.getloadavg()[0]]
    log(f"bench: {', '.join(f'{s:,}' for s in sizes)} contacts at {opts.rate:g} requests/s")
    baseline = import_baseline(opts)
    runs: list[Run] = []
    seeding: dict[int, float] = {}
    for size in sizes:
        log(f"bench: account of {size:,} contacts")
        template = opts.work_dir / f"account-{size}.db"
        seeding[size] = data.make_account(template, size, log=log)["seconds"]
        truth = data.truth(template)
        for source, t in truth.items():
            log(
                f"  {VENDOR[source]}: {t.total:,} contacts, {t.erase} to erase, {t.redact} to "
                f"redact, {t.held_due} due but held, {t.ledger} in the ledger"
            )
        kinds = opts.runs.split(",")
        for mode in ("incremental", "full"):
            if mode in kinds:
                runs += run_ours(template, size, mode, truth, opts)
        if "naive" in kinds and not opts.no_naive:
            runs += run_naive(template, size, truth, opts)
    loads.append(os.getloadavg()[0])
    finished = datetime.now(UTC)
    log("")
    for line in [*table(runs), "", *verdicts(runs, sizes)]:
        log(line)
    write_results(opts.results, runs, sizes, opts, started, finished, loads, baseline, seeding)
    log(f"\nbench: {(finished - started).total_seconds() / 60:.1f} minutes; wrote {opts.results}")
    saved = {
        "runs": [r.__dict__ for r in runs],
        "sizes": sizes,
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "loads": loads,
        "baseline": baseline,
        "seeding": seeding,
        "quick": opts.quick,
        "rate": opts.rate,
        "naive_full_up_to": opts.naive_full_up_to,
    }
    (opts.work_dir / "last-run.json").write_text(json.dumps(saved, default=str, indent=1))
    return 0


def report_only(opts) -> int:
    saved = json.loads((opts.work_dir / "last-run.json").read_text())
    runs = [Run(**r) for r in saved["runs"]]
    for r in runs:
        if r.kind == "naive":  # see run_naive: the request log can overflow
            r.calls = max(r.calls, r.details.get("calls", 0))
    for key in ("quick", "rate", "naive_full_up_to"):
        setattr(opts, key, saved[key])
    write_results(
        opts.results,
        runs,
        saved["sizes"],
        opts,
        datetime.fromisoformat(saved["started"]),
        datetime.fromisoformat(saved["finished"]),
        saved["loads"],
        saved["baseline"],
        {int(k): v for k, v in saved["seeding"].items()},
    )
    log(f"bench: wrote {opts.results} from {opts.work_dir / 'last-run.json'}")
    return 0


if __name__ == "__main__":
    tempfile.tempdir = None
    sys.exit(main())
