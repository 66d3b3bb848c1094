"""How often reconciliation checks a source's archive side (its destination, the account's role, its stream).

The source side (subscription filter, log export, parameter groups) is checked at every run: its calls go to each
source account's own rate budgets. The archive side goes to budgets every source shares: DescribeDeliveryStream
alone takes one of the 3 Firehose control-plane calls a second reconciliation may use (aws/rate_budget.py), so
10,000 sources checked fully every run need 10,000 / 3 = 3,333 s, more than a `rate(1 hour)` schedule can spare.
Firehose has no batch describe (ListDeliveryStreams returns names only). So each source's archive side is checked
at one run in FULL_CHECK_EVERY_RUNS, the runs spread by a hash of the source's id so that every run takes an even
share: 10,000 / 4 / 3 = 833 s of Firehose calls a run. A source is checked fully at once whenever there is reason
to: never checked fully, not active, drifted at its last check, or its last full check older than the cadence
allows (a missed run, or a schedule other than hourly)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

FULL_CHECK_EVERY_RUNS = 4
RUN_SECONDS = 3600  # ReconcileSchedule's default, rate(1 hour): one slot of the rotation per hour
FULL_CHECK_FIELD = "full_checked_at"


def phase(source_id: str, every: int = FULL_CHECK_EVERY_RUNS) -> int:
    """Which run of each `every` checks the source fully: stable across runs and containers (not Python's hash)."""
    return int(hashlib.sha256(source_id.encode()).hexdigest()[:8], 16) % every


def full_check_due(item: dict[str, Any], now: datetime, every: int = FULL_CHECK_EVERY_RUNS) -> bool:
    if every <= 1:
        return True
    last = item.get("last_verification") or {}
    checked_at = last.get(FULL_CHECK_FIELD)
    if item.get("status") != "active" or last.get("drift") or not checked_at:
        return True
    if (now - datetime.fromisoformat(str(checked_at))).total_seconds() > (every + 0.5) * RUN_SECONDS:
        return True
    slot = int(now.timestamp() // RUN_SECONDS)
    return (slot + phase(str(item.get("source_id", "")), every)) % every == 0
