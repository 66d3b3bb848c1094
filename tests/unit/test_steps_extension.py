"""Create Extension against an in-memory RDS Data API: created, present, or the SQL for the user to run; always as
the owner's database user (request secret_arn or the secret tagged for the cluster), never the master user."""

from typing import Any

import pytest

from pgaudit_archiver.aws.rds import cluster_facts
from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.models import ClusterFacts
from pgaudit_archiver.steps.extension import ensure_extension
from tests.unit.fakes import FakeRds, FakeRdsData, FakeSecrets, owner_secrets, refusal, resolved


def facts(data_api: bool = True, **cluster_options: Any) -> ClusterFacts:
    rds = FakeRds()
    return cluster_facts(rds.add_cluster("orders", data_api=data_api, **cluster_options), 1)


def test_ensure_extension_creates_pgaudit_in_the_clusters_database() -> None:
    rds_data = FakeRdsData()

    result = ensure_extension(rds_data, owner_secrets(), resolved(), facts(), ())

    assert (result.status, result.database) == ("created", "app")
    assert result.changes == ("created extension pgaudit in app",)
    assert rds_data.statements[-1] == ("app", "CREATE EXTENSION IF NOT EXISTS pgaudit")


def test_ensure_extension_second_call_changes_nothing() -> None:
    rds_data = FakeRdsData()
    ensure_extension(rds_data, owner_secrets(), resolved(), facts(), ())
    rds_data.mutations.clear()

    again = ensure_extension(rds_data, owner_secrets(), resolved(), facts(), ())

    assert (again.status, again.changes) == ("present", ())
    assert rds_data.mutations == []


def test_ensure_extension_requested_database_wins() -> None:
    rds_data = FakeRdsData()
    assert ensure_extension(rds_data, owner_secrets(), resolved(database="billing"), facts(), ()).database == "billing"
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

    result = ensure_extension(rds_data, owner_secrets(), resolved(), facts(data_api=data_api), pending)

    assert (result.status, result.reason) == ("manual", reason)
    assert result.sql == "CREATE EXTENSION IF NOT EXISTS pgaudit;"
    assert rds_data.statements == []


def test_ensure_extension_refused_statement_is_manual_naming_the_aws_code() -> None:
    rds_data = FakeRdsData()
    rds_data.refuse("ExecuteStatement", refusal("ExecuteStatement", "BadRequestException"))

    result = ensure_extension(rds_data, owner_secrets(), resolved(), facts(), ())

    assert result.status == "manual"
    assert result.reason is not None and "(BadRequestException)" in result.reason


def test_ensure_extension_throttled_is_raised_for_the_state_machine_to_retry() -> None:
    rds_data = FakeRdsData()
    rds_data.refuse("ExecuteStatement", ThrottledError("ExecuteStatement was refused", aws_error_code="Throttling"))
    with pytest.raises(ThrottledError):
        ensure_extension(rds_data, owner_secrets(), resolved(), facts(), ())


def test_ensure_extension_revokes_plpgsql_from_public_in_every_database_once() -> None:
    rds_data = FakeRdsData()
    request = resolved().model_copy(update={"revoke_plpgsql": True})

    result = ensure_extension(rds_data, owner_secrets(), request, facts(), ())

    assert result.changes[1:] == tuple(
        f"revoked USAGE on plpgsql from PUBLIC in {database}" for database in ("appdb", "postgres", "template1")
    )
    assert rds_data.public_uses_plpgsql == set()
    rds_data.mutations.clear()
    assert ensure_extension(rds_data, owner_secrets(), request, facts(), ()).changes == ()
    assert rds_data.mutations == []


def test_ensure_extension_says_where_public_keeps_plpgsql_when_the_revoke_does_not_take() -> None:
    rds_data = FakeRdsData(may_revoke=False)  # on AWS the language may belong to rdsadmin, not the master user
    request = resolved().model_copy(update={"revoke_plpgsql": True})

    result = ensure_extension(rds_data, owner_secrets(), request, facts(), ())

    assert result.changes == ("created extension pgaudit in app",)
    assert result.plpgsql_kept_by_public == ("appdb", "postgres", "template1")


def test_ensure_extension_without_the_data_api_gives_the_revoke_too() -> None:
    request = resolved().model_copy(update={"revoke_plpgsql": True})

    result = ensure_extension(FakeRdsData(), owner_secrets(), request, facts(data_api=False), ())

    assert result.status == "manual"
    assert "REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC;" in result.sql and "template1" in result.sql


def test_ensure_extension_leaves_plpgsql_alone_unless_asked() -> None:
    rds_data = FakeRdsData()

    ensure_extension(rds_data, owner_secrets(), resolved(), facts(), ())

    assert not any(sql.startswith("REVOKE") for _, sql in rds_data.statements)


def test_ensure_extension_a_database_closed_to_the_master_user_is_reported_and_the_others_revoked() -> None:
    rds_data = FakeRdsData()
    rds_data.unreachable = {"postgres"}
    request = resolved().model_copy(update={"revoke_plpgsql": True})

    result = ensure_extension(rds_data, owner_secrets(), request, facts(), ())

    assert result.status == "created"
    assert result.changes[1:] == tuple(
        f"revoked USAGE on plpgsql from PUBLIC in {database}" for database in ("appdb", "template1")
    )
    assert result.plpgsql_kept_by_public == ("postgres",)


def test_ensure_extension_runs_as_the_secret_tagged_for_the_cluster_never_the_master_secret() -> None:
    rds_data, secrets = FakeRdsData(), owner_secrets()

    result = ensure_extension(rds_data, secrets, resolved(), facts(), ())

    [owner] = secrets.entries
    assert (result.status, result.secret_arn, result.secret_found_by) == ("created", owner.arn, "tag")
    assert result.resources == {"database_user_secret": owner.arn}
    assert {secret for secret in rds_data.secrets_used} == {owner.arn}
    assert secrets.listed == [("pgaudit-archiver:cluster", "orders")]


def test_ensure_extension_without_a_tagged_secret_gives_the_sql_and_reads_no_secret() -> None:
    rds_data, secrets = FakeRdsData(), FakeSecrets()
    secrets.add("rds!cluster-1234", {"aws:rds:primaryDBClusterArn": "x", "pgaudit-archiver:cluster": "orders",
                                     "pgaudit-archiver:database-user": "true"}, owning_service="rds")  # fmt: skip
    secrets.add("orders-app", {"pgaudit-archiver:cluster": "orders"})  # no purpose tag: not ours to read

    result = ensure_extension(rds_data, secrets, resolved(), facts(), ())

    assert (result.status, result.sql) == ("manual", "CREATE EXTENSION IF NOT EXISTS pgaudit;")
    assert result.reason == (
        "no secret in account 111122223333 (eu-west-1) is tagged pgaudit-archiver:cluster=orders and "
        "pgaudit-archiver:database-user=true, and the request names no secret_arn"
    )
    assert result.secret_untagged  # what a renamed database's onboarding advises re-tagging for (summary.py)
    assert rds_data.statements == []


def test_ensure_extension_ignores_a_secret_tagged_for_another_cluster() -> None:
    rds_data, secrets = FakeRdsData(), FakeSecrets()
    secrets.add_database_user("orders-replica")  # ListSecrets' tag-value filter matches it: a prefix

    assert ensure_extension(rds_data, secrets, resolved(), facts(), ()).status == "manual"
    assert rds_data.statements == []


def test_ensure_extension_two_tagged_secrets_are_named_and_neither_used() -> None:
    rds_data, secrets = FakeRdsData(), owner_secrets()
    secrets.add_database_user(name="another")

    result = ensure_extension(rds_data, secrets, resolved(), facts(), ())

    assert result.status == "manual" and result.reason is not None
    assert result.reason.startswith("2 secrets are tagged") and "name it as secret_arn" in result.reason
    assert not result.secret_untagged
    assert rds_data.statements == []


def test_ensure_extension_requested_secret_wins_without_a_lookup() -> None:
    rds_data, secrets = FakeRdsData(), owner_secrets()
    named = f"arn:aws:secretsmanager:eu-west-1:111122223333:secret:team/pgaudit-{'x' * 6}"

    result = ensure_extension(rds_data, secrets, resolved(secret_arn=named), facts(), ())

    assert (result.secret_arn, result.secret_found_by) == (named, "request")
    assert secrets.listed == [] and set(rds_data.secrets_used) == {named}


def test_ensure_extension_requested_master_secret_is_refused_and_never_used() -> None:
    rds_data = FakeRdsData()
    master = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!cluster-0a1b2c3d-AbCdEf"

    result = ensure_extension(rds_data, owner_secrets(), resolved(secret_arn=master), facts(), ())

    assert result.status == "manual" and result.reason is not None and "never reads" in result.reason
    assert rds_data.statements == []


def test_ensure_extension_source_role_without_list_secrets_says_to_deploy_the_template() -> None:
    secrets = owner_secrets()
    secrets.refuse("ListSecrets", refusal("ListSecrets", "AccessDeniedException"))

    result = ensure_extension(FakeRdsData(), secrets, resolved(), facts(), ())

    assert result.status == "manual" and result.reason is not None and "source-account template" in result.reason
