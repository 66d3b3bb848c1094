"""Scheduled discovery: an adoption of each known account on a schedule, for the clusters its events missed (an
account that deployed its source stack after creating clusters, an event lost past its retries).

Known accounts are the deployment's AllowedAccountIds and every account the registry holds a source of. An
account whose adoption still runs is skipped; each adoption onboards only what is missing.
"""

from __future__ import annotations

import uuid
from typing import Any

from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.aws.stepfunctions import ArchiveStepFunctions


def known_accounts(allowed: str, registry: Registry) -> list[str]:
    accounts = {account.strip() for account in allowed.split(",") if account.strip()}
    token = None
    while True:
        items, token = registry.list(None, None, 100, token)
        accounts |= {item["account_id"] for item in items}
        if not token:
            return sorted(accounts)


def start_adoptions(
    accounts: list[str], region: str, stepfunctions: ArchiveStepFunctions, adopt_state_machine: str
) -> dict[str, Any]:
    running = stepfunctions.running_names(adopt_state_machine)
    started, skipped = [], []
    for account in accounts:
        prefix = f"adopt-{account}-{region}-"
        if any(name.startswith(prefix) for name in running):
            skipped.append(account)
            continue
        stepfunctions.start(adopt_state_machine, prefix + uuid.uuid4().hex[:8],
                            {"account_id": account, "region": region, "dry_run": False})  # fmt: skip
        started.append(account)
    return {"started": started, "still_running": skipped}
