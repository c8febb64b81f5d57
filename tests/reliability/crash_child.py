"""Run in a separate process by the crash test: apply one source's plan, to be SIGKILLed."""

import sys

from ks_privacy import sweep
from tests.fixtures.steps import make_step

if __name__ == "__main__":
    audit_url, source_name = sys.argv[1], sys.argv[2]
    sweep.apply(make_step(audit_url, source_name, try_number=1))
