"""The C encoder (layers/linecodec) against the pure-Python reference (logline + transform.archive_record)."""

from __future__ import annotations

from typing import Any

import orjson
import pgaudit_linecodec

from pgaudit_archiver import transform

SOURCE = {
    "account": "111122223333",
    "region": "eu-west-1",
    "cluster": "orders",
    "instance": "orders-instance-1",
    "log_group": "/aws/rds/cluster/orders/postgresql",
}


def reference_lines(events: list[dict[str, Any]], audit_only: bool = False) -> bytes:
    return b"".join(transform.reference_line(event, SOURCE, audit_only) for event in events)


def native(events: list[dict[str, Any]], audit_only: bool = False) -> tuple[list[Any], int]:
    """The C encoder's records, and how many events it handed to the reference."""
    handed_over = 0

    def fallback(event: dict[str, Any]) -> bytes:
        nonlocal handed_over
        handed_over += 1
        return reference_lines([event], audit_only)

    head = orjson.dumps(SOURCE)[:-1] + b","
    return _records(pgaudit_linecodec.encode_events(events, head, audit_only, fallback)), handed_over


def reference(events: list[dict[str, Any]], audit_only: bool = False) -> list[Any]:
    return _records(reference_lines(events, audit_only))


def _records(lines: bytes) -> list[Any]:
    assert lines == b"" or lines.endswith(b"\n")
    return [orjson.loads(line) for line in lines.splitlines()]
