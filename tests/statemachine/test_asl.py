"""Static checks of every state machine in template.yaml against its ASL file, the code and the template."""

import json
import re

import pytest

from local.template import ARCHIVE_TEMPLATE, ROOT, load_template, state_machine_substitutions
from pgaudit_archiver import errors

TEMPLATE = load_template(ARCHIVE_TEMPLATE)
MACHINES = {
    logical_id: ROOT / resource["Properties"]["DefinitionUri"]
    for logical_id, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::StateMachine"
}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
TRANSIENT = {cls.__name__ for cls in errors.TRANSIENT_ERRORS}
PERMANENT = {cls.__name__ for cls in errors.PERMANENT_ERRORS}


def asl(machine: str) -> dict:
    return json.loads(MACHINES[machine].read_text())


def all_states(states: dict) -> dict:
    """States, including those inside Map and Parallel states."""
    found = dict(states)
    for state in states.values():
        if state["Type"] == "Map":
            found |= all_states(state["ItemProcessor"]["States"])
        for branch in state.get("Branches", []):
            found |= all_states(branch["States"])
    return found


def tasks(machine: str) -> list[tuple[str, str, dict]]:
    states = all_states(asl(machine)["States"])
    return [(machine, name, state) for name, state in states.items() if state["Type"] == "Task"]


ALL_TASKS = [task for machine in MACHINES for task in tasks(machine)]
TASK_IDS = [f"{machine}:{name}" for machine, name, _ in ALL_TASKS]


def successors(state: dict) -> set[str]:
    found = {state.get("Next"), state.get("Default")}
    found |= {choice["Next"] for choice in state.get("Choices", [])}
    found |= {catch["Next"] for catch in state.get("Catch", [])}
    return {name for name in found if name}


def test_every_workflow_is_in_the_template():
    assert set(MACHINES) == {
        "OnboardStateMachine",
        "OffboardStateMachine",
        "ReconcileStateMachine",
        "AdoptStateMachine",
        "AdoptOrganizationStateMachine",
    }


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_every_next_names_an_existing_state(machine):
    states = asl(machine)["States"]
    for name, state in states.items():
        assert successors(state) <= set(states), name


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_every_state_is_reachable_from_the_start(machine):
    definition = asl(machine)
    seen, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += successors(definition["States"][name])
    assert seen == set(definition["States"])


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_state_names_are_title_case_phrases(machine):
    for name in asl(machine)["States"]:
        assert re.fullmatch(r"([A-Z][a-z]*|[A-Z]+)( [A-Z][a-z]*)*\??", name), name


LAMBDA_TASKS = [task for task in ALL_TASKS if task[2]["Resource"] == "arn:aws:states:::lambda:invoke"]
NESTED_ONBOARDING = "arn:aws:states:::states:startExecution.sync:2"


def test_every_task_invokes_a_lambda_function_but_adoptions_onboarding():
    others = [(m, n, t["Resource"]) for m, n, t in ALL_TASKS if (m, n, t) not in LAMBDA_TASKS]
    assert sorted(others) == [
        ("AdoptOrganizationStateMachine", "Adopt Account", NESTED_ONBOARDING),  # each account's adoption
        ("AdoptStateMachine", "Onboard Cluster", NESTED_ONBOARDING),
    ]


def test_adoption_awaits_each_onboarding_and_counts_its_failure():
    states = all_states(asl("AdoptStateMachine")["States"])
    onboard = states["Onboard Cluster"]
    assert onboard["Parameters"]["StateMachineArn"] == "${OnboardStateMachineArn}"
    retried = {error for retry in onboard["Retry"] for error in retry["ErrorEquals"]}
    assert retried and all(error.startswith("StepFunctions.") for error in retried)  # never the onboarding's failure
    [catch] = onboard["Catch"]
    # Release Claim records a claim whose onboarding never started, then the failure is counted (a Pass).
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "Release Claim"
    assert states[states["Release Claim"]["Next"]]["Type"] == "Pass"
    assert onboard["Parameters"]["Name.$"] == "$.claim.execution_name"  # the name its claim holds
    map_state = asl("AdoptStateMachine")["States"]["Onboard Clusters"]
    assert map_state["MaxConcurrencyPath"] == "$.page.concurrency"


@pytest.mark.parametrize(("machine", "name", "state"), LAMBDA_TASKS, ids=[f"{m}:{n}" for m, n, _ in LAMBDA_TASKS])
def test_lambda_task_passes_its_state_name(machine, name, state):
    # The handler skeleton names the failed step by it: a function serving two states names the right one.
    payload = state["Parameters"].get("Payload")
    assert isinstance(payload, dict), f"{name}: the Payload must be an object that carries the state name"
    assert payload.get("state.$") == "$$.State.Name", name


@pytest.mark.parametrize(("machine", "name", "state"), LAMBDA_TASKS, ids=[f"{m}:{n}" for m, n, _ in LAMBDA_TASKS])
def test_task_retries_only_transient_errors(machine, name, state):
    retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
    assert retried <= LAMBDA_SERVICE_ERRORS | TRANSIENT
    assert {"ThrottledError", "AwsServiceUnavailableError"} <= retried
    for retry in state["Retry"]:
        assert retry["BackoffRate"] > 1 and retry.get("JitterStrategy") == "FULL", name


FLEET_WORKFLOWS = (
    "ReconcileStateMachine",
    "AdoptStateMachine",
    "AdoptOrganizationStateMachine",
)  # many sources: each counted, none fatal
CLUSTER_WORKFLOW_TASKS = [t for t in ALL_TASKS if t[0] not in FLEET_WORKFLOWS and t[1] != "Record Failure"]


@pytest.mark.parametrize(
    ("machine", "name", "state"), CLUSTER_WORKFLOW_TASKS, ids=[f"{m}:{n}" for m, n, _ in CLUSTER_WORKFLOW_TASKS]
)
def test_task_catches_permanent_errors_by_name_and_routes_them_to_record_failure(machine, name, state):
    catches = state["Catch"]
    assert set(catches[0]["ErrorEquals"]) == PERMANENT
    assert catches[-1]["ErrorEquals"] == ["States.ALL"]
    assert {catch["Next"] for catch in catches} == {"Record Failure"}


@pytest.mark.parametrize(
    ("machine", "name", "state"),
    [t for t in ALL_TASKS if t[0] in FLEET_WORKFLOWS],
    ids=[f"{m}:{n}" for m, n, _ in ALL_TASKS if m in FLEET_WORKFLOWS],
)
def test_fleet_workflow_tasks_catch_everything_into_a_recorded_outcome(machine, name, state):
    states = all_states(asl(machine)["States"])
    [catch] = state["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    handler = states[catch["Next"]]
    if handler["Type"] == "Task":  # a step that records the failure first (Release Claim), then counts it
        exits = {handler["Next"]} | {c["Next"] for c in handler["Catch"]}
        assert {states[exit]["Type"] for exit in exits} <= {"Fail", "Pass"}, name
    else:
        assert handler["Type"] in {"Fail", "Pass"}


def test_every_transient_error_is_retried_somewhere():
    retried = {error for _, _, task in LAMBDA_TASKS for retry in task["Retry"] for error in retry["ErrorEquals"]}
    assert retried >= TRANSIENT


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_every_substitution_is_defined_in_the_template_and_used(machine):
    used = set(re.findall(r"\$\{(\w+)\}", MACHINES[machine].read_text()))
    assert used == set(state_machine_substitutions(TEMPLATE, machine))


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_waits_are_bounded_polls_not_sleeps(machine):
    states = asl(machine)["States"]
    for name, state in states.items():
        if state["Type"] != "Wait":
            continue
        if state["SecondsPath"] == "$.workflow.flush_wait_seconds":
            continue  # a single wait for Firehose's buffer, not a poll
        assert state["SecondsPath"] == "$.workflow.poll_interval_seconds", name
        # a poll goes back to a Task that counts polls against MaxPolls
        assert "polls.$" in json.dumps(states[state["Next"]]["Parameters"]), name
