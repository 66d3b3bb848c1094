"""What every handler repeats, in one place: the Powertools decorators, the function's settings (validated once per
container), and for a workflow step the event parsed into its model, the result dumped as JSON, and errors named
for the state machine with the state that failed and the source.

A workflow step's app.py is then a few lines:

    @workflow_handler(StepEvent, EnsureDeliveryStreamSettings)
    def lambda_handler(step: StepEvent, settings: EnsureDeliveryStreamSettings) -> StepResult:
        return ensure_delivery_stream(archive_account(settings).firehose, settings, step.request.source, step.polls)

The state's name comes from the state machine (each Task passes `"state.$": "$$.State.Name"`), so a function that
serves two states (Ensure and Check Delivery Stream) names the one that failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from pgaudit_archiver.aws.accounts import clear_account_caches
from pgaudit_archiver.aws.page_token_key import page_token_key
from pgaudit_archiver.errors import ArchiverError
from pgaudit_archiver.observability import logger, observed
from pgaudit_archiver.settings import FunctionSettings, clear_settings_cache, get_settings
from pgaudit_archiver.steps.failure import describe_source

Handler = Callable[[Any, Any], dict[str, Any]]
EventT = TypeVar("EventT", bound=BaseModel)
SettingsT = TypeVar("SettingsT", bound=FunctionSettings)
STATE_KEY = "state"  # the Payload key each Lambda task sets to $$.State.Name

# Each function module's settings model (tests check it against the variables template.yaml sets).
SETTINGS_MODELS: dict[str, type[FunctionSettings]] = {}


def function_handler(
    settings_model: type[SettingsT], *, correlation_id_path: str | None = None
) -> Callable[[Callable[[Any, Any, SettingsT], Any]], Handler]:
    """A handler that is not a workflow step (API, EventBridge, Firehose): `handler(event, context, settings)`."""

    def decorate(handler: Callable[[Any, Any, SettingsT], Any]) -> Handler:
        SETTINGS_MODELS[handler.__module__] = settings_model

        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            return handler(event, context, get_settings(settings_model))

        return observed(correlation_id_path)(run)

    return decorate


def workflow_handler(
    event_model: type[EventT],
    settings_model: type[SettingsT],
    *,
    correlation_id_path: str | None = "request.cluster_id",
) -> Callable[[Callable[[EventT, SettingsT], BaseModel | dict[str, Any]]], Handler]:
    """A workflow step: `logic(event, settings)` with the Task's Payload parsed into `event_model`; its result is
    returned as JSON. An ArchiverError (its class name is the Step Functions error) leaves naming the state and the
    source, a missing or invalid environment variable included (ConfigurationError)."""

    def decorate(logic: Callable[[EventT, SettingsT], BaseModel | dict[str, Any]]) -> Handler:
        SETTINGS_MODELS[logic.__module__] = settings_model

        @functools.wraps(logic)
        def run(event: Any, context: Any) -> dict[str, Any]:
            step = state_name(event, context)
            logger.append_keys(step=step)
            try:
                settings = get_settings(settings_model)
                result = logic(event_model.model_validate(step_input(event, event_model)), settings)
            except ArchiverError as error:
                error.add_context(step=step, source=_source_of(event))
                raise
            return result.model_dump(mode="json") if isinstance(result, BaseModel) else result

        return observed(correlation_id_path)(run)

    return decorate


def state_name(event: Any, context: Any) -> str:
    """The state machine's name for the state that invoked us; for a direct invocation, the function's name."""
    state = event.get(STATE_KEY) if isinstance(event, dict) else None
    if isinstance(state, str) and state:
        return state
    return str(getattr(context, "function_name", None) or "direct invocation")


def step_input(event: Any, event_model: type[BaseModel]) -> Any:
    """The Payload without the state's name, unless the event model asks for it."""
    if isinstance(event, dict) and STATE_KEY in event and STATE_KEY not in event_model.model_fields:
        return {key: value for key, value in event.items() if key != STATE_KEY}
    return event


def clear_container_caches() -> None:
    """Forget the settings, clients and credentials kept between invocations, as a new container would not have
    them. The Lambda service never needs this; the local emulation calls it for each emulated deployment, whose
    AWS (and AssumeRole credentials) are new."""
    clear_settings_cache()
    clear_account_caches()
    page_token_key.cache_clear()


def _source_of(event: Any) -> str | None:
    """The cluster the step works on: the request's (cluster workflows) or the source's (reconciliation)."""
    if not isinstance(event, dict):
        return None
    named = event.get("request") or event.get("source")
    return describe_source(named) if isinstance(named, dict) else None
