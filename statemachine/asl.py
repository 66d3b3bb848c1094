"""Builders for the Amazon States Language that statemachine/spec.py describes the workflows in, and the writer of
statemachine/*.asl.json. Tooling only: the product's Lambdas never import this package."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pgaudit_archiver import errors
from pgaudit_archiver.handlers import STATE_KEY

State = tuple[str, dict[str, Any]]
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# "Lambda.ServiceException", ... are Step Functions' names for Lambda's own failures, not the function's errors.
SERVICE_ERROR_PREFIXES = ("Lambda.", "StepFunctions.")
# Key order of the committed files, so a diff shows what changed, not how it was written.
KEY_ORDER = [
    "Type", "Comment", "Resource", "Parameters", "ItemsPath", "MaxConcurrencyPath", "ItemSelector", "ItemProcessor",
    "Result", "ResultSelector", "ResultPath", "OutputPath", "Retry", "Catch", "Choices", "Default", "SecondsPath",
    "ErrorPath", "CausePath", "Next", "End",
]  # fmt: skip
OMIT = object()  # no ResultPath key at all (Step Functions' default "$"), unlike None (JSON null: discard the result)


@dataclass(frozen=True)
class Retrier:
    errors: tuple[str, ...]
    interval: int
    attempts: int
    backoff: float
    max_delay: int | None = None

    def asl(self) -> dict[str, Any]:
        retrier: dict[str, Any] = {"ErrorEquals": list(self.errors), "IntervalSeconds": self.interval}
        retrier |= {"MaxAttempts": self.attempts, "BackoffRate": self.backoff}
        if self.max_delay is not None:
            retrier["MaxDelaySeconds"] = self.max_delay
        return retrier | {"JitterStrategy": "FULL"}


def retry(
    *retried: str | type[errors.ArchiverError],
    interval: int,
    attempts: int,
    backoff: float,
    max_delay: int | None = None,
) -> Retrier:
    """Retries only what is transient: AWS service errors by their Step Functions name, or our TransientErrors."""
    names = []
    for error in retried:
        if isinstance(error, str):
            assert error.startswith(SERVICE_ERROR_PREFIXES), f"{error}: retry names a project error by its class"
            names.append(error)
        else:
            assert error in errors.TRANSIENT_ERRORS, f"{error.__name__} is permanent: catch it, never retry it"
            names.append(error.__name__)
    return Retrier(tuple(names), interval, attempts, backoff, max_delay)


def catch(caught: Iterable[str | type[errors.ArchiverError]], goto: str, into: str = "$.failure") -> dict[str, Any]:
    names = [error if isinstance(error, str) else error.__name__ for error in caught]
    return {"ErrorEquals": names, "ResultPath": into, "Next": goto}


def substitution(function: str) -> str:
    """A function folder's ARN as the template substitutes it: functions/plan_run -> ${PlanRunFunctionArn}."""
    return "${" + "".join(word.title() for word in function.split("_")) + "FunctionArn}"


def forward(model: type[BaseModel], **paths: str) -> dict[str, str]:
    """A payload with every field of the function's event model, each from the same key of the state's input
    unless `paths` names another place: a field added to the model is passed without touching the spec."""
    return {field: paths.get(field, f"$.{field}") for field in model.model_fields if field != STATE_KEY}


def fields(model: type[BaseModel], *, drop: Iterable[str] = (), **computed: str) -> dict[str, str]:
    """A ResultSelector keeping every field of the result model but those dropped by name (to keep the state
    small), so a new field is kept unless the spec says otherwise."""
    dropped = set(drop)
    assert dropped <= set(model.model_fields), f"{model.__name__} has no field {dropped - set(model.model_fields)}"
    kept = {f"{name}.$": f"$.Payload.{name}" for name in model.model_fields if name not in dropped | {STATE_KEY}}
    return kept | {f"{name}.$": path for name, path in computed.items()}


def _ordered(state: dict[str, Any]) -> dict[str, Any]:
    assert set(state) <= set(KEY_ORDER), set(state) - set(KEY_ORDER)
    return {key: state[key] for key in KEY_ORDER if key in state}


def _goto(then: str | None) -> dict[str, Any]:
    return {"Next": then} if then else {"End": True}


def _is_path(value: Any) -> bool:
    # "${X}" is a DefinitionSubstitution, a literal once deployed; "$.x" and "$$.x" are paths.
    return isinstance(value, str) and (value == "$" or value.startswith(("$.", "$$.")))


def _parameters(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload value that is a path gets its key's .$ suffix; anything else is a literal."""
    return {(f"{key}.$" if _is_path(value) else key): value for key, value in payload.items()}


def task(
    name: str,
    function: str,
    comment: str,
    payload: dict[str, Any],
    *,
    then: str,
    result: dict[str, str] | None = None,
    into: Any = "$",
    output: str | None = None,
    retries: tuple[Retrier, ...] | None = None,
    catches: list[dict[str, Any]] | None = None,
) -> State:
    """A Lambda Task. Retry and Catch left out take the workflow's policies."""
    parameters = {
        "FunctionName": substitution(function),
        "Payload": _parameters(payload) | {"state.$": "$$.State.Name"},
    }
    state: dict[str, Any] = {"Type": "Task", "Comment": comment, "Resource": LAMBDA_INVOKE, "Parameters": parameters}
    if result is not None:
        state["ResultSelector"] = result
    if into is not OMIT:
        state["ResultPath"] = into
    if output is not None:
        state["OutputPath"] = output
    if retries is not None:
        state["Retry"] = [retrier.asl() for retrier in retries]
    if catches is not None:
        state["Catch"] = catches
    return name, state | {"Next": then}


def service_task(
    name: str, resource: str, comment: str, parameters: dict[str, Any], *, then: str, **rest: Any
) -> State:
    """A Task calling an AWS service integration directly; it states its own Retry and Catch."""
    state = {"Type": "Task", "Comment": comment, "Resource": resource, "Parameters": _parameters(parameters)}
    rest["Retry"] = [retrier.asl() for retrier in rest.pop("Retry")]
    return name, _ordered(state | rest | {"Next": then})


def is_true(variable: str, then: str) -> dict[str, Any]:
    return {"Variable": variable, "BooleanEquals": True, "Next": then}


def choice(name: str, *rules: dict[str, Any], default: str, comment: str | None = None) -> State:
    state = {"Type": "Choice"} | ({"Comment": comment} if comment else {})
    return name, state | {"Choices": list(rules), "Default": default}


def wait(name: str, comment: str, seconds_path: str, *, then: str) -> State:
    return name, {"Type": "Wait", "Comment": comment, "SecondsPath": seconds_path, "Next": then}


def pass_(name: str, comment: str | None = None, *, then: str | None = None, **fields: Any) -> State:
    """A Pass state; `fields` are its ASL keys (Result, Parameters, ResultPath, OutputPath)."""
    state = {"Type": "Pass"} | ({"Comment": comment} if comment else {})
    if "Parameters" in fields:
        fields["Parameters"] = _parameters(fields["Parameters"])
    return name, _ordered(state | fields | _goto(then))


def succeed(name: str) -> State:
    return name, {"Type": "Succeed"}


def fail(name: str, comment: str, error_path: str, cause_path: str) -> State:
    return name, {"Type": "Fail", "Comment": comment, "ErrorPath": error_path, "CausePath": cause_path}


def inline_map(
    name: str,
    comment: str,
    items: str,
    concurrency: str,
    selector: dict[str, Any],
    states: list[State],
    *,
    into: str,
    then: str,
) -> State:
    processor = {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": states[0][0], "States": dict(states)}
    state = {"Type": "Map", "Comment": comment, "ItemsPath": items, "MaxConcurrencyPath": concurrency}
    return name, state | {
        "ItemSelector": _parameters(selector),
        "ItemProcessor": processor,
        "ResultPath": into,
        "Next": then,
    }


@dataclass(frozen=True)
class Workflow:
    file: str  # statemachine/<file>.asl.json
    comment: str
    states: list[State]
    retries: tuple[Retrier, ...]  # every Lambda Task's Retry unless it states its own
    catches: list[dict[str, Any]] | None = None  # every Lambda Task's Catch unless it states its own

    def asl(self) -> dict[str, Any]:
        return {"Comment": self.comment, "StartAt": self.states[0][0], "States": self._complete(self.states)}

    def _complete(self, states: list[State]) -> dict[str, Any]:
        names = [name for name, _ in states]
        assert len(names) == len(set(names)), f"{self.file}: a state name is used twice"
        completed = {}
        for name, given in states:
            state = dict(given)
            if state["Type"] == "Map":
                inner = state["ItemProcessor"]
                state["ItemProcessor"] = inner | {"States": self._complete(list(inner["States"].items()))}
            if state.get("Resource") == LAMBDA_INVOKE:
                assert "Catch" in state or self.catches is not None, f"{self.file}: {name} catches nothing"
                state = {"Retry": [retrier.asl() for retrier in self.retries], "Catch": self.catches} | state
            completed[name] = _ordered(state)
        return completed


def render(workflow: Workflow) -> str:
    return json.dumps(workflow.asl(), indent=2) + "\n"


def stale(workflows: Iterable[Workflow], folder: Path, *, write: bool) -> list[str]:
    """The files that differ from what the spec generates; with `write`, rewritten."""
    differing = []
    for workflow in workflows:
        path = folder / f"{workflow.file}.asl.json"
        text = render(workflow)
        if not path.exists() or path.read_text() != text:
            differing.append(path.name)
            if write:
                path.write_text(text)
    return differing
