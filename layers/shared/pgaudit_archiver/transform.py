"""Firehose data transformation: CloudWatch Logs subscription envelopes in, one JSON line per log event out.

Contract (Firehose developer guide, data transformation): every input recordId comes back exactly once with
result Ok, Dropped or ProcessingFailed; failed records land under the stream's error prefix, nothing is lost.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import zlib
from datetime import UTC, datetime
from typing import Any

LOG_GROUP_PATTERN = re.compile(r"^/aws/rds/cluster/(?P<cluster>[^/]+)/postgresql$")
PARTITION_KEY = "event_date"


def _envelope(data: str) -> dict[str, Any]:
    return json.loads(gzip.decompress(base64.b64decode(data, validate=True)))


def _event_date(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def records_of(envelope: dict[str, Any], region: str) -> list[dict[str, Any]]:
    """One archive record per log event of a DATA_MESSAGE envelope."""
    log_group = envelope["logGroup"]
    match = LOG_GROUP_PATTERN.match(log_group)
    cluster = match.group("cluster") if match else None
    return [
        {
            "account": envelope["owner"],
            "region": region,
            "cluster": cluster,
            "instance": envelope["logStream"],
            "log_group": log_group,
            "event_id": event.get("id"),
            "event_timestamp": event["timestamp"],
            "event_time": datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC).isoformat(timespec="milliseconds"),
            "message": event["message"],
        }
        for event in envelope["logEvents"]
    ]


def transform_record(record: dict[str, Any], region: str) -> dict[str, Any]:
    record_id = record["recordId"]
    try:
        envelope = _envelope(record["data"])
    except (binascii.Error, OSError, EOFError, zlib.error, ValueError, KeyError):
        return {"recordId": record_id, "result": "ProcessingFailed", "data": record.get("data", "")}
    if envelope.get("messageType") == "CONTROL_MESSAGE":
        return {"recordId": record_id, "result": "Dropped", "data": record["data"]}
    try:
        lines = records_of(envelope, region)
    except (KeyError, TypeError, ValueError):
        return {"recordId": record_id, "result": "ProcessingFailed", "data": record["data"]}
    if not lines:
        return {"recordId": record_id, "result": "Dropped", "data": record["data"]}
    body = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
    # One partition key per output record: the date of the envelope's first event (UTC).
    return {
        "recordId": record_id,
        "result": "Ok",
        "data": base64.b64encode(body.encode()).decode(),
        "metadata": {"partitionKeys": {PARTITION_KEY: _event_date(lines[0]["event_timestamp"])}},
    }


def transform(event: dict[str, Any]) -> dict[str, Any]:
    region = event.get("region") or event["deliveryStreamArn"].split(":")[3]
    return {"records": [transform_record(record, region) for record in event["records"]]}
