"""What the state machine passes to each step's function (the Payload of each Task state).

Every Payload also carries `state` ($$.State.Name), which the handler skeleton (handlers.workflow_handler) names
the step by. The models here accept it (StepPayload); the skeleton takes it off for a model that does not declare it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from pgaudit_archiver.models import AnyOffboardRequest, ClusterFacts, Model, ResolvedRequest, Source, StepResult


class StepPayload(Model):
    state: str | None = None  # the Task state's name; None when the function is invoked directly


class ValidateEvent(StepPayload):
    request: Any  # the raw execution input: validating it is the step's job
    polls: int = 0


class StepEvent(StepPayload):
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


class FailureEvent(StepPayload):
    model_config = ConfigDict(extra="ignore", frozen=True)

    request: Any
    failure: dict[str, Any]
    execution_arn: str
    state: str  # this state's own name ($$.State.Name): the failed state is the one entered before it


class RegisterEvent(StepPayload):
    request: Any
    operation: Literal["onboard", "offboard"]
    execution_arn: str


class OffboardStepEvent(StepPayload):
    request: AnyOffboardRequest
    polls: int = 0


class RestoreEvent(OffboardStepEvent):
    original_parameter_group: str | None = None
    changes: tuple[str, ...] = ()


class OffboardSummaryEvent(StepPayload):
    model_config = ConfigDict(extra="ignore", frozen=True)

    request: AnyOffboardRequest
    subscription_filter: StepResult
    restore: StepResult
    destination: StepResult
    delivery_stream: StepResult


class SourceEvent(StepPayload):
    source: Source


class SegmentProgress(Model):
    """Where one segment of a run stands: the Map runs one loop per segment, one invocation per turn, so neither
    the source list nor the per-source results travel in a state payload or in the execution's history."""

    segment: int = 0
    segments: int = 1
    cursor: str | None = None  # the key of the last source handled (DynamoDB's ExclusiveStartKey)
    done: bool = False
    source: Source | None = None  # a run for one source (POST /clusters/.../verify) instead of a segment
    checked: int = 0
    drifted: int = 0
    repairing: int = 0
    unverified: int = 0
    silent: int = 0  # sources with a sign that nothing reaches the archive (reconcile.SILENCE_KINDS)
    canaries_late: int = 0
    longest_without_delivery_minutes: int = 0  # the most of any source checked (liveness.minutes_without_delivery)


class DriftCountEvent(StepPayload):
    registered: int
    by_status: dict[str, int] = {}
    segments: list[SegmentProgress]
