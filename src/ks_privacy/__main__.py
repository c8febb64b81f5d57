"""`python -m ks_privacy`: see ks_privacy.audit.cli."""

import sys

from ks_privacy.audit.cli import main

if __name__ == "__main__":
    sys.exit(main())
