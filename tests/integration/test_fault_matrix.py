"""Every AWS call the onboarding and offboarding workflows make, enumerated from the data-access code, under three
faults each (throttled once, AccessDenied, the service's own validation error), and every workflow function
crashing, checked at the handler layer; then a handful of faults end to end through the state machine.

Each scenario runs once through the state machine while every function invocation is recorded. A case then
replays, for a cluster of its own, the recorded invocations up to the first one that makes the faulted call,
injects the fault there, and checks what the handler raised against the Retry and Catch of the states that
function serves (so the state machine would retry it, or record the failure naming step, account, cluster and
AWS error code). With the fault gone, the same invocation completes as recorded, each resource once.

The scenarios of a DB instance and of a Multi-AZ DB cluster come last: a call is faulted where it is first made, so
they add only the calls no Aurora cluster makes (the DB parameter group calls, ModifyDBInstance, RebootDBCluster).
"""

from __future__ import annotations

import ast
import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from local import SOURCE_ACCOUNT, World
from local.template import ARCHIVE_TEMPLATE, ROOT, load_template, state_machine_substitutions
from local.world import AURORA_CLUSTER, DB_INSTANCE, MULTI_AZ_CLUSTER
from pgaudit_archiver import errors
from tests.integration.helpers import resources_once

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
    ("stepfunctions", "ListExecutions"): "scheduled discovery checks which adoptions still run",
    ("dynamodb", "DeleteItem"): "the API gives an account's adoption hold back when the adoption cannot start",
    ("rds", "DescribeBlueGreenDeployments"): "reconciliation (Verify Sources) looks for an onboarded database's green",
}
# Data-access modules only the API uses.
NOT_WORKFLOW_MODULES = {"page_token_key.py": "the key signing the API's pagination tokens"}
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
KINDS = ("throttled once", "AccessDenied", "validation error")
RECORDING_CLUSTER = "recorded-cluster"
WORKFLOWS = ("OnboardStateMachine", "OffboardStateMachine")
TRANSIENT = {cls.__name__ for cls in errors.TRANSIENT_ERRORS}
RESULTS: list[tuple[str, str, bool]] = []


@functools.cache
def _api_names(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name (what a client's meta.method_to_api_mapping holds, without a client)."""
    return {xform_name(operation): operation for operation in _BOTOCORE.get_service_model(service).operation_names}


_BOTOCORE = botocore.session.get_session()


def workflow_calls() -> list[tuple[str, str]]:
    """(service, Operation) of every boto3 call in the data-access modules, read from their source."""
    found: set[tuple[str, str]] = set()
    for path in DATA_ACCESS.glob("*.py"):
        if path.name in NOT_WORKFLOW_MODULES:
            continue
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
            api = _api_names(service).get(method)
            if api:
                found.add((service, api))
    return sorted(call for call in found if call not in NOT_IN_WORKFLOWS)


# ---------------------------------------------------------------------------------------------- the wiring
TEMPLATE = load_template(ARCHIVE_TEMPLATE)


def _states_by_function() -> dict[str, list[dict[str, Any]]]:
    """Logical id of each workflow function -> the Task states (of either workflow) that invoke it."""
    served: dict[str, list[dict[str, Any]]] = {}
    for machine in WORKFLOWS:
        resource = TEMPLATE["Resources"][machine]
        substitutions = state_machine_substitutions(TEMPLATE, machine)
        definition = json.loads((ROOT / resource["Properties"]["DefinitionUri"]).read_text())
        for name, state in definition["States"].items():
            function = state.get("Parameters", {}).get("FunctionName", "")
            key = function.removeprefix("${").removesuffix("}")
            if state["Type"] == "Task" and key in substitutions:
                logical_id = substitutions[key]["Fn::GetAtt"][0]
                served.setdefault(logical_id, []).append({"name": name, **state})
    return served


STATES_BY_FUNCTION = _states_by_function()


def _retried(state: dict[str, Any], error_type: str) -> bool:
    return any(error_type in retry["ErrorEquals"] for retry in state.get("Retry", []))


def _caught_into(state: dict[str, Any], error_type: str) -> str | None:
    """The state a Catch sends this error to (first match wins, as in Step Functions)."""
    for catch in state.get("Catch", []):
        if error_type in catch["ErrorEquals"] or "States.ALL" in catch["ErrorEquals"]:
            return catch["Next"]
    return None


# ---------------------------------------------------------------------------------------------- recording
@dataclass
class Invocation:
    function: str  # logical id
    event: str  # JSON, naming RECORDING_CLUSTER
    errored: bool
    error_type: str | None
    calls: set[tuple[str, str]] = field(default_factory=set)


@contextmanager
def recording(world: World) -> Iterator[list[Invocation]]:
    """Record every function invocation with the AWS calls it made (the workflows run one task at a time)."""
    invocations: list[Invocation] = []
    names = {name: logical_id for logical_id, name in world.resources.items() if logical_id.endswith("Function")}
    original = world.lambdas.call

    def call(name_or_arn: str, event: Any) -> tuple[Any, bool]:
        mark = world.calls.mark()
        payload, errored = original(name_or_arn, event)
        function = world.lambdas.lookup(name_or_arn)
        made = {(service, operation.removesuffix("(read-only)")) for _, service, operation in world.calls.calls[mark:]}
        error_type = payload.get("errorType") if errored else None
        invocations.append(Invocation(names[function.name], json.dumps(event), errored, error_type, made))
        return payload, errored

    world.lambdas.call = call  # type: ignore[method-assign]
    try:
        yield invocations
    finally:
        world.lambdas.call = original  # type: ignore[method-assign]


@dataclass
class Scenario:
    """Sets a cluster up (for real, through the state machine), then runs the workflow the faults aim at."""

    name: str
    prepare: Callable[[World, str], None]
    run: Callable[[World, str], object]
    custom_group: bool = False
    fails_by_design: bool = False
    kind: str = AURORA_CLUSTER

    def key(self, database: str) -> str:
        """The source key of the scenario's database: what names its stream and registry item."""
        return f"instance--{database}" if self.kind == DB_INSTANCE else database

    def noun(self) -> str:
        return "DB instance" if self.kind == DB_INSTANCE else "cluster"


def _onboard(world: World, cluster: str, **options: Any) -> Any:
    return world.onboard(world.request(cluster, **options), timeout=300)


def _onboarded(world: World, cluster: str) -> None:
    assert _onboard(world, cluster).status == "SUCCEEDED"


def _drift(world: World, cluster: str) -> None:
    _onboarded(world, cluster)
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
        RoleName=f"pgaudit-dest-eu-west-1-{SOURCE_ACCOUNT}",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [loose_trust]}),
    )


def _onboard_instance(world: World, instance: str, **options: Any) -> Any:
    request = {"account_id": SOURCE_ACCOUNT, "region": world.region, "instance_id": instance, **options}
    return world.onboard(request, timeout=300)


def _offboard_instance(world: World, instance: str) -> Any:
    machine = world.resources["OffboardStateMachine"]
    request = {"account_id": SOURCE_ACCOUNT, "region": world.region, "instance_id": instance, "restore": True}
    arn = world.client("stepfunctions").start_execution(
        stateMachineArn=machine, name=f"off-{instance}", input=json.dumps(request)
    )["executionArn"]
    return world.wait(arn, timeout=300)


def _instance_onboarded_then_offboarded(world: World, instance: str) -> Any:
    """On its default group: onboarding creates the DB parameter group that offboarding (restore) deletes."""
    assert _onboard_instance(world, instance).status == "SUCCEEDED"
    return _offboard_instance(world, instance)


SCENARIOS = [
    Scenario("fresh immediate onboarding", lambda w, c: None, lambda w, c: _onboard(w, c, reboot="immediate")),
    Scenario("onboarding a cluster with a custom group", lambda w, c: None, _onboard, custom_group=True),
    Scenario("rerun that repairs drift", _drift, _onboard),
    Scenario("offboarding with restore", _onboarded, lambda w, c: w.offboard(c, restore=True, timeout=300)),
    Scenario(
        "onboarding that fails by design (missing cluster)",
        lambda w, c: None,
        lambda w, c: _onboard(w, c + "-missing"),
        fails_by_design=True,
    ),
    Scenario(
        "immediate onboarding of a DB instance with its owner's DB parameter group",
        lambda w, c: None,
        lambda w, c: _onboard_instance(w, c, reboot="immediate"),
        custom_group=True,
        kind=DB_INSTANCE,
    ),
    Scenario(
        "onboarding and offboarding of a DB instance on its default group",
        lambda w, c: None,
        _instance_onboarded_then_offboarded,
        kind=DB_INSTANCE,
    ),
    Scenario(
        "immediate onboarding of a Multi-AZ DB cluster",
        lambda w, c: None,
        lambda w, c: _onboard(w, c, reboot="immediate"),
        kind=MULTI_AZ_CLUSTER,
    ),
]


def _as_the_accounts_first_source(world: World) -> None:
    """Each case is the account's first and only source: the account's shared destination role, its holders and the
    destinations of earlier cases are removed, so onboarding creates the role and offboarding deletes it (the calls
    the faults aim at)."""
    iam, role = world.client("iam"), f"pgaudit-dest-{world.region}-{SOURCE_ACCOUNT}"
    logs = world.client("logs")
    for destination in logs.describe_destinations(DestinationNamePrefix=f"pgaudit-{SOURCE_ACCOUNT}-")["destinations"]:
        logs.delete_destination(destinationName=destination["destinationName"])
    if any(r["RoleName"] == role for r in iam.list_roles(PathPrefix="/pgaudit-archiver/")["Roles"]):
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=policy)
        iam.delete_role(RoleName=role)
    key = {"id": {"S": f"destination-role#{SOURCE_ACCOUNT}#{world.region}"}}
    world.client("dynamodb").delete_item(TableName=world.resources["RateBudgetTable"], Key=key)


def _setup(world: World, scenario: Scenario, cluster: str) -> None:
    _as_the_accounts_first_source(world)
    if scenario.kind != AURORA_CLUSTER:
        _setup_other_kind(world, scenario, cluster)
        return
    group = None
    if scenario.custom_group:
        group = f"{cluster}-owner"
        world.create_parameter_group(group)
    world.create_cluster(cluster, instances=2, parameter_group=group)
    # The owner's log group keeps a day: onboarding raises it to the request's retention (PutRetentionPolicy).
    world.client("logs", SOURCE_ACCOUNT).put_retention_policy(
        logGroupName=f"/aws/rds/cluster/{cluster}/postgresql", retentionInDays=1
    )
    if scenario.custom_group:  # and a reader with a DB parameter group of its owner's, which onboarding reads
        rds, reader_group = world.client("rds", SOURCE_ACCOUNT), f"{cluster}-reader"
        rds.create_db_parameter_group(
            DBParameterGroupName=reader_group, DBParameterGroupFamily="aurora-postgresql15", Description="owner's"
        )
        rds.modify_db_parameter_group(
            DBParameterGroupName=reader_group,
            Parameters=[{"ParameterName": "work_mem", "ParameterValue": "65536", "ApplyMethod": "immediate"}],
        )
        rds.modify_db_instance(DBInstanceIdentifier=f"{cluster}-instance-2", DBParameterGroupName=reader_group)
    scenario.prepare(world, cluster)


def _setup_other_kind(world: World, scenario: Scenario, database: str) -> None:
    """A DB instance (on an owner's DB parameter group, or its default one) or a Multi-AZ DB cluster, consented, its
    log group keeping a day."""
    if scenario.kind == DB_INSTANCE:
        group = None
        if scenario.custom_group:
            group = f"{database}-owner"
            world.create_db_parameter_group(group, values={"work_mem": "65536"})
        world.create_instance(database, parameter_group=group, database_user=False)
        log_group = f"/aws/rds/instance/{database}/postgresql"
    else:
        world.create_multi_az_cluster(database, database_user=False)
        log_group = f"/aws/rds/cluster/{database}/postgresql"
    world.client("logs", SOURCE_ACCOUNT).put_retention_policy(logGroupName=log_group, retentionInDays=1)
    scenario.prepare(world, database)


def _resources_once(world: World, scenario: Scenario, cluster: str) -> None:
    resources_once(world, scenario.key(cluster))
    if scenario.kind == DB_INSTANCE:  # its log group is /aws/rds/instance/<id>/postgresql
        logs, group = world.client("logs", SOURCE_ACCOUNT), f"/aws/rds/instance/{cluster}/postgresql"
        if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            assert len(logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]) <= 1


@dataclass
class Recorded:
    scenario: Scenario
    invocations: list[Invocation]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with World() as emulated:
        yield emulated


@pytest.fixture(scope="module")
def recordings(world: World) -> list[Recorded]:
    """Each scenario run once, unfaulted, for RECORDING_CLUSTER-<index>: what each invocation received and called."""
    recorded = []
    for index, scenario in enumerate(SCENARIOS):
        cluster = f"{RECORDING_CLUSTER}-{index}"
        _setup(world, scenario, cluster)
        with recording(world) as invocations:
            scenario.run(world, cluster)
        for invocation in invocations:
            invocation.event = invocation.event.replace(cluster, RECORDING_CLUSTER)
        recorded.append(Recorded(scenario, invocations))
    return recorded


def _first_maker(recordings: list[Recorded], call: tuple[str, str]) -> tuple[Recorded, int] | None:
    for recorded in recordings:
        for index, invocation in enumerate(recorded.invocations):
            if call in invocation.calls:
                return recorded, index
    return None


def test_every_workflow_call_is_made_by_a_scenario(recordings):
    missing = [call for call in workflow_calls() if _first_maker(recordings, call) is None]
    assert not missing, f"no scenario makes these calls; add one: {missing}"


def test_recorded_scenarios_end_as_designed(recordings):
    for recorded in recordings:
        last = recorded.invocations[-1]
        # A workflow that fails by design ends in Record Failure; every other ends in its summary.
        ending = "RecordFailureFunction" if recorded.scenario.fails_by_design else "Summarize"
        assert last.function.startswith(ending), (recorded.scenario.name, last.function)


# ---------------------------------------------------------------------------------------------- replaying
_CASE_NUMBERS = count()


def _replay(world: World, invocation: Invocation, cluster: str) -> tuple[Any, bool]:
    event = json.loads(invocation.event.replace(RECORDING_CLUSTER, cluster))
    return world.lambdas.call(world.resources[invocation.function], event)


def _fault(service: str, kind: str) -> tuple[str, int]:
    if kind == "throttled once":
        return THROTTLING[service], 1
    if kind == "AccessDenied":
        return ACCESS_DENIED.get(service, "AccessDenied"), 1000
    return VALIDATION[service], 1000


CALLS = workflow_calls()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("service", "operation"), CALLS, ids=[f"{s}:{o}" for s, o in CALLS])
def test_fault_in_workflow_call(world, recordings, service, operation, kind):
    found = _first_maker(recordings, (service, operation))
    if found is None:
        pytest.fail(f"{service}:{operation} is made by no scenario")
    recorded, target = found
    cluster = f"case-{next(_CASE_NUMBERS)}"
    if (service, operation) == ("stepfunctions", "GetExecutionHistory"):
        _history_fault_end_to_end(world, cluster, code=_fault(service, kind)[0])
        RESULTS.append((f"{service}:{operation}", kind, True))
        return
    _setup(world, recorded.scenario, cluster)
    for invocation in recorded.invocations[:target]:
        _, errored = _replay(world, invocation, cluster)
        assert errored == invocation.errored, f"replaying {invocation.function} for {cluster} went otherwise"

    code, times = _fault(service, kind)
    fault = world.inject(service, operation, code, times=times)
    if service == "sts":  # in a new container: a warm one keeps the account's credentials and calls no AssumeRole
        sys.modules["pgaudit_archiver.handlers"].clear_container_caches()
    try:
        payload, errored = _replay(world, recorded.invocations[target], cluster)
    finally:
        world.clear_faults()
    assert fault.hits, f"replaying {recorded.invocations[target].function} made no {service}:{operation} call"
    function = recorded.invocations[target].function
    states = STATES_BY_FUNCTION[function]
    _check(payload, errored, states, service, operation, code, kind, cluster, recorded.scenario)

    # The fault is gone: the step, run again as the state machine would, goes as recorded.
    payload, errored = _replay(world, recorded.invocations[target], cluster)
    assert errored == recorded.invocations[target].errored, payload
    _resources_once(world, recorded.scenario, cluster)
    RESULTS.append((f"{service}:{operation}", kind, True))


def _check(payload, errored, states, service, operation, code, kind, cluster, scenario) -> None:
    if (service, operation) == ("rds-data", "ExecuteStatement") and kind != "throttled once":
        # The pipeline does not need the extension: a refused Data API call becomes `extension: manual`.
        assert not errored, payload
        assert payload["status"] == "manual" and code in payload["reason"], payload
        return
    if kind == "throttled once":
        if errored:  # raised: the state machine must retry it
            assert payload["errorType"] in TRANSIENT, payload
            assert all(_retried(state, payload["errorType"]) for state in states), payload
        return
    assert errored, f"{service}:{operation} {code} did not fail the step"
    error_type, message = payload["errorType"], payload["errorMessage"]
    # A role created moments ago may be refused while IAM propagates it: retried, then recorded if it persists.
    propagating = error_type == "RoleNotReadyError"
    assert error_type not in TRANSIENT or propagating, f"{code} would be retried: {payload}"
    for state in states:
        assert propagating or not _retried(state, error_type), (state["name"], error_type)
        assert _caught_into(state, error_type) == "Record Failure", (state["name"], error_type)
    # Record Failure passes our errors' message on as the execution's Cause: it must say it all.
    assert code in message, message
    failing_cluster = cluster + "-missing" if scenario.fails_by_design else cluster
    assert f"for {scenario.noun()} {failing_cluster} in account {SOURCE_ACCOUNT}" in message, message
    assert any(message.startswith(f"{state['name']} failed") for state in states), message


WORKFLOW_FUNCTIONS = sorted(set(STATES_BY_FUNCTION) - {"RecordFailureFunction"})


@pytest.mark.parametrize("function", WORKFLOW_FUNCTIONS)
def test_crash_in_each_workflow_function_is_recorded(world, function):
    """A crash (any exception Lambda reports) in each state the function serves goes to Record Failure."""
    world.crash(function)
    payload, errored = world.lambdas.call(world.resources[function], {})
    assert errored and payload["errorType"] == "RuntimeError" and "injected crash" in payload["errorMessage"]
    for state in STATES_BY_FUNCTION[function]:
        assert not _retried(state, "RuntimeError"), state["name"]
        assert _caught_into(state, "RuntimeError") == "Record Failure", state["name"]
    RESULTS.append((function, "crash", True))


# ---------------------------------------------------------------------------------------------- end to end
def test_throttled_once_then_the_execution_succeeds(world):
    world.create_cluster("e2e-throttled", instances=2)
    world.inject("firehose", "CreateDeliveryStream", "ThrottlingException", times=1)
    world.inject("logs", "PutSubscriptionFilter", "ThrottlingException", times=1)
    execution = _onboard(world, "e2e-throttled", reboot="immediate")
    world.clear_faults()
    assert execution.status == "SUCCEEDED", execution.cause
    assert world.registry_item("e2e-throttled")["status"] == "active"


def test_permanent_error_is_recorded_and_a_rerun_completes(world):
    world.create_cluster("e2e-refused", instances=2)
    world.inject("logs", "PutSubscriptionFilter", "AccessDeniedException", times=1000)
    execution = _onboard(world, "e2e-refused")
    world.clear_faults()
    assert execution.status == "FAILED"
    assert "Ensure Subscription Filter failed" in execution.cause and "AccessDeniedException" in execution.cause
    assert f"cluster e2e-refused in account {SOURCE_ACCOUNT}" in execution.cause
    item = world.registry_item("e2e-refused")
    assert item["status"] == "failed" and item["last_error"]["aws_error_code"] == "AccessDeniedException", item
    assert _onboard(world, "e2e-refused").status == "SUCCEEDED"
    resources_once(world, "e2e-refused")


@pytest.mark.parametrize(
    ("function", "offboarding"), [("EnsureDestinationFunction", False), ("DeleteDestinationFunction", True)]
)
def test_crash_names_the_step_and_a_rerun_completes(world, function, offboarding):
    cluster = f"e2e-crash-{function.lower()[:12]}"
    world.create_cluster(cluster, instances=2)
    if offboarding:
        _onboarded(world, cluster)

    def run() -> Any:
        return world.offboard(cluster, restore=True) if offboarding else _onboard(world, cluster, reboot="immediate")

    world.crash(function)
    execution = run()
    assert execution.status == "FAILED"
    state = STATES_BY_FUNCTION[function][0]["name"]
    assert execution.cause.startswith(f"{state} failed"), execution.cause
    assert "unexpected RuntimeError" in execution.cause and "injected crash" in execution.cause
    assert f"cluster {cluster} in account {SOURCE_ACCOUNT}" in execution.cause
    assert world.registry_item(cluster)["status"] == "failed"
    assert run().status == "SUCCEEDED"
    resources_once(world, cluster)


def test_registry_unreachable_fails_the_execution_unrecorded(world):
    world.create_cluster("e2e-no-registry", instances=2)
    world.inject("dynamodb", "UpdateItem", "AccessDeniedException", times=1000)
    execution = _onboard(world, "e2e-no-registry")
    world.clear_faults()
    assert execution.status == "FAILED"
    assert "AccessDeniedException" in execution.cause, execution.cause
    assert execution.states[-1]["name"] == "Onboarding Failed Unrecorded", execution.states[-1]


def _history_fault_end_to_end(world: World, cluster: str, code: str) -> None:
    """Only Record Failure reads the history (to name a crashed step): refused, it still records the failure."""
    world.create_cluster(cluster, instances=2)
    world.inject("stepfunctions", "GetExecutionHistory", code, times=1000)
    execution = _onboard(world, f"{cluster}-missing")
    world.clear_faults()
    assert execution.status == "FAILED" and f"no DB cluster named {cluster}-missing" in execution.cause
    assert world.registry_item(f"{cluster}-missing")["status"] == "failed"
