"""`python -m ks_privacy`: see ks_privacy.audit.cli."""

import sys

# Airflow's plugin loader imports every .py file under its plugins folder under its file stem,
# which for this file is "__main__": only a real `python -m ks_privacy` may run the commands.
if __name__ == "__main__" and getattr(__spec__, "name", None) == "ks_privacy.__main__":
    from ks_privacy.audit.cli import main

    sys.exit(main())
