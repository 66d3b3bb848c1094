"""What the state machine passes to each step's function (the Payload of each Task state)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from pgaudit_archiver.models import ClusterFacts, Model, ResolvedRequest


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
