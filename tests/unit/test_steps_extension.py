"""Create Extension against an in-memory RDS Data API: created, present, or the SQL for the user to run."""

from typing import Any

import pytest

from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.models import ClusterFacts
from pgaudit_archiver.steps.extension import ensure_extension
from pgaudit_archiver.steps.validate import cluster_facts
from tests.unit.fakes import FakeRds, FakeRdsData, refusal, resolved


def facts(data_api: bool = True, **cluster_options: Any) -> ClusterFacts:
    rds = FakeRds()
    return cluster_facts(rds.add_cluster("orders", data_api=data_api, **cluster_options), 1)


def test_ensure_extension_creates_pgaudit_in_the_clusters_database() -> None:
    rds_data = FakeRdsData()

    result = ensure_extension(rds_data, resolved(), facts(), ())

    assert (result.status, result.database) == ("created", "app")
    assert result.changes == ("created extension pgaudit in app",)
    assert rds_data.statements[-1] == ("app", "CREATE EXTENSION IF NOT EXISTS pgaudit")


def test_ensure_extension_second_call_changes_nothing() -> None:
    rds_data = FakeRdsData()
    ensure_extension(rds_data, resolved(), facts(), ())
    rds_data.mutations.clear()

    again = ensure_extension(rds_data, resolved(), facts(), ())

    assert (again.status, again.changes) == ("present", ())
    assert rds_data.mutations == []


def test_ensure_extension_requested_database_wins() -> None:
    rds_data = FakeRdsData()
    assert ensure_extension(rds_data, resolved(database="billing"), facts(), ()).database == "billing"
    assert {database for database, _ in rds_data.statements} == {"billing"}


@pytest.mark.parametrize(
    ("pending", "data_api", "reason"),
    [
        (("orders-1",), True, "pgaudit is loaded only after orders-1 reboot"),
        ((), False, "the RDS Data API is not enabled on the cluster"),
    ],
)
def test_ensure_extension_that_cannot_run_now_gives_the_sql_and_why(
    pending: tuple[str, ...], data_api: bool, reason: str
) -> None:
    rds_data = FakeRdsData()

    result = ensure_extension(rds_data, resolved(), facts(data_api=data_api), pending)

    assert (result.status, result.reason) == ("manual", reason)
    assert result.sql == "CREATE EXTENSION IF NOT EXISTS pgaudit;"
    assert rds_data.statements == []


def test_ensure_extension_refused_statement_is_manual_naming_the_aws_code() -> None:
    rds_data = FakeRdsData()
    rds_data.refuse("ExecuteStatement", refusal("ExecuteStatement", "BadRequestException"))

    result = ensure_extension(rds_data, resolved(), facts(), ())

    assert result.status == "manual"
    assert result.reason is not None and "(BadRequestException)" in result.reason


def test_ensure_extension_throttled_is_raised_for_the_state_machine_to_retry() -> None:
    rds_data = FakeRdsData()
    rds_data.refuse("ExecuteStatement", ThrottledError("ExecuteStatement was refused", aws_error_code="Throttling"))
    with pytest.raises(ThrottledError):
        ensure_extension(rds_data, resolved(), facts(), ())
