"""Liveness per source (the transform's last delivery, `silent` drift) and pgaudit.log set per database or role."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.models import Drift, Source
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.steps.liveness import DeliveryClock, minutes_without_delivery, silence
from pgaudit_archiver.steps.reconcile import reconcile_source
from pgaudit_archiver.steps.role_settings import PgauditOverride, override_drift
from tests.unit.fakes import SOURCE, FakeRegistry, FakeStepFunctions, stack_settings

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LONG_AGO = (NOW - timedelta(days=3)).isoformat(timespec="seconds")
RECENTLY = (NOW - timedelta(minutes=5)).isoformat(timespec="seconds")


class Asked:
    """A cluster status that counts how often it was asked (each ask is a DescribeDBClusters)."""

    def __init__(self, status: str | None) -> None:
        self.status, self.asks = status, 0

    def __call__(self) -> str | None:
        self.asks += 1
        return self.status


def item(**fields: Any) -> dict[str, Any]:
    return {"cluster_id": "orders", "created_at": LONG_AGO, "request": {"canary": False}, **fields}


def test_silence_a_source_that_delivered_recently_is_not_silent_and_costs_no_rds_call() -> None:
    status = Asked("available")
    assert silence(item(last_delivery=RECENTLY), status, NOW, 60) is None
    assert status.asks == 0


def test_silence_an_available_database_with_nothing_delivered_past_the_threshold_is_silent() -> None:
    drift = silence(item(last_delivery=LONG_AGO), Asked("available"), NOW, 60)

    assert drift is not None and drift.kind == "silent"
    assert drift.message == (
        f"no audit record from orders reached the archive within 60 minutes: the last at {LONG_AGO}; no delivery "
        "canary arrived to tell an idle database from a silent one"
    )


def test_silence_a_source_that_never_delivered_counts_from_its_onboarding() -> None:
    assert silence(item(created_at=RECENTLY), Asked("available"), NOW, 60) is None
    drift = silence(item(), Asked("available"), NOW, 60)
    assert drift is not None and f"none since onboarding began at {LONG_AGO}" in drift.message


@pytest.mark.parametrize("status", ["stopped", "starting", "modifying", None])
def test_silence_a_database_not_available_is_not_expected_to_deliver(status: str | None) -> None:
    assert silence(item(last_delivery=LONG_AGO), Asked(status), NOW, 60) is None


def test_silence_a_canary_that_arrived_within_the_threshold_proves_the_database_idle_not_silent() -> None:
    canary = {"id": "c" * 32, "sent_at": RECENTLY, "arrived_at": RECENTLY}
    assert silence(item(last_delivery=LONG_AGO, canary=canary), Asked("available"), NOW, 60) is None


def test_silence_a_canary_in_flight_is_left_to_its_bound_and_an_old_arrival_proves_nothing() -> None:
    in_flight = {"id": "c" * 32, "sent_at": LONG_AGO}
    assert silence(item(last_delivery=LONG_AGO, canary=in_flight), Asked("available"), NOW, 60) is None
    arrived_long_ago = {**in_flight, "arrived_at": LONG_AGO}
    assert silence(item(last_delivery=LONG_AGO, canary=arrived_long_ago), Asked("available"), NOW, 60) is not None


def test_silence_zero_minutes_turns_the_check_off() -> None:
    assert silence(item(last_delivery=LONG_AGO), Asked("available"), NOW, 0) is None


class DeliveryRegistry:
    def __init__(self) -> None:
        self.writes: list[tuple[Source, datetime, datetime]] = []

    def delivered(self, source: Source, at: datetime, unless_since: datetime) -> bool:
        self.writes.append((source, at, unless_since))
        return True


def test_delivery_clock_writes_each_source_at_most_once_per_interval_with_the_interval_as_condition() -> None:
    registry, clock = DeliveryRegistry(), DeliveryClock(timedelta(minutes=10))
    other = SOURCE.model_copy(update={"cluster_id": "billing"})

    assert clock.record(registry, [SOURCE, other], NOW) == 2  # type: ignore[arg-type]
    assert clock.record(registry, [SOURCE], NOW + timedelta(minutes=9)) == 0  # type: ignore[arg-type]
    assert clock.record(registry, [SOURCE], NOW + timedelta(minutes=10)) == 1  # type: ignore[arg-type]

    assert registry.writes[-1] == (SOURCE, NOW + timedelta(minutes=10), NOW)


def test_delivery_clock_a_refused_write_never_fails_the_delivery_and_is_tried_again_next_time() -> None:
    class Throttled(DeliveryRegistry):
        def delivered(self, source: Source, at: datetime, unless_since: datetime) -> bool:
            super().delivered(source, at, unless_since)
            raise ThrottledError("throttled", aws_error_code="ProvisionedThroughputExceededException")

    registry, clock = Throttled(), DeliveryClock(timedelta(minutes=10))

    assert clock.record(registry, [SOURCE], NOW) == 0  # type: ignore[arg-type]
    assert clock.record(registry, [SOURCE], NOW + timedelta(minutes=1)) == 0  # type: ignore[arg-type]
    assert len(registry.writes) == 2


def reconcile(
    registry: FakeRegistry, status: Asked, auto_repair: bool = True, found: tuple[Drift, ...] = (), **overrides: Any
) -> Any:
    service = ClusterService(registry, FakeStepFunctions(), "arn:aws:states:::stateMachine:onboard", "", ())
    return reconcile_source(
        SOURCE, stack_settings(SILENT_AFTER_MINUTES="60"), registry, service, lambda source, request, full: [*found],
        auto_repair, cluster_status=status, **overrides,
    )  # fmt: skip


def test_reconcile_a_silent_source_is_drifted_counted_and_not_repaired_by_onboarding_again() -> None:
    registry = FakeRegistry()
    registry.finish(SOURCE, "active", {"request": {"pgaudit_log": "ddl,role,write"}, "last_delivery": "2026-01-01"})

    result = reconcile(registry, Asked("available"))

    assert [entry.kind for entry in result.drift] == ["silent"]
    assert (result.status, result.repair_execution_arn) == ("drifted", None)


def test_reconcile_a_source_waiting_for_its_reboot_is_not_silent() -> None:
    registry = FakeRegistry()
    registry.finish(SOURCE, "pending-reboot", {"request": {}, "last_delivery": "2026-01-01T00:00:00+00:00"})
    not_loaded = Drift(kind="pgaudit-not-loaded", resource="orders-1")  # what its members' pending reboot shows

    result = reconcile(registry, Asked("available"), found=(not_loaded,))

    assert (result.drift, result.status) == ((), "pending-reboot")


def test_reconcile_overrides_below_the_sources_classes_are_drift_left_to_the_owner() -> None:
    registry = FakeRegistry()
    extension = {"status": "created", "database": "appdb", "secret_arn": "arn:aws:secretsmanager:x"}
    registry.finish(SOURCE, "active", {"request": {"pgaudit_log": "ddl,role,write"}, "extension": extension,
                                       "last_delivery": datetime.now(tz=UTC).isoformat()})  # fmt: skip
    read: list[tuple[str, str]] = []

    def overrides(database: str, secret_arn: str) -> list[PgauditOverride]:
        read.append((database, secret_arn))
        return [PgauditOverride(database="appdb", role="", value="none")]

    result = reconcile(registry, Asked("available"), extension_present=lambda d, s: True, pgaudit_overrides=overrides)

    assert read == [("appdb", "arn:aws:secretsmanager:x")]
    assert [entry.kind for entry in result.drift] == ["pgaudit-override"]
    assert (result.status, result.repair_execution_arn) == ("drifted", None)


def test_reconcile_without_the_owners_database_user_says_overrides_cannot_be_seen() -> None:
    registry = FakeRegistry()
    manual = {"status": "manual", "database": "appdb", "sql": "CREATE EXTENSION IF NOT EXISTS pgaudit;"}
    registry.finish(SOURCE, "active", {"request": {}, "extension": manual, "last_delivery": NOW.isoformat()})

    reconcile(registry, Asked("available"), extension_present=lambda d, s: True, pgaudit_overrides=lambda d, s: [])

    note = registry.items[next(iter(registry.items))]["last_verification"]["pgaudit_overrides_not_checked"]
    assert "cannot be seen" in note


@pytest.mark.parametrize(
    ("override", "reset"),
    [
        (PgauditOverride(database="appdb", role="", value="none"), "ALTER DATABASE appdb RESET pgaudit.log;"),
        (PgauditOverride(database="", role="app", value="none"), "ALTER ROLE app RESET pgaudit.log;"),
        (PgauditOverride(database='"My DB"', role="app", value="ddl"),
         'ALTER ROLE app IN DATABASE "My DB" RESET pgaudit.log;'),
        (PgauditOverride(database="", role="", value="all,-ddl"), "ALTER ROLE ALL RESET pgaudit.log;"),
    ],
)  # fmt: skip
def test_override_drift_names_the_reset_that_removes_each_override(override: PgauditOverride, reset: str) -> None:
    [drift] = override_drift([override], "ddl,role,write")
    assert (drift.expected, drift.actual) == (reset, override.value)


@pytest.mark.parametrize("value", ["ddl,role,write", "all", "write,ddl,role,read", "all,-misc"])
def test_override_drift_an_override_auditing_at_least_the_expected_classes_is_not_drift(value: str) -> None:
    assert override_drift([PgauditOverride(database="appdb", role="", value=value)], "ddl,role,write") == []


def test_minutes_without_delivery_count_from_the_last_delivery_else_from_onboarding() -> None:
    assert minutes_without_delivery(item(last_delivery=RECENTLY), NOW) == 5
    assert minutes_without_delivery(item(), NOW) == 3 * 24 * 60
    assert minutes_without_delivery({}, NOW) is None
