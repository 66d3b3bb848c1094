"""Static checks of the onboarding state machine against the code and template.yaml."""

import json
import re

import pytest

from local.template import ARCHIVE_TEMPLATE, ROOT, load_template, state_machine_substitutions
from pgaudit_archiver import errors

ASL_PATH = ROOT / "statemachine" / "onboard.asl.json"
ASL = json.loads(ASL_PATH.read_text())
STATES = ASL["States"]
TASKS = {name: state for name, state in STATES.items() if state["Type"] == "Task"}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
TRANSIENT = {cls.__name__ for cls in errors.TRANSIENT_ERRORS}
PERMANENT = {cls.__name__ for cls in errors.PERMANENT_ERRORS}


def successors(state: dict) -> set[str]:
    found = {state.get("Next"), state.get("Default")}
    found |= {choice["Next"] for choice in state.get("Choices", [])}
    found |= {catch["Next"] for catch in state.get("Catch", [])}
    return {name for name in found if name}


def test_every_next_names_an_existing_state():
    for name, state in STATES.items():
        assert successors(state) <= set(STATES), name


def test_every_state_is_reachable_from_the_start():
    seen, todo = set(), [ASL["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += successors(STATES[name])
    assert seen == set(STATES)


def test_state_names_are_title_case_phrases():
    for name in STATES:
        assert re.fullmatch(r"([A-Z][a-z]*|[A-Z]+)( [A-Z][a-z]*)*\??", name), name


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_retries_only_transient_errors(name):
    retried = {error for retry in TASKS[name]["Retry"] for error in retry["ErrorEquals"]}
    assert retried <= LAMBDA_SERVICE_ERRORS | TRANSIENT
    assert {"ThrottledError", "AwsServiceUnavailableError"} <= retried
    for retry in TASKS[name]["Retry"]:
        assert retry["BackoffRate"] > 1 and retry.get("JitterStrategy") == "FULL", name


@pytest.mark.parametrize("name", sorted(set(TASKS) - {"Record Failure"}))
def test_task_catches_permanent_errors_by_name_and_routes_them_to_record_failure(name):
    catches = TASKS[name]["Catch"]
    assert set(catches[0]["ErrorEquals"]) == PERMANENT
    assert catches[-1]["ErrorEquals"] == ["States.ALL"]
    assert {catch["Next"] for catch in catches} == {"Record Failure"}


def test_every_transient_error_is_retried_somewhere():
    retried = {error for task in TASKS.values() for retry in task["Retry"] for error in retry["ErrorEquals"]}
    assert retried >= TRANSIENT


def test_every_substitution_is_defined_in_the_template_and_used():
    used = set(re.findall(r"\$\{(\w+)\}", ASL_PATH.read_text()))
    defined = set(state_machine_substitutions(load_template(ARCHIVE_TEMPLATE), "OnboardStateMachine"))
    assert used == defined


def test_waits_are_bounded_polls_not_sleeps():
    for name, state in STATES.items():
        if state["Type"] == "Wait":
            assert state["SecondsPath"] == "$.workflow.poll_interval_seconds", name
            # a Wait always goes back to a Task that counts polls against MaxPolls
            assert "polls.$" in json.dumps(STATES[state["Next"]]["Parameters"]), name
