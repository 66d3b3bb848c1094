"""The delivery canary against in-memory fakes: sent through the Data API, timed on arrival, late is drift."""

from datetime import UTC, datetime, timedelta

from pgaudit_archiver.aws.rds import cluster_facts
from pgaudit_archiver.errors import ThrottledError
from pgaudit_archiver.models import DatabaseFacts
from pgaudit_archiver.steps.canary import overdue, read_class_logged, record_arrivals, send_canary
from tests.unit.fakes import SOURCE, FakeRds, FakeRdsData, FakeRegistry, FakeSecrets, owner_secrets, refusal

READ_REQUEST = {"pgaudit_log": "ddl,read", "canary": True}


def cluster(data_api: bool = True) -> DatabaseFacts:
    return cluster_facts(FakeRds().add_cluster("orders", data_api=data_api))


def test_send_canary_runs_a_marked_select_and_records_when_it_was_sent() -> None:
    rds_data, registry = FakeRdsData(), FakeRegistry()

    assert send_canary(rds_data, owner_secrets(), registry, SOURCE, READ_REQUEST, cluster()) is None

    [(database, sql)] = rds_data.statements
    item = registry.get(SOURCE)
    assert item is not None
    assert database == "app"
    assert sql == f"SELECT 'pgaudit-archiver canary {item['canary']['id']}'"
    assert "arrived_at" not in item["canary"]


def test_send_canary_not_logged_by_pgaudit_is_not_sent_and_says_why() -> None:
    rds_data, registry = FakeRdsData(), FakeRegistry()
    reason = send_canary(rds_data, owner_secrets(), registry, SOURCE, {"pgaudit_log": "ddl,write"}, cluster())
    assert reason == "pgaudit.log does not cover the read class, so pgaudit would not log the canary's SELECT"
    assert rds_data.statements == [] and registry.mutations == []


def test_send_canary_without_the_data_api_is_not_sent() -> None:
    reason = send_canary(FakeRdsData(), owner_secrets(), FakeRegistry(), SOURCE, READ_REQUEST, cluster(data_api=False))
    assert reason == "the RDS Data API is not enabled on the cluster"


def test_send_canary_without_the_owners_database_user_is_not_sent_and_says_why() -> None:
    rds_data, registry = FakeRdsData(), FakeRegistry()

    reason = send_canary(rds_data, FakeSecrets(), registry, SOURCE, READ_REQUEST, cluster())

    assert reason is not None and reason.startswith("no database user to send it as: no secret in account")
    assert rds_data.statements == [] and registry.mutations == []


def test_send_canary_runs_as_the_owners_secret() -> None:
    rds_data, secrets = FakeRdsData(), owner_secrets()
    send_canary(rds_data, secrets, FakeRegistry(), SOURCE, READ_REQUEST, cluster())
    assert rds_data.secrets_used == [secrets.entries[0].arn]


def test_send_canary_refused_or_throttled_says_so_with_the_aws_code() -> None:
    for error in (refusal("ExecuteStatement", "BadRequestException"), ThrottledError("x", aws_error_code="Throttling")):
        rds_data, registry = FakeRdsData(), FakeRegistry()
        rds_data.refuse("ExecuteStatement", error)
        reason = send_canary(rds_data, owner_secrets(), registry, SOURCE, READ_REQUEST, cluster())
        assert reason == f"the Data API refused the canary ({error.aws_error_code})"
        assert registry.mutations == []


def test_record_arrivals_marks_the_current_canary_arrived_once_with_its_delay() -> None:
    registry = FakeRegistry()
    send_canary(FakeRdsData(), owner_secrets(), registry, SOURCE, READ_REQUEST, cluster())
    canary = registry.get(SOURCE)["canary"]  # type: ignore[index]
    arrived = datetime.fromisoformat(canary["sent_at"]) + timedelta(seconds=42)
    record = {
        "account": SOURCE.account_id,
        "region": SOURCE.region,
        "cluster": SOURCE.cluster_id,
        "statement": f"SELECT 'pgaudit-archiver canary {canary['id']}'",
    }

    assert record_arrivals(registry, [record, {"statement": "SELECT 1"}], arrived) == [42.0]
    assert record_arrivals(registry, [record], arrived + timedelta(seconds=5)) == []  # a duplicate delivery
    assert registry.get(SOURCE)["canary"]["delay_seconds"] == 42.0  # type: ignore[index]


def test_overdue_only_after_the_bound_and_only_when_not_arrived() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    sent = {"id": "a" * 32, "sent_at": (now - timedelta(seconds=1000)).isoformat()}

    assert overdue(sent, 1800, now) is None
    assert overdue({**sent, "arrived_at": now.isoformat()}, 60, now) is None
    late = overdue(sent, 600, now)
    assert late is not None
    assert (late.kind, late.resource) == ("canary-late", "a" * 32)
    assert late.message.startswith(f"canary {'a' * 32} has not reached the archive after 1000 s")


def test_read_class_logged_follows_pgaudit_exclusions() -> None:
    assert read_class_logged("all") and read_class_logged("ddl, read")
    assert not read_class_logged("all,-read") and not read_class_logged(None)
