"""CloudWatch Logs subscription envelopes as Firehose hands them to the transform: base64 of gzip of JSON."""

import base64
import gzip
import json
from typing import Any

SOURCE_ENVELOPE = {
    "messageType": "DATA_MESSAGE",
    "owner": "111122223333",
    "logGroup": "/aws/rds/cluster/orders/postgresql",
    "logStream": "orders-instance-1",
    "subscriptionFilters": ["pgaudit-archiver"],
}


def envelope(events: list[dict[str, Any]], **changes: Any) -> str:
    """The record data of an envelope from the orders cluster's log group; `changes` replace its fields."""
    body = {**SOURCE_ENVELOPE, "logEvents": events, **changes}
    return base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()
