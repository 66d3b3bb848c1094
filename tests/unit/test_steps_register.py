"""Register Execution against an in-memory registry."""

from pgaudit_archiver.steps.register import register_execution
from tests.unit.fakes import ACCOUNT, SOURCE, FakeRegistry

EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:onboard:111122223333-orders-abcd1234"


def test_register_execution_records_the_execution_and_where_to_watch_it() -> None:
    registry = FakeRegistry()
    request = {"account_id": ACCOUNT, "region": "eu-west-1", "cluster_id": "Orders", "pgaudit_log": "all"}

    registration = register_execution(registry, request, "onboard", EXECUTION)

    assert registration.registered
    assert registration.console_url == (
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/" + EXECUTION
    )
    item = registry.get(SOURCE)  # the cluster id is keyed in lowercase, as RDS stores it
    assert item is not None
    assert (item["status"], item["execution_arn"], item["request"]) == ("onboarding", EXECUTION, request)


def test_register_execution_request_naming_no_source_records_nothing() -> None:
    registry = FakeRegistry()
    for request in ("not a dict", {"account_id": "12", "region": "eu-west-1", "cluster_id": "x"}, {}):
        assert not register_execution(registry, request, "offboard", EXECUTION).registered
    assert registry.items == {}


def test_register_execution_offboarding_marks_the_source_offboarding() -> None:
    registry = FakeRegistry()
    register_execution(
        registry, {"account_id": ACCOUNT, "region": "eu-west-1", "cluster_id": "orders"}, "offboard", EXECUTION
    )
    assert registry.get(SOURCE)["status"] == "offboarding"  # type: ignore[index]
