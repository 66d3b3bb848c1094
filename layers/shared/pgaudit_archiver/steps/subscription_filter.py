"""Ensure Subscription Filter: the source log group's filter to our destination, never touching anyone else's."""

from __future__ import annotations

from pgaudit_archiver.aws.logs import SLOTS_FULL_CODE, SourceLogs
from pgaudit_archiver.errors import SubscriptionSlotsFullError
from pgaudit_archiver.models import ResolvedRequest, StepResult
from pgaudit_archiver.naming import SUBSCRIPTION_FILTER_NAME, source_log_group


def ensure_subscription_filter(logs: SourceLogs, request: ResolvedRequest, destination_arn: str) -> StepResult:
    log_group = source_log_group(request.source)
    filters = logs.subscription_filters(log_group)
    ours = next(
        (
            f
            for f in filters
            if f["filterName"] == SUBSCRIPTION_FILTER_NAME or f.get("destinationArn") == destination_arn
        ),
        None,
    )
    resources = {"subscription_filter": f"{log_group}:{SUBSCRIPTION_FILTER_NAME}"}
    if ours and ours.get("destinationArn") == destination_arn and ours.get("filterPattern") == request.filter_pattern:
        resources["subscription_filter"] = f"{log_group}:{ours['filterName']}"
        return StepResult(resources=resources)
    name = ours["filterName"] if ours else SUBSCRIPTION_FILTER_NAME
    if not logs.put_subscription_filter(log_group, name, request.filter_pattern, destination_arn):
        existing = "; ".join(f"{f['filterName']} -> {f.get('destinationArn', '?')}" for f in filters) or "none listed"
        raise SubscriptionSlotsFullError(
            f"log group {log_group} has no free subscription filter slot; its filters are: {existing}",
            aws_error_code=SLOTS_FULL_CODE,
            remedy="remove a filter you no longer need from the log group (pgaudit-archiver never removes others')",
        )
    resources["subscription_filter"] = f"{log_group}:{name}"
    action = "updated" if ours else "created"
    return StepResult(resources=resources, changes=(f"{action} subscription filter {name} on {log_group}",))
