"""The committed workflows are what statemachine/spec.py generates, and what each Task passes and keeps matches the
pydantic models of the function it runs."""

import importlib
import inspect
import re
import types
import typing

import pytest
from pydantic import BaseModel

from local.template import ROOT
from pgaudit_archiver.errors import ClusterNotEligibleError, RoleNotReadyError
from pgaudit_archiver.models import StepResult
from statemachine.asl import LAMBDA_INVOKE, fields, forward, retry, stale
from statemachine.spec import WORKFLOWS
from tests.statemachine.test_asl import LAMBDA_TASKS


def test_committed_asl_equals_what_the_spec_generates():
    # regenerate with: python -m local workflows (make workflows)
    assert stale(WORKFLOWS, ROOT / "statemachine", write=False) == []


def handler_models(function_arn: str) -> tuple[type[BaseModel], type[BaseModel] | None]:
    """The event model and the result model of the function a Task invokes, from its handler's annotations."""
    words = re.fullmatch(r"\$\{(\w+)FunctionArn\}", function_arn).group(1)
    folder = re.sub(r"(?<!^)(?=[A-Z])", "_", words).lower()
    logic = inspect.unwrap(importlib.import_module(f"functions.{folder}.app").lambda_handler)
    hints = typing.get_type_hints(logic)
    returned = hints["return"]
    candidates = typing.get_args(returned) if isinstance(returned, types.UnionType) else (returned,)
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    return next(iter(hints.values())), (models[0] if models else None)


@pytest.mark.parametrize(("machine", "name", "state"), LAMBDA_TASKS, ids=[f"{m}:{n}" for m, n, _ in LAMBDA_TASKS])
def test_lambda_task_payload_fits_the_functions_event_model(machine, name, state):
    event_model, _ = handler_models(state["Parameters"]["FunctionName"])
    passed = {key.removesuffix(".$") for key in state["Parameters"]["Payload"]}
    unread = passed - set(event_model.model_fields) - {"state"}  # the handler takes the state's name out itself
    assert not unread, f"{name}: {event_model.__name__} reads no {unread}"
    required = {field for field, info in event_model.model_fields.items() if info.is_required()}
    assert required <= passed, f"{name}: {event_model.__name__} needs {required - passed}"


@pytest.mark.parametrize(("machine", "name", "state"), LAMBDA_TASKS, ids=[f"{m}:{n}" for m, n, _ in LAMBDA_TASKS])
def test_lambda_task_keeps_only_fields_its_function_returns(machine, name, state):
    # Step Functions fails the state when a ResultSelector path is missing from the result (States.Runtime).
    _, result_model = handler_models(state["Parameters"]["FunctionName"])
    paths = state.get("ResultSelector", {}).values()
    selected = {path.removeprefix("$.Payload.") for path in paths if path.startswith("$.Payload.")}
    if result_model is not None:
        assert selected <= set(result_model.model_fields), name


def test_result_selector_keeps_a_field_added_to_the_model():
    class Widened(StepResult):
        widened: bool = False

    assert fields(Widened)["widened.$"] == "$.Payload.widened"
    assert "polls.$" not in fields(Widened, drop=("polls",))


def test_payload_forwards_a_field_added_to_the_event_model():
    class Widened(BaseModel):
        state: str
        request: dict
        extra: int

    assert forward(Widened, request="$$.Execution.Input") == {"request": "$$.Execution.Input", "extra": "$.extra"}


def test_retry_refuses_a_permanent_error():
    assert retry(RoleNotReadyError, interval=1, attempts=2, backoff=2).errors == ("RoleNotReadyError",)
    with pytest.raises(AssertionError, match="permanent"):
        retry(ClusterNotEligibleError, interval=1, attempts=2, backoff=2)


def test_every_lambda_task_of_the_spec_is_in_the_generated_files():
    generated = {name for workflow in WORKFLOWS for name in _task_names(workflow.asl()["States"])}
    assert generated == {name for _, name, _ in LAMBDA_TASKS}


def _task_names(states: dict) -> set[str]:
    found = {name for name, state in states.items() if state.get("Resource") == LAMBDA_INVOKE}
    for state in states.values():
        if state["Type"] == "Map":
            found |= _task_names(state["ItemProcessor"]["States"])
    return found
