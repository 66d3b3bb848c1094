"""python -m local demo [--json] | lifecycle [--json] [--only NAME] | bench | fleet ... | openapi |
workflows [--check] | serve ... | cli ..."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable

from local import collect_garbage_less_often
from local.template import ROOT
from pgaudit_archiver.kinds import DatabaseKind
from pgaudit_archiver_cli import OneLineErrorParser

OPENAPI_PATH = ROOT / "api" / "openapi.json"


def _at_least(minimum: int) -> Callable[[str], int]:
    def number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    number.__name__ = f"number of at least {minimum}"
    return number


def main(argv: list[str] | None = None) -> int:
    collect_garbage_less_often()
    parser = OneLineErrorParser(prog="python -m local", description="pgaudit-archiver on the local emulation")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    demo = commands.add_parser("demo", help="onboard a cluster end to end and show its audit lines in the archive")
    demo.add_argument("--json", action="store_true", help="print one JSON document instead of the story")
    demo.add_argument(
        "--database",
        choices=[kind.value for kind in DatabaseKind],
        default="aurora-cluster",
        help="its kind (default aurora-cluster)",
    )
    lifecycle = commands.add_parser(
        "lifecycle",
        help="each life event of an onboarded database, then whether its audit lines still reach the archive",
        description="One scenario per life event (upgrades, blue/green, rename, restore, global secondary, delete) on "
        "the emulation with real PostgreSQL. Exit status 0 when every scenario is ok, 1 when any is not.",
    )
    lifecycle.add_argument("--json", action="store_true", help="print one JSON document")
    lifecycle.add_argument("--only", metavar="NAME[,NAME]", help="these scenarios only (major-upgrade: all three)")
    commands.add_parser("bench", help="wall time of onboardings and AWS call counts")
    commands.add_parser("openapi", help="write api/openapi.json from the API's routes")
    workflows = commands.add_parser("workflows", help="write statemachine/*.asl.json from statemachine/spec.py")
    workflows.add_argument("--check", action="store_true", help="fail if a committed file differs; write nothing")
    fleet = commands.add_parser("fleet", help="adopt and reconcile a fleet, with AWS's rate limits, on real time")
    fleet.add_argument("--accounts", type=_at_least(1), default=5, help="source accounts (at least 1; default 5)")
    fleet.add_argument("--clusters", type=_at_least(1), default=60, help="clusters over all accounts (default 60)")
    fleet.add_argument(
        "--reconcile-sources", type=_at_least(0), default=0, help="registered sources seeded for the 2nd run"
    )
    fleet.add_argument(
        "--real-sources", type=_at_least(0), default=0, help="sources with real pipelines, seeded, then reconciled"
    )
    fleet.add_argument("--silent", type=_at_least(0), default=0, help="of the real sources, made silent")
    fleet.add_argument("--json", action="store_true", help="print one JSON document")
    fleet.add_argument(
        "--outside-firehose-rps", type=float, default=2.0, help="another tool's Firehose control-plane calls a second"
    )
    commands.add_parser("serve", add_help=False, help="the API on 127.0.0.1, state kept while it runs (serve --help)")
    commands.add_parser("cli", add_help=False, help="pgaudit-archiver's command line on the emulation (cli --help)")
    # SIGTERM unwinds like Ctrl-C, so the PostgreSQL servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    argv = sys.argv[1:] if argv is None else argv
    # Each command imports what it needs once its arguments are parsed: the emulation takes seconds to import, and a
    # mistyped argument should not wait for it.
    if argv[:1] == ["cli"]:
        from local import cli  # noqa: PLC0415

        # Everything after `cli` belongs to the product's own parser, --help included.
        return cli.main(argv[1:])
    if argv[:1] == ["serve"]:
        from local import serve  # noqa: PLC0415

        return serve.main(argv[1:])
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        from local.demo import run_demo  # noqa: PLC0415

        return run_demo(arguments.json, arguments.database)
    if arguments.command == "lifecycle":
        from local.lifecycle import main as run_lifecycle  # noqa: PLC0415

        return run_lifecycle(arguments.json, arguments.only)
    if arguments.command == "fleet":
        from local.fleet import main as run_fleet  # noqa: PLC0415

        return run_fleet(
            arguments.accounts, arguments.clusters, arguments.reconcile_sources, arguments.json,
            arguments.outside_firehose_rps, arguments.real_sources, arguments.silent,
        )  # fmt: skip
    if arguments.command == "openapi":
        # Imported here, not at the top: a handler module must first be imported under its function's
        # environment (Powertools reads its settings at import), which the emulation sets up for demo and bench.
        import local.world  # noqa: F401, PLC0415
        from functions.api.app import openapi_document  # noqa: PLC0415

        OPENAPI_PATH.write_text(openapi_document() + "\n")
        return 0
    if arguments.command == "workflows":
        return write_workflows(check=arguments.check)
    from local.bench import run_bench  # noqa: PLC0415

    return run_bench()


def write_workflows(*, check: bool) -> int:
    from statemachine.asl import stale  # noqa: PLC0415
    from statemachine.spec import WORKFLOWS  # noqa: PLC0415

    differing = stale(WORKFLOWS, ROOT / "statemachine", write=not check)
    if check and differing:
        print(f"{', '.join(differing)}: not what statemachine/spec.py generates; edit the spec, then run "
              "`make workflows` (python -m local workflows)", file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
