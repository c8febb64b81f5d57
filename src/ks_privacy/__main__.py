"""`python -m ks_privacy`: see ks_privacy.audit.cli; `python -m ks_privacy request ...`: see
ks_privacy.request_cli (registering data-subject requests)."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["request"]:
        from ks_privacy.request_cli import main as request_main

        sys.exit(request_main(sys.argv[2:]))
    from ks_privacy.audit.cli import main

    sys.exit(main())
