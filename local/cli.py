"""`python -m local cli ...`: the product's command line against a fresh emulation, one command and gone.

For state kept between commands, `python -m local serve` and `pgaudit-archiver --endpoint http://127.0.0.1:PORT`.
Local options (before or after the command): those of `serve` for clusters and the deployment, e.g.
`--create-demo-cluster orders-db`, `--parameter AuditReducerRoleNames=deployer`; the caller is --caller-arn, by
default an ordinary developer of the first source account.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import TextIO

from local.serve import (
    PRINCIPAL_ARN,
    LocalApi,
    LocalOptionError,
    add_world_options,
    deployed_regions_refusal,
    populate,
    world_of,
)
from pgaudit_archiver_cli import CliError, build_parser, run

__all__ = ["LocalApi", "main"]
PROG = "python -m local cli"


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Parses as the product does, then runs the command on a fresh World instead of over HTTPS."""
    out, err = out or sys.stdout, err or sys.stderr
    local = argparse.ArgumentParser(prog=PROG, add_help=False, allow_abbrev=False, usage=argparse.SUPPRESS)
    add_world_options(local, server=False)
    options, rest = local.parse_known_args(sys.argv[1:] if argv is None else argv)
    if "--local" in rest:
        print(f"{PROG}: --local is not needed here: this command always runs on the local emulation", file=err)
        return 2
    if {"-h", "--help"} & set(rest[:1]):  # the local options, then the product's
        print("local options (any position):\n" + local.format_help().strip() + "\n", file=out)
    arguments = build_parser(prog=PROG).parse_args(rest)
    if arguments.api_url or arguments.stack:
        print(f"{PROG}: error: --endpoint/--stack: this command calls its own emulation, not an API", file=err)
        return 2
    if arguments.region and arguments.region != options.stack_region:  # before the 10 s of a deployment
        print(f"{PROG}: error: {deployed_regions_refusal(arguments.region, options.stack_region)}", file=err)
        return 2
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    try:
        world = world_of(options)
    except LocalOptionError as error:
        print(f"{PROG}: error: {error}", file=err)
        return 2
    caller = arguments.caller_arn or options.default_caller_arn
    principal = PRINCIPAL_ARN.fullmatch(caller)
    if principal is None:
        print(f"{PROG}: error: --caller-arn {caller!r}: an IAM user, role or assumed-role ARN", file=err)
        return 2
    arguments.region = arguments.region or world.region
    with world:
        populate(world, options)
        api = LocalApi(world, principal.group(1), caller)
        try:
            # The emulated workflow waits no real time: poll as World.wait does, not every 2 s.
            return run(arguments, api, out, sleep=lambda _: time.sleep(0.02))
        except CliError as error:
            print(f"{PROG}: {error}", file=err)
            return 1
