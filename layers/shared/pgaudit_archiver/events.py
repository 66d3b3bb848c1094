"""What the state machine passes to each step's function (the Payload of each Task state)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from pgaudit_archiver.models import ClusterFacts, Model, OffboardRequest, ResolvedRequest, Source, StepResult


class ValidateEvent(Model):
    request: Any  # the raw execution input: validating it is the step's job
    polls: int = 0


class StepEvent(Model):
    request: ResolvedRequest
    polls: int = 0


class DestinationRoleEvent(StepEvent):
    stream_arn: str


class DestinationEvent(StepEvent):
    stream_arn: str
    role_arn: str
    role_fresh: bool


class ParameterGroupEvent(StepEvent):
    cluster: ClusterFacts


class RebootEvent(StepEvent):
    expected: tuple[str, ...]
    rebooted: tuple[str, ...] = ()


class ExtensionEvent(StepEvent):
    cluster: ClusterFacts
    pending_reboot: tuple[str, ...]


class SubscriptionFilterEvent(StepEvent):
    destination_arn: str


class FailureEvent(Model):
    model_config = ConfigDict(extra="ignore", frozen=True)

    request: Any
    failure: dict[str, Any]
    execution_arn: str
    state_name: str


class RegisterEvent(Model):
    request: Any
    operation: Literal["onboard", "offboard"]
    execution_arn: str


class OffboardStepEvent(Model):
    request: OffboardRequest
    polls: int = 0


class RestoreEvent(OffboardStepEvent):
    original_parameter_group: str | None = None
    changes: tuple[str, ...] = ()


class OffboardSummaryEvent(Model):
    model_config = ConfigDict(extra="ignore", frozen=True)

    request: OffboardRequest
    subscription_filter: StepResult
    restore: StepResult
    destination: StepResult
    delivery_stream: StepResult


class SourceEvent(Model):
    source: Source


class DriftCountEvent(Model):
    results: list[dict[str, Any]]
