"""How often reconciliation checks a source's archive side: every source once in FULL_CHECK_EVERY_RUNS hourly runs,
the runs spread evenly, and at once whenever there is reason to."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pgaudit_archiver.errors import AwsRequestError
from pgaudit_archiver.steps import reconcile
from pgaudit_archiver.steps.check_cadence import FULL_CHECK_EVERY_RUNS, full_check_due
from tests.unit.fakes import SOURCE
from tests.unit.test_steps_reconcile import NAME, onboarded

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


def item(source_id: str, checked: datetime | None, status: str = "active", drift: list[str] | None = None):
    verification: dict[str, Any] = {"drift": drift or []}
    if checked is not None:
        verification["full_checked_at"] = checked.isoformat(timespec="seconds")
    return {"source_id": source_id, "status": status, "last_verification": verification}


def test_each_source_is_checked_fully_once_in_every_cycle_of_hourly_runs() -> None:
    ids = [f"111122223333#eu-west-1#c{i}" for i in range(400)]
    runs = [NOW + timedelta(hours=h) for h in range(FULL_CHECK_EVERY_RUNS)]

    checked = Counter(i for i in ids for run in runs if full_check_due(item(i, run - timedelta(hours=1)), run))

    assert set(checked.values()) == {1}  # each once, none twice
    per_run = [sum(full_check_due(item(i, run - timedelta(hours=1)), run) for i in ids) for run in runs]
    assert min(per_run) >= 400 / FULL_CHECK_EVERY_RUNS * 0.7  # an even share, not all at once


@pytest.mark.parametrize(
    "reason",
    [
        item("x", None),  # never checked fully
        item("x", NOW, status="drifted"),
        item("x", NOW, status="pending-reboot"),
        item("x", NOW, drift=["subscription filter missing"]),
        item("x", NOW - timedelta(hours=FULL_CHECK_EVERY_RUNS, minutes=31)),  # a run was missed
    ],
    ids=["never", "drifted", "pending-reboot", "drift-last-time", "overdue"],
)
def test_a_source_with_reason_is_checked_fully_whatever_its_turn(reason) -> None:
    assert all(full_check_due(reason, NOW + timedelta(hours=h)) for h in range(FULL_CHECK_EVERY_RUNS))


def not_its_turn(monkeypatch) -> None:
    monkeypatch.setattr(reconcile, "full_check_due", lambda item, now: False)


def test_reconcile_out_of_turn_makes_no_archive_side_call(monkeypatch) -> None:
    pipeline = onboarded()
    refused = AwsRequestError("called", aws_error_code="Unexpected")
    pipeline.firehose.refuse("DescribeDeliveryStream", refused)
    pipeline.archive_logs.refuse("DescribeDestinations", refused)
    pipeline.iam.refuse("GetRole", refused)
    not_its_turn(monkeypatch)

    result = pipeline.reconcile()

    assert (result.status, result.drift) == ("active", ())
    item = pipeline.item()
    assert item["last_verification"].get("full_checked_at") is None  # still due: the next run checks it fully


def test_reconcile_out_of_turn_with_source_side_drift_checks_the_archive_side_too(monkeypatch) -> None:
    pipeline = onboarded()
    pipeline.logs.filters.clear()  # the subscription filter removed: drift the cheap check sees
    del pipeline.archive_logs.destinations[NAME]  # and drift only the full check sees
    not_its_turn(monkeypatch)

    result = pipeline.reconcile()

    kinds = {entry.kind for entry in result.drift}
    assert {"subscription-filter-missing", "destination-missing"} <= kinds
    assert pipeline.item()["last_verification"]["full_checked_at"]


def test_reconcile_in_turn_finds_archive_side_drift_and_records_the_full_check() -> None:
    pipeline = onboarded()
    del pipeline.archive_logs.destinations[NAME]

    result = pipeline.reconcile()

    assert "destination-missing" in {entry.kind for entry in result.drift}
    assert pipeline.registry.get(SOURCE)["last_verification"]["full_checked_at"]
