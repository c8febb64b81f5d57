"""Parsing a DAG file stays cheap: the dag-processor does it all the time. Each file, in a
fresh process, may add at most PARSE_BUDGET seconds to `import airflow.sdk` and must import no
vendor client (bench/parse_time.py measures; `python -m bench.parse_time` prints the table)."""

from __future__ import annotations

import pytest

from bench.parse_time import DAG_FILES, measure

PARSE_BUDGET = 1.0  # seconds on top of `import airflow.sdk`: generous, a vendor client is ~0.8


@pytest.mark.parametrize("path", DAG_FILES, ids=[p.stem for p in DAG_FILES])
def test_dag_file_parses_cheaply_without_vendor_clients(path):
    cost = measure(path)
    print(
        f"{cost.dag_file}: import airflow.sdk {cost.sdk_seconds:.2f} s, "
        f"+ DAG file {cost.extra_seconds:.2f} s"
    )
    assert cost.vendor_modules == (), f"{path.name} imports vendor clients at parse time"
    assert cost.extra_seconds < PARSE_BUDGET, (
        f"{path.name} adds {cost.extra_seconds:.2f} s to every parse (budget {PARSE_BUDGET} s)"
    )
