"""The registry: one DynamoDB item per source (account, region, cluster), the truth about where each stands."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG
from pgaudit_archiver.kinds import DatabaseKind
from pgaudit_archiver.models import Source
from pgaudit_archiver.status import RUNNING_STATUSES, SourceStatus

BY_ACCOUNT_INDEX = "by-account"
Items = list[dict[str, Any]]  # (a name of its own: in Registry's body, `list` is its method)


def source_key(source: Source) -> str:
    return f"{source.account_id}#{source.region}#{source.key}"


def source_of_item(item: dict[str, Any]) -> Source:
    """The source a registry item is about; items written before DB instances were supported have no kind: Aurora."""
    return Source(
        account_id=item["account_id"], region=item["region"], cluster_id=item["cluster_id"],
        kind=item.get("kind") or DatabaseKind.AURORA_CLUSTER,
    )  # fmt: skip


def now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")


def _instant(at: datetime) -> str:
    """An ISO 8601 UTC time that sorts as a string, as DynamoDB compares it."""
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the API and the workflow want JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _token(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def _key_of(token: str | None) -> dict[str, Any] | None:
    return json.loads(base64.urlsafe_b64decode(token.encode())) if token else None


class Registry:
    def __init__(self, session: boto3.Session, table_name: str) -> None:
        self._table = guarded(session.resource("dynamodb", config=CLIENT_CONFIG).Table(table_name))

    def get(self, source: Source) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"source_id": source_key(source)}, ConsistentRead=True).get("Item")
        plain: dict[str, Any] | None = _plain(item) if item else None
        return plain

    def claim(
        self,
        source: Source,
        operation: str,
        request: dict[str, Any],
        stale_execution: str | None = None,
        *,
        execution_arn: str | None = None,
        console_url: str | None = None,
        claimed_by: str | None = None,
    ) -> bool:
        """Mark the source as being onboarded or offboarded unless an execution already runs for it.

        `stale_execution`: an execution that is known to have ended though the item still says it runs
        (its entry point died after claiming); it may be claimed over. `execution_arn`: the execution the claimer
        is about to start under a name it chose (an adoption); `claimed_by`: the adoption's own execution, so
        that a claim it never got to start is known stale once that adoption has ended.
        """
        condition = Attr("source_id").not_exists() | ~Attr("status").is_in(list(RUNNING_STATUSES))
        if stale_execution:
            condition = condition | Attr("execution_arn").eq(stale_execution)
        values = _running_values(source, operation, request)
        sets = (
            "SET #status = :status, account_id = :account, #region = :region, cluster_id = :cluster, #kind = :kind, "
            "#request = :request, updated_at = :now, created_at = if_not_exists(created_at, :now)"
        )
        removes = ["last_error"]
        if execution_arn:
            sets += ", execution_arn = :arn, console_url = :url"
            values |= {":arn": execution_arn, ":url": console_url or ""}
        else:
            removes += ["execution_arn", "console_url"]
        if claimed_by:
            sets += ", claimed_by = :claimed_by"
            values[":claimed_by"] = claimed_by
        else:
            removes.append("claimed_by")
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key={"source_id": source_key(source)},
                UpdateExpression=f"{sets} REMOVE {', '.join(removes)}",
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#status": "status",
                    "#region": "region",
                    "#request": "request",
                    "#kind": "kind",
                },
                ExpressionAttributeValues=_dynamo(values),
            )
            return True
        return False

    def release_claim(self, source: Source, execution_arn: str, last_error: dict[str, Any]) -> bool:
        """Record as failed a claim whose execution (`execution_arn`) was never started or ended unrecorded;
        False when the item has moved on (the execution recorded its own end, or another claim took it)."""
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key={"source_id": source_key(source)},
                UpdateExpression="SET #status = :failed, updated_at = :now, last_error = :error",
                ConditionExpression=Attr("status").is_in(list(RUNNING_STATUSES))
                & Attr("execution_arn").eq(execution_arn),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_dynamo({":failed": "failed", ":now": now(), ":error": last_error}),
            )
            return True
        return False

    def record_execution(
        self, source: Source, operation: str, execution_arn: str, console_url: str, request: dict[str, Any]
    ) -> None:
        """The workflow's first state: which execution works on the source (also for executions started
        without the API)."""
        self._table.update_item(
            Key={"source_id": source_key(source)},
            UpdateExpression=(
                "SET #status = :status, account_id = :account, #region = :region, cluster_id = :cluster, "
                "#kind = :kind, execution_arn = :arn, console_url = :url, "
                "#request = if_not_exists(#request, :request), updated_at = :now, "
                "created_at = if_not_exists(created_at, :now) REMOVE last_error"
            ),
            ExpressionAttributeNames={"#status": "status", "#region": "region", "#request": "request", "#kind": "kind"},
            ExpressionAttributeValues=_dynamo(
                {**_running_values(source, operation, request), ":arn": execution_arn, ":url": console_url}
            ),
        )

    def release(self, source: Source) -> None:
        """Undo a claim whose execution could not be started."""
        self._table.update_item(
            Key={"source_id": source_key(source)},
            UpdateExpression="SET #status = :failed, updated_at = :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":failed": SourceStatus.FAILED, ":now": now()},
        )

    def finish(
        self,
        source: Source,
        status: SourceStatus,
        fields: dict[str, Any],
        keep_first: dict[str, Any] | None = None,
        *,
        if_status: str | None = None,
    ) -> bool:
        """The workflow's end: the status and what it found; `keep_first` fields are written only once (the
        original settings offboarding restores). With `if_status`, only while the item still has that status:
        False when another writer moved it on (an onboarding claimed it) since it was read."""
        names = {"#status": "status", "#region": "region", "#kind": "kind"}
        values: dict[str, Any] = {
            ":status": status, ":now": now(), ":account": source.account_id, ":region": source.region,
            ":cluster": source.cluster_id, ":kind": str(source.kind),
        }  # fmt: skip
        sets = [
            "#status = :status", "updated_at = :now", "created_at = if_not_exists(created_at, :now)",
            "account_id = :account", "#region = :region", "cluster_id = :cluster", "#kind = :kind",
        ]  # fmt: skip
        for clauses, clause_names, clause_values in (
            _set_clauses(fields, "f"),
            _set_clauses(keep_first or {}, "k", only_if_absent=True),
        ):
            sets += clauses
            names |= clause_names
            values |= clause_values
        condition: dict[str, Any] = {}
        if if_status is not None:
            condition["ConditionExpression"] = "#status = :seen"
            values[":seen"] = if_status
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key={"source_id": source_key(source)},
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_dynamo(values),
                **condition,
            )
            return True
        return False

    def set_fields(self, source: Source, fields: dict[str, Any]) -> None:
        """Set fields without changing the status."""
        sets, names, values = _set_clauses(fields, "f")
        self._table.update_item(
            Key={"source_id": source_key(source)},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_dynamo(values),
        )

    def canary_arrived(self, source: Source, canary_id: str, arrived: datetime) -> float | None:
        """Record the canary's arrival if it is the source's current one; returns its delay in seconds."""
        item = self.get(source) or {}
        canary = item.get("canary") or {}
        if canary.get("id") != canary_id or canary.get("arrived_at"):
            return None
        delay = (arrived - datetime.fromisoformat(canary["sent_at"])).total_seconds()
        arrived_at = arrived.isoformat(timespec="milliseconds")
        self.set_fields(source, {"canary": {**canary, "arrived_at": arrived_at, "delay_seconds": delay}})
        return delay

    def delivered(self, source: Source, at: datetime, unless_since: datetime) -> bool:
        """Set `last_delivery` (and nothing else: the transform's role may write no other attribute) unless it is
        `unless_since` or later already, or the source is not registered; True when written."""
        with refused("ConditionalCheckFailedException"):
            self._table.update_item(
                Key={"source_id": source_key(source)},
                UpdateExpression="SET last_delivery = :at",
                ConditionExpression=Attr("source_id").exists()
                & (Attr("last_delivery").not_exists() | Attr("last_delivery").lt(_instant(unless_since))),
                ExpressionAttributeValues={":at": _instant(at)},
            )
            return True
        return False

    def list(
        self, account_id: str | None, status: str | None, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        options: dict[str, Any] = {"Limit": limit}
        if token:
            options["ExclusiveStartKey"] = _key_of(token)
        if status:
            options["FilterExpression"] = Attr("status").eq(status)
        if account_id:
            page = self._table.query(
                IndexName=BY_ACCOUNT_INDEX, KeyConditionExpression=Key("account_id").eq(account_id), **options
            )
        else:
            page = self._table.scan(**options)
        return [_plain(item) for item in page.get("Items", [])], _token(page.get("LastEvaluatedKey"))

    def scan_segment(
        self, statuses: tuple[str, ...], segment: int, segments: int, limit: int, start_key: str | None
    ) -> tuple[Items, str | None]:
        """One page of a parallel scan's segment: the sources in `statuses`, in key order, so the statuses a run
        changes never move a source to a page already read or still to come."""
        options: dict[str, Any] = {
            "Segment": segment,
            "TotalSegments": segments,
            "Limit": limit,
            "FilterExpression": Attr("status").is_in(list(statuses)),
            "ConsistentRead": True,
        }
        if start_key:
            options["ExclusiveStartKey"] = {"source_id": start_key}
        page = self._table.scan(**options)
        last = page.get("LastEvaluatedKey")
        return [_plain(item) for item in page.get("Items", [])], (last["source_id"] if last else None)

    def count_by_status(self) -> dict[str, int]:
        """How many sources are in each status now (a scan of the whole table reading only `status`, 1 MB a page)."""
        options: dict[str, Any] = {"ProjectionExpression": "#status", "ExpressionAttributeNames": {"#status": "status"}}
        counts: dict[str, int] = {}
        while True:
            page = self._table.scan(**options)
            for item in page.get("Items", []):
                status = str(item.get("status", "unknown"))
                counts[status] = counts.get(status, 0) + 1
            if "LastEvaluatedKey" not in page:
                return counts
            options["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _set_clauses(
    fields: dict[str, Any], prefix: str, only_if_absent: bool = False
) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """`SET` clauses for arbitrary attribute names, with placeholders (names may be reserved words)."""
    sets, names, values = [], {}, {}
    for index, (name, value) in enumerate(fields.items()):
        key = f"{prefix}{index}"
        names[f"#{key}"] = name
        values[f":{key}"] = value
        sets.append(f"#{key} = if_not_exists(#{key}, :{key})" if only_if_absent else f"#{key} = :{key}")
    return sets, names, values


def _running_values(source: Source, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    return {
        ":status": SourceStatus.ONBOARDING if operation == "onboard" else SourceStatus.OFFBOARDING,
        ":account": source.account_id,
        ":region": source.region,
        ":cluster": source.cluster_id,
        ":kind": str(source.kind),
        ":request": request,
        ":now": now(),
    }


def _dynamo(value: Any) -> Any:
    """Floats are not DynamoDB numbers; JSON round-trips them into Decimals."""
    return json.loads(json.dumps(value), parse_float=Decimal)
