"""Every AWS call the onboarding and offboarding workflows make, enumerated from the data-access code, under
three faults each (throttled once, AccessDenied, the service's own validation error), and every workflow
function crashing once: the workflow recovers from the first and fails naming the step, account, cluster and
AWS error code from the others, and a rerun after the fault is gone completes with no duplicate resource."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
import pytest
from moto.rds.models import rds_backends

from local import SOURCE_ACCOUNT, World
from local.template import ARCHIVE_TEMPLATE, ROOT, load_template

DATA_ACCESS = ROOT / "layers" / "shared" / "pgaudit_archiver" / "aws"
CLIENT_SERVICES = {
    "_rds": "rds",
    "_logs": "logs",
    "_firehose": "firehose",
    "_iam": "iam",
    "_rds_data": "rds-data",
    "_sfn": "stepfunctions",
    "_table": "dynamodb",
    "sts": "sts",
}
# Calls only the API, automatic onboarding or the transform make: they are not workflow calls.
NOT_IN_WORKFLOWS = {
    ("dynamodb", "Query"): "GET /clusters",
    ("dynamodb", "Scan"): "GET /clusters by an admin",
    ("stepfunctions", "StartExecution"): "the API and automatic onboarding start the workflows",
    ("stepfunctions", "DescribeExecution"): "the API checks whether a claimed execution still runs",
    ("firehose", "PutRecordBatch"): "the transform re-ingests",
}
THROTTLING = {
    "rds": "Throttling",
    "logs": "ThrottlingException",
    "firehose": "ThrottlingException",
    "iam": "Throttling",
    "rds-data": "ThrottlingException",
    "stepfunctions": "ThrottlingException",
    "dynamodb": "ThrottlingException",
    "sts": "Throttling",
}
VALIDATION = {
    "rds": "InvalidParameterValue",
    "logs": "InvalidParameterException",
    "firehose": "InvalidArgumentException",
    "iam": "ValidationError",
    "rds-data": "BadRequestException",
    "stepfunctions": "InvalidArn",
    "dynamodb": "ValidationException",
    "sts": "ValidationError",
}
ACCESS_DENIED = {
    "logs": "AccessDeniedException",
    "firehose": "AccessDeniedException",
    "rds-data": "AccessDeniedException",
    "stepfunctions": "AccessDeniedException",
    "dynamodb": "AccessDeniedException",
}
RESULTS: list[tuple[str, str, bool]] = []


def workflow_calls() -> list[tuple[str, str]]:
    """(service, Operation) of every boto3 call in the data-access modules, read from their source."""
    found: set[tuple[str, str]] = set()
    for path in DATA_ACCESS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target = node.func.value
            client = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
            if client not in CLIENT_SERVICES:
                continue
            service, method = CLIENT_SERVICES[client], node.func.attr
            if method == "get_paginator":
                method = node.args[0].value  # type: ignore[attr-defined]
            api = boto3.client(service, region_name="eu-west-1").meta.method_to_api_mapping.get(method)
            if api:
                found.add((service, api))
    return sorted(call for call in found if call not in NOT_IN_WORKFLOWS)


@dataclass
class Scenario:
    """Sets a cluster up, then runs the workflow the fault is aimed at."""

    name: str
    prepare: Callable[[World, str], None]
    run: Callable[[World, str], object]
    custom_group: bool = False


def _onboard(world: World, cluster: str, **options) -> object:
    return world.onboard(world.request(cluster, **options), timeout=300)


def _drift(world: World, cluster: str) -> None:
    assert _onboard(world, cluster).status == "SUCCEEDED"
    stream = f"pgaudit-{SOURCE_ACCOUNT}-{cluster}"
    firehose = world.client("firehose")
    described = firehose.describe_delivery_stream(DeliveryStreamName=stream)["DeliveryStreamDescription"]
    firehose.update_destination(
        DeliveryStreamName=stream,
        CurrentDeliveryStreamVersionId=described["VersionId"],
        DestinationId=described["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={"Prefix": "tampered/"},
    )
    loose_trust = {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
    world.client("iam").update_assume_role_policy(
        RoleName=f"pgaudit-dest-{SOURCE_ACCOUNT}-{cluster}",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [loose_trust]}),
    )


SCENARIOS = [
    Scenario("fresh immediate onboarding", lambda w, c: None, lambda w, c: _onboard(w, c, reboot="immediate")),
    Scenario("onboarding a cluster with a custom group", lambda w, c: None, _onboard, custom_group=True),
    Scenario("rerun that repairs drift", _drift, _onboard),
    Scenario("offboarding with restore", _onboard, lambda w, c: w.offboard(c, restore=True, timeout=300)),
    Scenario(
        "onboarding that fails by design (missing cluster)", lambda w, c: None, lambda w, c: _onboard(w, c + "-missing")
    ),
]


def _setup(world: World, scenario: Scenario, cluster: str) -> None:
    group = None
    if scenario.custom_group:
        group = f"{cluster}-owner"
        world.create_parameter_group(group)
    world.create_cluster(cluster, instances=2, parameter_group=group)
    scenario.prepare(world, cluster)


@pytest.fixture(scope="module")
def coverage() -> dict[tuple[str, str], Scenario]:
    """Which scenario makes each call (the first that does, in an unfaulted run)."""
    covered: dict[tuple[str, str], Scenario] = {}
    for index, scenario in enumerate(SCENARIOS):
        with World() as world:
            cluster = f"probe-{index}"
            _setup(world, scenario, cluster)
            mark = world.calls.mark()
            scenario.run(world, cluster)
            for _account, service, operation in world.calls.calls[mark:]:
                covered.setdefault((service, operation.removesuffix("(read-only)")), scenario)
    return covered


def test_every_workflow_call_is_exercised_by_a_scenario(coverage):
    missing = [call for call in workflow_calls() if call not in coverage]
    assert not missing, f"no scenario makes these calls; add one: {missing}"


def _faulted_run(world: World, scenario: Scenario, cluster: str, service: str, operation: str, code: str, times: int):
    _setup(world, scenario, cluster)
    world.inject(service, operation, code, times=times)
    execution = scenario.run(world, cluster)
    world.clear_faults()
    return execution


def _resources_once(world: World, cluster: str) -> None:
    """After a successful rerun, each resource exists once."""
    streams = world.client("firehose").list_delivery_streams()["DeliveryStreamNames"]
    assert streams.count(f"pgaudit-{SOURCE_ACCOUNT}-{cluster}") <= 1
    roles = [r["RoleName"] for r in world.client("iam").list_roles(PathPrefix="/pgaudit-archiver/")["Roles"]]
    assert len(roles) == len(set(roles))
    logs = world.client("logs", SOURCE_ACCOUNT)
    group = f"/aws/rds/cluster/{cluster}/postgresql"
    if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        filters = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
        assert len(filters) <= 1


CALLS = workflow_calls()
KINDS = ("throttled once", "AccessDenied", "validation error")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("service", "operation"), CALLS, ids=[f"{s}:{o}" for s, o in CALLS])
def test_fault_in_workflow_call(coverage, service, operation, kind):
    scenario = coverage.get((service, operation))
    if scenario is None:
        pytest.fail(f"{service}:{operation} is made by no scenario")
    by_design_failure = "fails by design" in scenario.name
    with World() as world:
        cluster = "faulted"
        if kind == "throttled once":
            code, times = THROTTLING[service], 1
        elif kind == "AccessDenied":
            code, times = ACCESS_DENIED.get(service, "AccessDenied"), 1000
        else:
            code, times = VALIDATION[service], 1000
        execution = _faulted_run(world, scenario, cluster, service, operation, code, times)
        held = _check(world, scenario, cluster, execution, service, operation, code, kind, by_design_failure)
        RESULTS.append((f"{service}:{operation}", kind, held))


def _check(world, scenario, cluster, execution, service, operation, code, kind, by_design_failure) -> bool:
    if kind == "throttled once":
        expected = "FAILED" if by_design_failure else "SUCCEEDED"
        assert execution.status == expected, execution.cause
        return True
    if (service, operation) == ("stepfunctions", "GetExecutionHistory"):
        # Only Record Failure reads the history, to name a crashed step; refused, it still records the failure.
        assert execution.status == "FAILED" and "no DB cluster named faulted-missing" in execution.cause
        assert world.registry_item(cluster + "-missing")["status"] == "failed"
        return True
    if (service, operation) == ("rds-data", "ExecuteStatement"):
        # The pipeline does not need the extension: a refused Data API call becomes `extension: manual`.
        assert execution.status == "SUCCEEDED", execution.cause
        assert any(code in pending for pending in execution.output["pending"]), execution.output
        return True
    assert execution.status == "FAILED", f"{service}:{operation} {code} did not fail the execution"
    assert code in execution.cause, execution.cause
    assert f"account {SOURCE_ACCOUNT}" in execution.cause and cluster in execution.cause, execution.cause
    assert " failed for cluster " in execution.cause, execution.cause
    registry_broken = service == "dynamodb"
    item = world.registry_item(cluster if not by_design_failure else cluster + "-missing")
    if not registry_broken and item is not None:
        assert item["status"] == "failed" and item["last_error"]["aws_error_code"] == code, item
    # The fault is gone: the same run again completes, with each resource once.
    if not by_design_failure:
        again = scenario.run(world, cluster)
        assert again.status == "SUCCEEDED", again.cause
        _resources_once(world, cluster)
    return True


WORKFLOW_FUNCTIONS = sorted(
    {
        value.get("Fn::GetAtt", [""])[0]
        for logical_id, resource in load_template(ARCHIVE_TEMPLATE)["Resources"].items()
        if logical_id in {"OnboardStateMachine", "OffboardStateMachine"}
        for value in resource["Properties"]["DefinitionSubstitutions"].values()
    }
    - {"RecordFailureFunction"}
)


@pytest.mark.parametrize("function", WORKFLOW_FUNCTIONS)
def test_crash_in_each_workflow_function(function):
    offboarding = function in {
        "ValidateOffboardingFunction",
        "RemoveSubscriptionFilterFunction",
        "RestoreClusterFunction",
        "DeleteDestinationFunction",
        "DeleteDeliveryStreamFunction",
        "SummarizeOffboardingFunction",
    }
    with World() as world:
        world.create_cluster("crashing", instances=2)
        if offboarding:
            assert _onboard(world, "crashing").status == "SUCCEEDED"

        def run():
            return (
                world.offboard("crashing", restore=True)
                if offboarding
                else _onboard(world, "crashing", reboot="immediate")
            )

        world.crash(function)
        execution = run()
        assert execution.status == "FAILED"
        assert "unexpected RuntimeError" in execution.cause and "injected crash" in execution.cause
        assert f"cluster crashing in account {SOURCE_ACCOUNT}" in execution.cause
        assert world.registry_item("crashing")["status"] == "failed"
        again = run()
        assert again.status == "SUCCEEDED", again.cause
        _resources_once(world, "crashing")
    RESULTS.append((function, "crash", True))


def test_twenty_simultaneous_onboardings_of_one_cluster_start_one_execution():
    with World(parameters={"PollIntervalSeconds": 1}) as world:
        world.create_cluster("popular")
        cluster = rds_backends[SOURCE_ACCOUNT][world.region].clusters["popular"]
        cluster.status = "modifying"  # the first execution keeps running while all twenty requests arrive

        def request(_: int):
            return world.api("POST", "/clusters", caller_account=SOURCE_ACCOUNT, body=world.request("popular"))

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(request, range(20)))
        assert all(answer.status == 202 for answer in answers)
        arns = {answer.body["execution_arn"] for answer in answers} - {None}
        assert len(arns) == 1
        assert sum(not answer.body["already_running"] for answer in answers) == 1
        cluster.status = "available"
        assert world.wait(arns.pop()).status == "SUCCEEDED"
        executions = world.client("stepfunctions").list_executions(
            stateMachineArn=world.resources["OnboardStateMachine"]
        )
        assert len(executions["executions"]) == 1
        _resources_once(world, "popular")


def matrix_summary() -> str | None:
    if not RESULTS:
        return None
    held = sum(1 for _, _, ok in RESULTS if ok)
    calls = len({name for name, kind, _ in RESULTS if kind != "crash"})
    crashes = sum(1 for _, kind, _ in RESULTS if kind == "crash")
    return (
        f"fault matrix: {calls} workflow calls x {len(KINDS)} faults + {crashes} function crashes = "
        f"{len(RESULTS)} cases; {held} held"
    )
