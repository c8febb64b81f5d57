"""Command line: seed the sandbox, serve it.

    python -m sandbox seed --db var/sandbox.db --website-db sqlite:///var/website.db \\
        --contacts 300 --seed 42 --now 2026-11-25T00:00:00Z
    python -m sandbox serve --db var/sandbox.db --host 127.0.0.1 \\
        --ac-port 8101 --google-port 8102 --tawk-port 8103 --write-connections var/connections.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys

from sandbox.activecampaign import DEFAULT_TIMEZONE
from sandbox.seed import seed
from sandbox.server import Sandbox


def _seed(args: argparse.Namespace) -> int:
    result = seed(
        args.db,
        args.website_db,
        contacts=args.contacts,
        seed=args.seed,
        now=args.now,
        ac_contacts=args.ac_contacts,
        google_contacts=args.google_contacts,
        tawk_people=args.tawk_people,
        website_events=args.website_events,
        contacts_only=args.contacts_only,
        ac_timezone=args.ac_timezone,
        progress=not args.quiet,
    )
    print(json.dumps(result))
    return 0


def _serve(args: argparse.Namespace) -> int:
    sandbox = Sandbox(
        args.db,
        host=args.host,
        ac_port=args.ac_port,
        google_port=args.google_port,
        tawk_port=args.tawk_port,
        public_host=args.public_host,
        verbose=not args.quiet,
        ac_token=args.ac_token,
        tawk_api_key=args.tawk_api_key,
        google_keyfile=args.google_keyfile,
        google_subject=args.google_subject,
    )
    sandbox.start()
    if args.write_connections:
        sandbox.write_connections(args.write_connections, args.website_db)
    if args.write_keyfile:
        sandbox.write_keyfile(args.write_keyfile)
    print(
        json.dumps(
            {
                "activecampaign": sandbox.activecampaign_url,
                "google": sandbox.google_url,
                "token_uri": sandbox.token_url,
                "tawk": sandbox.tawk_url,
            }
        ),
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        sandbox.serve_forever()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("seed", help="(re)create the sandbox data")
    p.add_argument("--db", required=True, help="sandbox SQLite file")
    p.add_argument("--website-db", help="SQLAlchemy URL of the website-activity database")
    p.add_argument("--contacts", type=int, default=300, help="people in total")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--now", help="the sandbox's now, ISO 8601 (default: the current time)")
    p.add_argument("--ac-contacts", type=int, help="people in ActiveCampaign (default 80%%)")
    p.add_argument("--google-contacts", type=int, help="people in Google (default 60%%)")
    p.add_argument("--tawk-people", type=int, help="people in Tawk (default 30%%)")
    p.add_argument(
        "--website-events", type=int, help="anonymous page events (default 2 per contact)"
    )
    p.add_argument(
        "--contacts-only",
        action="store_true",
        help="contacts, holds and truth only: for million-contact benchmarks",
    )
    p.add_argument(
        "--ac-timezone",
        default=DEFAULT_TIMEZONE,
        help="ActiveCampaign account time zone: IANA name or offset like -05:00",
    )
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_seed)

    p = sub.add_parser("serve", help="serve the three emulators")
    p.add_argument("--db", required=True)
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 inside docker compose")
    p.add_argument("--public-host", help="host name clients use (default: --host, or 127.0.0.1)")
    p.add_argument("--ac-port", type=int, default=8101)
    p.add_argument("--google-port", type=int, default=8102)
    p.add_argument("--tawk-port", type=int, default=8103)
    p.add_argument("--write-connections", help="write URLs and credentials as JSON here")
    p.add_argument("--write-keyfile", help="write the Google service-account keyfile here")
    p.add_argument("--website-db", help="included in the connections file when given")
    p.add_argument("--ac-token")
    p.add_argument("--tawk-api-key")
    p.add_argument("--google-keyfile", help="accept this service account's key instead")
    p.add_argument("--google-subject")
    p.add_argument("--quiet", action="store_true", help="no request lines on stdout")
    p.set_defaults(func=_serve)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
