"""What parsing each DAG file costs the dag-processor, beyond `import airflow.sdk` alone.

The dag-processor re-parses every DAG file all the time, so a DAG file must not import vendor
clients (the Google provider alone costs most of a second). Each file is measured in a fresh
Python process: the time `import airflow.sdk` takes, then the time running the DAG file adds,
and which vendor modules it pulled in. `python -m bench.parse_time` prints the table;
tests/dags/test_parse_time.py holds the budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
# modules a DAG file must never import at parse time: vendor clients and our hooks/adapters
# (Airflow itself reads every provider's small `get_provider_info` module: that is not a client)
VENDOR_MODULES = (
    "airflow.providers.google.common",
    "airflow.providers.google.cloud",
    "google.auth",
    "googleapiclient",
    "requests",
    "ks_privacy.hooks",
    "ks_privacy.sources.activecampaign",
    "ks_privacy.sources.google_contacts",
    "ks_privacy.sources.tawk",
    "matplotlib",
)

_PROBE = """
import json, runpy, sys, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
runpy.run_path(sys.argv[1])
t2 = time.perf_counter()
vendor = sorted({m for m in sys.modules for p in json.loads(sys.argv[2])
                 if m == p or m.startswith(p + ".")})
print(json.dumps({"sdk": t1 - t0, "dag": t2 - t1, "vendor": vendor}))
"""


@dataclass(frozen=True)
class ParseCost:
    dag_file: str
    sdk_seconds: float  # `import airflow.sdk` in that process
    extra_seconds: float  # what the DAG file added on top (the lowest of the runs)
    vendor_modules: tuple[str, ...]  # vendor modules the file imported (must be empty)


def measure(path: Path, runs: int = 2) -> ParseCost:
    """Parse one DAG file in `runs` fresh processes; keep the cheapest run (the others measure
    what else the machine was doing)."""
    home = tempfile.mkdtemp(prefix="ks-parse-airflow-")
    env = {
        **os.environ,
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE, str(path), json.dumps(VENDOR_MODULES)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(samples, key=lambda s: s["dag"])
    return ParseCost(path.name, best["sdk"], best["dag"], tuple(best["vendor"]))


def main() -> None:
    print(f"{'DAG file':<32}{'import airflow.sdk':>20}{'+ DAG file':>12}  vendor modules")
    for path in DAG_FILES:
        cost = measure(path)
        print(
            f"{cost.dag_file:<32}{cost.sdk_seconds:>19.2f}s{cost.extra_seconds:>11.2f}s  "
            f"{', '.join(cost.vendor_modules) or 'none'}"
        )


if __name__ == "__main__":
    main()
