"""Reconciliation against in-memory fakes: a source onboarded by the steps themselves, then tampered with."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pgaudit_archiver.aws.rds import cluster_facts
from pgaudit_archiver.errors import AwsRequestError, SourceAccessDeniedError, ThrottledError
from pgaudit_archiver.events import SegmentProgress
from pgaudit_archiver.models import Drift, Source
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.steps.delivery_stream import ensure_delivery_stream
from pgaudit_archiver.steps.destination import ensure_destination
from pgaudit_archiver.steps.destination_role import ensure_destination_role
from pgaudit_archiver.steps.log_export import enable_log_export
from pgaudit_archiver.steps.parameter_group import configure_parameter_group
from pgaudit_archiver.steps.reconcile import (
    Verification,
    coverage,
    find_drift,
    plan_run,
    reconcile_source,
    verify_segment,
)
from pgaudit_archiver.steps.subscription_filter import ensure_subscription_filter
from tests.unit.fakes import (
    SOURCE,
    FakeArchiveLogs,
    FakeFirehose,
    FakeIam,
    FakeLogs,
    FakeRds,
    FakeRegistry,
    FakeRoleHolders,
    FakeStepFunctions,
    resolved,
    stack_settings,
)

GROUP = "/aws/rds/cluster/orders/postgresql"
NAME = "pgaudit-111122223333-orders"
ROLE = "pgaudit-dest-eu-west-1-111122223333"
ROLE_ARN = f"arn:aws:iam::123456789012:role/pgaudit-archiver/{ROLE}"


@dataclass
class Pipeline:
    rds: FakeRds = field(default_factory=FakeRds)
    logs: FakeLogs = field(default_factory=FakeLogs)
    archive_logs: FakeArchiveLogs = field(default_factory=FakeArchiveLogs)
    firehose: FakeFirehose = field(default_factory=lambda: FakeFirehose(creating_polls=0))
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    stepfunctions: FakeStepFunctions = field(default_factory=FakeStepFunctions)
    iam: FakeIam = field(default_factory=FakeIam)
    holders: FakeRoleHolders = field(default_factory=FakeRoleHolders)

    def onboard(self, **options: Any) -> None:
        """What the onboarding workflow does, step by step, for `orders`."""
        settings, request = stack_settings(), resolved(**options)
        self.rds.add_cluster("orders")
        self.logs.add_group(GROUP)  # the owner's, with their consent
        ensure_delivery_stream(self.firehose, settings, SOURCE, 0)
        stream = ensure_delivery_stream(self.firehose, settings, SOURCE, 1).resources["delivery_stream_arn"]
        role = ensure_destination_role(self.iam, self.holders, settings, SOURCE, stream).resources[
            "destination_role_arn"]  # fmt: skip
        destination = ensure_destination(self.archive_logs, settings, SOURCE, stream, role, False)
        configure_parameter_group(self.rds, request, cluster_facts(self.rds.clusters["orders"], 1))
        self.rds.reboot_instance("orders-1")
        enable_log_export(self.rds, self.logs, request, 0, 3)
        ensure_subscription_filter(self.logs, request, destination.resources["destination_arn"])
        self.registry.finish(SOURCE, "active", {"request": request.model_dump(mode="json")})

    def find(self, source: Source, request: dict[str, Any], full: bool = True) -> list[Drift]:
        return find_drift(
            source, request, stack_settings(), self.rds, self.logs, self.archive_logs, self.firehose, self.iam, full
        )

    def reconcile(self, auto_repair: bool = False, **settings: str) -> Verification:
        service = ClusterService(self.registry, self.stepfunctions, "arn:aws:states:::stateMachine:onboard", "", ())
        return reconcile_source(SOURCE, stack_settings(**settings), self.registry, service, self.find, auto_repair)

    def item(self) -> dict[str, Any]:
        item = self.registry.get(SOURCE)
        assert item is not None
        return item


def onboarded(**options: Any) -> Pipeline:
    pipeline = Pipeline()
    pipeline.onboard(**options)
    return pipeline


def test_reconcile_untouched_pipeline_has_no_drift_and_stays_active() -> None:
    pipeline = onboarded()

    result = pipeline.reconcile()

    assert (result.status, result.drift) == ("active", ())
    assert pipeline.item()["last_verification"]["drift"] == []


@pytest.mark.parametrize(
    ("tamper", "kind", "message"),
    [
        (
            lambda p: p.logs.filters[GROUP].clear(),
            "subscription-filter-missing",
            f"subscription filter pgaudit-archiver is missing from {GROUP}",
        ),
        (
            lambda p: p.logs.filters[GROUP][0].update(filterPattern="ERROR"),
            "subscription-filter-pattern",
            f"subscription filter pattern on {GROUP} is 'ERROR', not '\"AUDIT:\"'",
        ),
        (
            lambda p: p.rds.disable_log_export("orders", "postgresql"),
            "log-export-off",
            "the postgresql log export is off",
        ),
        (
            lambda p: p.rds.groups["pgaudit-orders"]["parameters"].update(shared_preload_libraries="pg_cron"),
            "pgaudit-not-preloaded",
            "pgaudit is not in shared_preload_libraries of pgaudit-orders",
        ),
        (
            lambda p: p.rds.groups["pgaudit-orders"]["parameters"].update({"pgaudit.log": "none"}),
            "pgaudit-log",
            "pgaudit.log in pgaudit-orders is 'none', not 'ddl,role,write'",
        ),
        (lambda p: p.archive_logs.destinations.clear(), "destination-missing", f"destination {NAME} is missing"),
        (
            lambda p: p.archive_logs.destinations[NAME].update(accessPolicy=json.dumps({"Statement": []})),
            "destination-policy",
            f"the access policy of destination {NAME} was changed",
        ),
        (
            lambda p: p.archive_logs.destinations[NAME].update(roleArn="arn:aws:iam::123456789012:role/other"),
            "destination-role",
            f"destination {NAME} delivers with role arn:aws:iam::123456789012:role/other, not {ROLE_ARN}",
        ),
        (lambda p: p.iam.roles.clear(), "destination-role-missing", f"destination role {ROLE} is missing"),
        (
            # what onboarding the same account and cluster id from us-east-1 did to the shared role before
            lambda p: p.iam.roles[ROLE]["trust"]["Statement"][0].update(
                Principal={"Service": "logs.us-east-1.amazonaws.com"}
            ),
            "destination-role-trust",
            f"destination role {ROLE} trusts logs.us-east-1.amazonaws.com, not logs.eu-west-1.amazonaws.com for "
            "the source only",
        ),
        (lambda p: p.firehose.streams.clear(), "delivery-stream-missing", f"delivery stream {NAME} is missing"),
        (
            lambda p: p.firehose.streams[NAME].update(DeliveryStreamStatus="DELETING"),
            "delivery-stream-status",
            f"delivery stream {NAME} is DELETING",
        ),
        (
            lambda p: p.firehose.streams[NAME]["Destinations"][0]["ExtendedS3DestinationDescription"].update(
                Prefix="tampered/"
            ),
            "delivery-stream-settings",
            f"delivery stream {NAME} changed: Prefix",
        ),
        (lambda p: p.rds.clusters.clear(), "cluster-missing", "cluster orders no longer exists"),
        (
            lambda p: p.rds.set_instance_group(
                "orders-1", "owners", {"shared_preload_libraries": "pg_stat_statements"}
            ),
            "instance-pgaudit-not-preloaded",
            "DB parameter group owners of instance orders-1 overrides shared_preload_libraries without pgaudit "
            "('pg_stat_statements')",
        ),
        (
            lambda p: p.rds.set_instance_group("orders-1", "owners", {"pgaudit.log": "read"}),
            "instance-pgaudit-log",
            "DB parameter group owners of instance orders-1 overrides pgaudit.log with 'read', not 'ddl,role,write'",
        ),
    ],
)
def test_reconcile_tampered_pipeline_is_recorded_drifted_naming_what_changed(
    tamper: Callable[[Pipeline], object], kind: str, message: str
) -> None:
    pipeline = onboarded()
    tamper(pipeline)

    result = pipeline.reconcile()

    assert result.status == "drifted"
    assert [(d.kind, d.message) for d in result.drift] == [(kind, message)]
    verification = pipeline.item()["last_verification"]
    assert verification["drift"] == [message]
    assert verification["drift_details"][0]["kind"] == kind
    assert pipeline.item()["status"] == "drifted"


def test_reconcile_filter_to_another_destination_says_where_it_points() -> None:
    pipeline = onboarded()
    pipeline.logs.filters[GROUP][0]["filterName"] = "pgaudit-archiver"
    pipeline.logs.filters[GROUP][0]["destinationArn"] = "arn:aws:logs:eu-west-1:9:destination:elsewhere"

    [drift] = pipeline.reconcile().drift

    assert drift.kind == "subscription-filter-destination"
    assert drift.actual == "arn:aws:logs:eu-west-1:9:destination:elsewhere"
    assert drift.expected == f"arn:aws:logs:eu-west-1:123456789012:destination:{NAME}"


def test_reconcile_drift_is_repaired_by_onboarding_again_when_auto_repair_allows() -> None:
    pipeline = onboarded()
    pipeline.logs.filters[GROUP].clear()

    result = pipeline.reconcile(auto_repair=True)

    assert result.status == "onboarding"
    assert result.repair_execution_arn in pipeline.stepfunctions.executions
    started = pipeline.stepfunctions.executions[result.repair_execution_arn]["input"]
    assert (started["cluster_id"], started["pgaudit_log"]) == ("orders", "ddl,role,write")
    assert pipeline.item()["last_verification"]["repair"] == result.repair_execution_arn


def test_reconcile_instance_group_override_is_not_repaired_by_an_onboarding_bound_to_stop_on_it() -> None:
    pipeline = onboarded()
    pipeline.rds.set_instance_group("orders-1", "owners", {"pgaudit.log": "none"})
    pipeline.logs.filters[GROUP].clear()

    result = pipeline.reconcile(auto_repair=True)

    assert result.status == "drifted"
    assert [d.kind for d in result.drift] == ["subscription-filter-missing", "instance-pgaudit-log"]
    assert pipeline.stepfunctions.executions == {}


def test_reconcile_pending_reboot_known_at_onboarding_is_not_drift() -> None:
    pipeline = onboarded()
    pipeline.rds.clusters["orders"]["DBClusterMembers"][0]["DBClusterParameterGroupStatus"] = "pending-reboot"
    assert [d.kind for d in pipeline.reconcile().drift] == ["pgaudit-not-loaded"]

    pipeline.registry.finish(SOURCE, "pending-reboot", {})
    result = pipeline.reconcile()

    assert (result.status, result.drift) == ("pending-reboot", ())


def test_a_pending_reboot_source_its_owner_rebooted_gets_its_onboarding_finished_with_auto_repair() -> None:
    # Onboarding left it pending-reboot ("reboot, then onboard again"); the owner rebooted: the members are in sync.
    pipeline = onboarded(reboot="deferred")
    pipeline.registry.finish(SOURCE, "pending-reboot", {})  # type: ignore[arg-type]

    reported = pipeline.reconcile()  # without AutoRepair: as it was
    finished = pipeline.reconcile(auto_repair=True)

    assert (reported.status, reported.drift) == ("pending-reboot", ())
    assert pipeline.stepfunctions.executions.keys() == {finished.repair_execution_arn}
    assert finished.status == "onboarding" and finished.drift == ()
    started = pipeline.stepfunctions.executions[finished.repair_execution_arn]["input"]
    assert (started["cluster_id"], started["reboot"]) == ("orders", "deferred")  # the recorded request, again
    assert pipeline.item()["last_verification"]["finish_onboarding"] == finished.repair_execution_arn


def test_a_pending_reboot_source_not_rebooted_yet_starts_nothing_even_with_auto_repair() -> None:
    pipeline = onboarded(reboot="deferred")
    pipeline.rds.clusters["orders"]["DBClusterMembers"][0]["DBClusterParameterGroupStatus"] = "pending-reboot"
    pipeline.registry.finish(SOURCE, "pending-reboot", {})  # type: ignore[arg-type]

    result = pipeline.reconcile(auto_repair=True)

    assert (result.status, result.drift) == ("pending-reboot", ())
    assert pipeline.stepfunctions.executions == {}


def test_reconcile_source_that_took_its_role_away_is_drift_that_cannot_be_verified() -> None:
    pipeline = onboarded()

    def denied(source: Source, request: dict[str, Any], full: bool) -> list[Drift]:
        raise SourceAccessDeniedError("cannot assume arn:aws:iam::111122223333:role/x", aws_error_code="AccessDenied")

    service = ClusterService(pipeline.registry, pipeline.stepfunctions, "arn:onboard", "", ())
    result = reconcile_source(SOURCE, stack_settings(), pipeline.registry, service, denied, False)

    [drift] = result.drift
    assert drift.kind == "unverifiable"
    assert drift.message.startswith("cannot verify: cannot assume arn:aws:iam::111122223333:role/x")


def test_reconcile_refused_aws_call_fails_the_step_instead_of_calling_it_drift() -> None:
    pipeline = onboarded()
    pipeline.rds.refuse("DescribeDBClusters", AwsRequestError("refused", aws_error_code="AccessDenied"))
    with pytest.raises(AwsRequestError):
        pipeline.reconcile()
    assert "last_verification" not in pipeline.item()


def test_reconcile_canary_missing_after_the_bound_is_drift() -> None:
    pipeline = onboarded(canary=True, pgaudit_log="ddl,role,write,read")
    sent = (datetime.now(tz=UTC) - timedelta(hours=2)).isoformat(timespec="milliseconds")
    pipeline.registry.set_fields(SOURCE, {"canary": {"id": "c" * 32, "sent_at": sent}})

    [drift] = pipeline.reconcile(CANARY_BOUND_SECONDS="1800").drift

    assert drift.kind == "canary-late"
    assert drift.message.startswith(f"canary {'c' * 32} has not reached the archive after 72")


def _registry_of(statuses: list[str]) -> FakeRegistry:
    registry = FakeRegistry()
    for index, status in enumerate(statuses):
        registry.finish(Source(account_id="111122223333", region="eu-west-1", cluster_id=f"c{index:05d}"), status, {})
    return registry


def _run(
    registry: FakeRegistry, segments: int, verify: Any, turns_of: int = 7, page_size: int = 4
) -> tuple[list[SegmentProgress], int]:
    """A whole run as the state machine drives it: each segment's invocations until done; each invocation runs out
    of time after `turns_of` sources. Returns the segments' last progress and the number of invocations."""
    plan = plan_run(registry, segments, None)
    finished, invocations = [], 0
    for start in plan["segments"]:
        progress = SegmentProgress.model_validate(start)
        while not progress.done:
            invocations += 1
            assert invocations < 10_000, "a segment that never ends: an invocation made no progress"
            progress = verify_segment(progress, registry, verify, _time_for(turns_of), page_size)
        finished.append(progress)
    return finished, invocations


def _time_for(turns: int) -> Any:
    """An invocation's clock that runs out after `turns` questions."""
    budget = iter(range(turns))
    return lambda: next(budget, None) is None


def _verification(registry: FakeRegistry, status: str = "active") -> Any:
    seen: list[str] = []

    def verify(source: Source) -> Verification:
        seen.append(source.cluster_id)
        registry.finish(source, status, {})  # the run changes statuses while it scans
        return Verification(source=source, drift=(), status=status)

    verify.seen = seen  # type: ignore[attr-defined]
    return verify


def test_a_run_verifies_every_active_pending_and_drifted_source_once_far_beyond_500() -> None:
    statuses = ["active", "pending-reboot", "drifted", "offboarded", "failed", "onboarding"] * 200
    registry = _registry_of(statuses)
    verify = _verification(registry, status="drifted")  # each check moves the source to another status

    progress, invocations = _run(registry, segments=3, verify=verify)

    expected = sorted(f"c{i:05d}" for i, status in enumerate(statuses) if status in ("active", "pending-reboot",
                                                                                    "drifted"))  # fmt: skip
    assert sorted(verify.seen) == expected  # 600 sources: none skipped, none twice
    summary = coverage(600, progress)
    assert summary == {"registered": 600, "checked": 600, "drifted": 600, "repairing": 0, "unverified": 0,
                       "silent": 0, "canaries_late": 0, "longest_without_delivery_minutes": 0,
                       "unfinished_segments": 0, "coverage": 100.0}  # fmt: skip
    assert invocations >= 600 // 7  # each invocation stopped when its time ran out and the next resumed


def test_an_invocation_out_of_time_from_its_start_still_checks_a_source_so_a_run_always_ends() -> None:
    registry = _registry_of(["offboarded"] * 9 + ["active"] * 3)  # the first page holds no source to check
    verify = _verification(registry)

    progress, invocations = _run(registry, segments=1, verify=verify, turns_of=0, page_size=4)

    assert sorted(verify.seen) == ["c00009", "c00010", "c00011"] and progress[0].done
    # two pages with nothing to check, one source per invocation, then the segment's end found
    assert invocations == 6


def test_plan_counts_the_sources_a_run_must_check_and_gives_one_progress_per_segment() -> None:
    registry = _registry_of(["active", "offboarded", "drifted", "failed"])

    plan = plan_run(registry, 4, None)

    assert plan["registered"] == 2
    assert [p["segment"] for p in plan["segments"]] == [0, 1, 2, 3]
    assert {p["segments"] for p in plan["segments"]} == {4}


def test_a_run_for_one_source_checks_only_it() -> None:
    registry = _registry_of(["active", "active"])
    verify = _verification(registry)
    one = Source(account_id="111122223333", region="eu-west-1", cluster_id="c00001")

    [start] = plan_run(registry, 8, one)["segments"]
    progress = verify_segment(SegmentProgress.model_validate(start), registry, verify, lambda: False)

    assert verify.seen == ["c00001"] and progress.done and progress.checked == 1


def test_a_source_that_cannot_be_checked_is_counted_and_lowers_the_coverage() -> None:
    registry = _registry_of(["active"] * 10)

    def verify(source: Source) -> Verification:
        if source.cluster_id == "c00003":
            raise ThrottledError("DescribeDeliveryStream throttled past every retry")
        return Verification(source=source, drift=(), status="active")

    progress, _ = _run(registry, segments=2, verify=verify)

    summary = coverage(10, progress)
    assert (summary["checked"], summary["unverified"], summary["coverage"]) == (9, 1, 90.0)


def test_a_source_whose_canary_is_late_counts_as_silent_whether_repaired_or_left_drifted() -> None:
    registry = _registry_of(["active"] * 6)
    late = Drift(kind="canary-late", resource="c1", expected="in the archive within 1800 s", actual="4000 s")
    other = Drift(kind="log-export-off", resource="c2", expected="postgresql", actual="none")

    def verify(source: Source) -> Verification:
        drift = {"c00001": (late,), "c00002": (other,), "c00003": (late, other)}.get(source.cluster_id, ())
        repair = "arn:aws:states:eu-west-1:123456789012:execution:x:y" if source.cluster_id == "c00003" else None
        return Verification(source=source, drift=drift, status="drifted" if drift else "active",
                            repair_execution_arn=repair)  # fmt: skip

    progress, _ = _run(registry, segments=2, verify=verify)

    summary = coverage(6, progress)
    assert (summary["silent"], summary["canaries_late"], summary["drifted"], summary["repairing"]) == (2, 2, 2, 1)


def test_an_unfinished_segment_shows_in_the_coverage() -> None:
    done = SegmentProgress(segment=0, segments=2, done=True, checked=5)
    failed_midway = SegmentProgress(segment=1, segments=2, cursor="k", checked=2)

    summary = coverage(10, [done, failed_midway])

    assert (summary["checked"], summary["unfinished_segments"], summary["coverage"]) == (7, 1, 70.0)
    assert coverage(0, [])["coverage"] == 100.0


OWNER_SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:pgaudit-archiver/orders-AbCdEf"


def _reconcile_extension(pipeline: Pipeline, present: bool) -> tuple[Verification, list[tuple[str, str]]]:
    checks: list[tuple[str, str]] = []

    def extension_present(database: str, secret_arn: str) -> bool:
        checks.append((database, secret_arn))
        return present

    service = ClusterService(pipeline.registry, pipeline.stepfunctions, "arn:onboard", "", ())
    result = reconcile_source(
        SOURCE, stack_settings(), pipeline.registry, service, pipeline.find, False, None, extension_present
    )
    return result, checks


def test_reconcile_extension_created_with_the_owners_secret_and_dropped_since_is_drift() -> None:
    pipeline = onboarded()
    extension = {"status": "created", "database": "app", "sql": None, "reason": None, "secret_arn": OWNER_SECRET}
    pipeline.registry.set_fields(SOURCE, {"extension": extension})

    result, checks = _reconcile_extension(pipeline, present=False)

    assert checks == [("app", OWNER_SECRET)]
    [drift] = result.drift
    assert (drift.kind, drift.message) == ("extension-missing", "the pgaudit extension is missing from database app")
    assert _reconcile_extension(pipeline, present=True)[0].drift == ()


def test_reconcile_extension_left_to_the_owner_is_not_checked_nor_drift_and_says_so() -> None:
    pipeline = onboarded()
    extension = {"status": "manual", "database": "app", "sql": "CREATE EXTENSION IF NOT EXISTS pgaudit;",
                 "reason": "no secret ... is tagged", "secret_arn": None}  # fmt: skip
    pipeline.registry.set_fields(SOURCE, {"extension": extension})

    result, checks = _reconcile_extension(pipeline, present=False)

    assert (result.status, result.drift, checks) == ("active", (), [])
    note = pipeline.item()["last_verification"]["extension_not_checked"]
    assert note == "the owner runs `CREATE EXTENSION IF NOT EXISTS pgaudit;` in app: no secret ... is tagged"


def test_a_run_reports_the_longest_any_source_went_without_a_delivered_record_across_segments() -> None:
    registry = _registry_of(["active"] * 5)
    quiet = {"c00001": 30, "c00003": 900, "c00004": None}  # c00004: nothing known of it

    def verify(source: Source) -> Verification:
        minutes = quiet.get(source.cluster_id, 5)
        return Verification(source=source, drift=(), status="active", minutes_without_delivery=minutes)

    progress, _ = _run(registry, segments=3, verify=verify)

    assert coverage(5, progress)["longest_without_delivery_minutes"] == 900  # the most, not the sum
