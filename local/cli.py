"""`python -m local cli ...`: the product's command line against the emulation, with the named cluster created in it."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from local.world import SOURCE_ACCOUNT, World
from pgaudit_archiver_cli import build_parser, run

# What `python -m local cli adopt` finds in the account: opted in, opted out, and untagged clusters.
SAMPLE_FLEET: dict[str, dict[str, str]] = {
    "orders-db": {"pgaudit-archiver": "enabled"},
    "billing-db": {"pgaudit-archiver": "enabled"},
    "ledger-db": {"pgaudit-archiver": "enabled"},
    "scratch-db": {"pgaudit-archiver": "disabled"},
    "reporting-db": {},
}


class LocalApi:
    """The API of a World, called as the given principal (what SigV4 would prove on AWS)."""

    def __init__(self, world: World, account_id: str, principal_arn: str) -> None:
        self.world, self.account_id, self.principal_arn = world, account_id, principal_arn

    def __call__(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        response = self.world.api(method, path, caller_account=self.account_id, caller_arn=self.principal_arn,
                                  body=body, query=query, headers=headers)  # fmt: skip
        return response.status, response.body


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Parses as the product does, then runs the command on a fresh World instead of over HTTPS."""
    arguments = build_parser(prog="python -m local cli").parse_args(argv)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    account = getattr(arguments, "account_id", None) or SOURCE_ACCOUNT
    # The local user stands for the account's designated operator: it may also reduce auditing (offboard, restore).
    with World(source_accounts=(account,), parameters={"AuditReducerRoleNames": "local-user"}) as world:
        arguments.region = world.region
        if getattr(arguments, "cluster_id", None):
            world.create_cluster(arguments.cluster_id, account=account)
        if arguments.command == "adopt":  # an account with a fleet of its own to adopt
            for cluster_id, tags in SAMPLE_FLEET.items():
                world.create_cluster(cluster_id, account=account, instances=1, tags=tags)
        api = LocalApi(world, account, f"arn:aws:sts::{account}:assumed-role/local-user/cli")
        # The emulated workflow waits no real time: poll as World.wait does, not every 2 s.
        return run(arguments, api, out or sys.stdout, sleep=lambda _: time.sleep(0.02))
