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


def test_ensure_extension_revokes_plpgsql_from_public_in_every_database_once() -> None:
    rds_data = FakeRdsData()
    request = resolved().model_copy(update={"revoke_plpgsql": True})

    result = ensure_extension(rds_data, request, facts(), ())

    assert result.changes[1:] == tuple(
        f"revoked USAGE on plpgsql from PUBLIC in {database}" for database in ("appdb", "postgres", "template1")
    )
    assert rds_data.public_uses_plpgsql == set()
    rds_data.mutations.clear()
    assert ensure_extension(rds_data, request, facts(), ()).changes == ()
    assert rds_data.mutations == []


def test_ensure_extension_says_where_public_keeps_plpgsql_when_the_revoke_does_not_take() -> None:
    rds_data = FakeRdsData(may_revoke=False)  # on AWS the language may belong to rdsadmin, not the master user
    request = resolved().model_copy(update={"revoke_plpgsql": True})

    result = ensure_extension(rds_data, request, facts(), ())

    assert result.changes == ("created extension pgaudit in app",)
    assert result.plpgsql_kept_by_public == ("appdb", "postgres", "template1")


def test_ensure_extension_without_the_data_api_gives_the_revoke_too() -> None:
    request = resolved().model_copy(update={"revoke_plpgsql": True})

    result = ensure_extension(FakeRdsData(), request, facts(data_api=False), ())

    assert result.status == "manual"
    assert "REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC;" in result.sql and "template1" in result.sql


def test_ensure_extension_leaves_plpgsql_alone_unless_asked() -> None:
    rds_data = FakeRdsData()

    ensure_extension(rds_data, resolved(), facts(), ())

    assert not any(sql.startswith("REVOKE") for _, sql in rds_data.statements)


def test_ensure_extension_a_database_closed_to_the_master_user_is_reported_and_the_others_revoked() -> None:
    rds_data = FakeRdsData()
    rds_data.unreachable = {"postgres"}
    request = resolved().model_copy(update={"revoke_plpgsql": True})

    result = ensure_extension(rds_data, request, facts(), ())

    assert result.status == "created"
    assert result.changes[1:] == tuple(
        f"revoked USAGE on plpgsql from PUBLIC in {database}" for database in ("appdb", "template1")
    )
    assert result.plpgsql_kept_by_public == ("postgres",)
