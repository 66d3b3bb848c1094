"""Automatic onboarding against in-memory fakes: which cluster events start the onboarding workflow."""

from typing import Any

import pytest

from pgaudit_archiver.errors import AwsRequestError, SourceAccessDeniedError, ThrottledError
from pgaudit_archiver.models import Source
from pgaudit_archiver.service import ClusterService
from pgaudit_archiver.steps.auto_onboard import AutoOnboard, Decision, decide, source_of_event
from tests.unit.fakes import ACCOUNT, SOURCE, FakeRds, FakeRegistry, FakeStepFunctions

ONBOARD = "arn:aws:states:eu-west-1:123456789012:stateMachine:onboard"


def created(cluster_id: str = "orders") -> dict[str, Any]:
    return {
        "source": "aws.rds",
        "detail-type": "RDS DB Cluster Event",
        "account": ACCOUNT,
        "region": "eu-west-1",
        "detail": {"EventID": "RDS-EVENT-0170", "SourceIdentifier": cluster_id},
    }


def tagged(cluster_id: str = "orders") -> dict[str, Any]:
    return {
        "source": "aws.tag",
        "account": ACCOUNT,
        "region": "eu-west-1",
        "resources": [f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:{cluster_id}"],
        "detail": {"service": "rds", "resource-type": "cluster"},
    }


class Accounts:
    def __init__(self, **cluster: Any) -> None:
        self.rds = FakeRds()
        self.rds.add_cluster("orders", **cluster)
        self.registry = FakeRegistry()
        self.stepfunctions = FakeStepFunctions()
        self.service = ClusterService(self.registry, self.stepfunctions, ONBOARD, "", ())

    def decide(self, event: dict[str, Any], policy: AutoOnboard = "tagged") -> Decision:
        return decide(event, policy, "eu-west-1", lambda source: self.rds, self.registry, self.service)


def test_decide_tagged_cluster_starts_one_onboarding() -> None:
    accounts = Accounts(tags={"pgaudit-archiver": "enabled"})

    decision = accounts.decide(tagged())

    assert (decision.action, decision.source) == ("started", SOURCE)
    [started] = accounts.stepfunctions.executions.values()
    assert started["input"] == {"account_id": ACCOUNT, "region": "eu-west-1", "cluster_id": "orders"}
    assert accounts.registry.get(SOURCE)["execution_arn"] == decision.execution_arn  # type: ignore[index]


def test_decide_second_event_while_onboarding_runs_starts_nothing_more() -> None:
    accounts = Accounts(tags={"pgaudit-archiver": "enabled"})
    accounts.decide(created(), "all")

    again = accounts.decide(tagged(), "all")

    assert again.action == "already-running"
    assert len(accounts.stepfunctions.executions) == 1


@pytest.mark.parametrize(
    ("policy", "tags", "reason"),
    [
        ("off", {"pgaudit-archiver": "enabled"}, "AutoOnboard is off"),
        ("tagged", {}, "the owner has not consented: not tagged pgaudit-archiver=enabled"),
        # `all` cannot onboard without consent: the source role could change nothing
        ("all", {}, "the owner has not consented: not tagged pgaudit-archiver=enabled"),
        ("all", {"pgaudit-archiver": "true"}, "the owner has not consented: not tagged pgaudit-archiver=enabled"),
        ("all", {"pgaudit-archiver": "disabled"}, "tagged pgaudit-archiver=disabled"),
    ],
)
def test_decide_policy_and_tags_can_skip_a_cluster(policy: AutoOnboard, tags: dict[str, str], reason: str) -> None:
    accounts = Accounts(tags=tags)
    decision = accounts.decide(created(), policy)
    assert (decision.action, decision.reason) == ("skipped", reason)
    assert accounts.stepfunctions.executions == {}


def test_decide_other_engine_and_onboarded_clusters_are_skipped() -> None:
    assert (
        Accounts(engine="aurora-mysql").decide(created(), "all").reason
        == "engine aurora-mysql is not aurora-postgresql"
    )
    accounts = Accounts()
    accounts.registry.finish(SOURCE, "active", {})
    assert accounts.decide(created(), "all").reason == "already active"


def test_decide_source_without_the_role_is_recorded_failed_in_the_registry() -> None:
    accounts = Accounts()
    accounts.rds.refuse("DescribeDBClusters", SourceAccessDeniedError("cannot assume x", aws_error_code="AccessDenied"))

    decision = accounts.decide(created(), "all")

    assert decision.action == "failed"
    item = accounts.registry.get(SOURCE)
    assert item is not None
    assert (item["status"], item["last_error"]["aws_error_code"]) == ("failed", "AccessDenied")


def test_decide_refused_start_is_a_failed_decision_and_throttling_is_raised_for_a_redelivery() -> None:
    accounts = Accounts()
    accounts.stepfunctions.refuse("StartExecution", AwsRequestError("StartExecution was refused", aws_error_code="X"))
    assert accounts.decide(created(), "all").action == "failed"

    accounts = Accounts()
    accounts.stepfunctions.refuse("StartExecution", ThrottledError("refused", aws_error_code="ThrottlingException"))
    with pytest.raises(ThrottledError):
        accounts.decide(created(), "all")


def test_source_of_event_ignores_other_events_and_bad_identifiers() -> None:
    assert source_of_event({**created(), "detail": {"EventID": "RDS-EVENT-0171"}}) is None
    assert source_of_event(created("1-not-a-cluster")) is None
    assert source_of_event(created("Orders")) == Source(account_id=ACCOUNT, region="eu-west-1", cluster_id="orders")


def test_source_of_event_reads_the_cluster_from_the_arn_whatever_form_source_identifier_has() -> None:
    arn = f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:orders"
    for identifier in ("rds:orders", "orders"):  # AWS's documented example, and what captures show
        event = created(identifier)
        event["detail"]["SourceArn"] = arn
        assert source_of_event(event) == SOURCE
    assert source_of_event({**created("rds:orders"), "resources": [arn]}) == SOURCE
    assert source_of_event(created("rds:orders")) == SOURCE  # no ARN at all: the prefix is AWS's, not the id's


def test_decide_cluster_created_event_in_aws_s_documented_form_starts_onboarding() -> None:
    accounts = Accounts()
    event = created("rds:orders")
    event["detail"]["SourceArn"] = f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:orders"

    decision = accounts.decide(event, "all")

    assert (decision.action, decision.source) == ("started", SOURCE)
