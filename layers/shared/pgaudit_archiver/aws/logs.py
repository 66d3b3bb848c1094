"""CloudWatch Logs calls: the source's log group and subscription filter, the archive's destination."""

from __future__ import annotations

import json
from typing import Any

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG, ClientMaker

# PutSubscriptionFilter's answer when the log group has no free filter slot.
SLOTS_FULL_CODE = "LimitExceededException"


class SourceLogs:
    def __init__(self, session: ClientMaker) -> None:
        self._logs = guarded(session.client("logs", config=CLIENT_CONFIG))

    def describe_log_group(self, name: str) -> dict[str, Any] | None:
        groups: list[dict[str, Any]] = self._logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        return next((group for group in groups if group["logGroupName"] == name), None)

    def log_group_tags(self, arn: str) -> dict[str, str] | None:
        """The log group's tags; None when it does not exist."""
        with refused("ResourceNotFoundException"):
            tags: dict[str, str] = self._logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
            return tags
        return None

    def put_retention(self, name: str, days: int) -> None:
        self._logs.put_retention_policy(logGroupName=name, retentionInDays=days)

    def subscription_filters(self, log_group: str) -> list[dict[str, Any]]:
        """The log group's filters; none when the group does not exist."""
        with refused("ResourceNotFoundException"):
            filters: list[dict[str, Any]] = self._logs.describe_subscription_filters(logGroupName=log_group).get(
                "subscriptionFilters", []
            )
            return filters
        return []

    def delete_subscription_filter(self, log_group: str, name: str) -> None:
        self._logs.delete_subscription_filter(logGroupName=log_group, filterName=name)

    def put_subscription_filter(self, log_group: str, name: str, pattern: str, destination_arn: str) -> bool:
        """Create or update the filter; False when the log group has no free filter slot (AWS's limit, read
        from its refusal rather than assumed: it has changed over time)."""
        # No roleArn: a cross-account logical destination carries its own role.
        with refused(SLOTS_FULL_CODE):
            self._logs.put_subscription_filter(
                logGroupName=log_group, filterName=name, filterPattern=pattern, destinationArn=destination_arn
            )
            return True
        return False


class ArchiveLogs:
    def __init__(self, session: ClientMaker) -> None:
        self._logs = guarded(session.client("logs", config=CLIENT_CONFIG))

    def describe_destination(self, name: str) -> dict[str, Any] | None:
        found: list[dict[str, Any]] = self._logs.describe_destinations(DestinationNamePrefix=name).get(
            "destinations", []
        )
        return next((destination for destination in found if destination["destinationName"] == name), None)

    def destinations_with_prefix(self, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self._logs.get_paginator("describe_destinations").paginate(DestinationNamePrefix=prefix):
            found += page.get("destinations", [])
        return found

    def put_destination(self, name: str, target_arn: str, role_arn: str, tags: dict[str, str] | None) -> dict[str, Any]:
        """Creates or updates the destination; `tags` only when creating (PutDestination takes them only then)."""
        options = {"tags": tags} if tags else {}
        destination: dict[str, Any] = self._logs.put_destination(
            destinationName=name, targetArn=target_arn, roleArn=role_arn, **options
        )["destination"]
        return destination

    def delete_destination(self, name: str) -> None:
        self._logs.delete_destination(destinationName=name)

    def put_destination_policy(self, name: str, policy: dict[str, Any]) -> None:
        # No forceUpdate: it affirms that the senders' subscription filters were updated for a policy granting an
        # organization (aws:PrincipalOrgID) instead of accounts (PutDestinationPolicy API reference). Ours names
        # one source account.
        self._logs.put_destination_policy(destinationName=name, accessPolicy=json.dumps(policy))
