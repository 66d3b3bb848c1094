"""`pgaudit-archiver --local ...`: the command line against the emulation, with the named cluster created in it."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any, TextIO

from local.world import SOURCE_ACCOUNT, World


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


def run_locally(arguments: argparse.Namespace, run: Callable[..., int], out: TextIO) -> int:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    account = getattr(arguments, "account_id", None) or SOURCE_ACCOUNT
    with World(source_accounts=(account,)) as world:
        arguments.region = world.region
        if getattr(arguments, "cluster_id", None):
            world.create_cluster(arguments.cluster_id, account=account)
        api = LocalApi(world, account, f"arn:aws:sts::{account}:assumed-role/local-user/cli")
        return run(arguments, api, out, sleep=lambda _: None)
