"""Firehose data transformation: CloudWatch Logs subscription envelopes in, one JSON line per log event out.

Contract (Firehose developer guide, data transformation): every input recordId comes back exactly once, with
result Ok, Dropped or ProcessingFailed; ProcessingFailed records land under the stream's error prefix.

Two things do not fit in one output record, and are put back into the stream as new, smaller envelopes (as
the AWS CloudWatch Logs processor blueprint re-ingests), the original being answered Dropped:
- events of more than one UTC date: the partition key is one date per record, so each further date goes
  back as an envelope of its own;
- output beyond the 6 MB Lambda response limit: whole records, or halves of a record's events, go back until
  the response fits.
A record whose re-ingestion fails is answered ProcessingFailed instead, so its data is kept under the error
prefix: nothing is ever lost.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pgaudit_archiver.logline import AUDIT_MARKER, entry_record
from pgaudit_archiver.models import INSTANCE_KEY_PREFIX, Source
from pgaudit_archiver.naming import (
    ARCHIVE_AREA,
    AREA_PARTITION_KEY,
    DATE_PARTITION_KEY,
    QUARANTINE_AREA,
    delivery_stream_name,
)
from pgaudit_archiver.observability import metrics


def _stdlib_dumps(record: dict[str, Any], option: int = 0) -> bytes:  # pragma: no cover - orjson's stand-in
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n" if option else text).encode()


class _StdlibFragment:  # pragma: no cover - orjson.Fragment's stand-in: JSON written as it is
    def __init__(self, contents: bytes) -> None:
        self.contents: bytes = contents


def _stdlib_line(record: dict[str, Any], option: int = 0) -> bytes:  # pragma: no cover - orjson's stand-in
    items = list(record.items())
    if not items or not isinstance(items[0][1], _StdlibFragment):
        return _stdlib_dumps(record, option)
    (key, fragment), rest = items[0], dict(items[1:])
    contents: bytes = fragment.contents
    tail = _stdlib_dumps(rest, option)[1:]
    return _stdlib_dumps({key: 0})[: -len(b"0}")] + contents + (b"," + tail if rest else tail)


_json_loads: Callable[[bytes], Any]
_dumps: Callable[..., bytes]
_Fragment: Callable[[bytes], Any]
try:  # orjson (in the layer) decodes and encodes several times faster than the standard library
    import orjson

    _json_loads, _dumps, _NEWLINE, _Fragment = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE, orjson.Fragment
except ImportError:  # pragma: no cover - the standard library gives the same result, slower
    _json_loads, _dumps, _NEWLINE, _Fragment = json.loads, _stdlib_line, 1, _StdlibFragment


def _json_line(record: dict[str, Any]) -> bytes:
    return _dumps(record, option=_NEWLINE)


_ACCOUNT_FIRST = b'{"account":'
# A DB cluster's (Aurora or Multi-AZ) or a DB instance's postgresql log group (kinds.py).
LOG_GROUP_PATTERN = re.compile(r"^/aws/rds/(?P<namespace>cluster|instance)/(?P<database>[^/]+)/postgresql$")
QUARANTINED_ENVELOPES = "QuarantinedEnvelopes"
CANARY_MARK = "pgaudit-archiver canary "
# Lambda's synchronous response limit is 6 MB; stay under it with room for the JSON around the records.
MAX_RESPONSE_BYTES = 6_000_000
RECORD_OVERHEAD_BYTES = 200
# A Firehose record is at most 1,000 KiB; re-ingested envelopes are halved until they fit.
MAX_REINGEST_RECORD_BYTES = 1_000 * 1024

Reingest = Callable[[list[bytes]], None]

# Metrics (Powertools, one data point per invocation when not zero): lines that carry `AUDIT: ` but are no audit
# record (kept as a message), audit records after another log_line_prefix than RDS's (prefix fields null), and
# events no record could be written for (kept with their text escaped).
UNREAD_AUDIT_LINES = "UnreadAuditLines"
AUDIT_LINES_WITH_OTHER_PREFIX = "AuditLinesWithOtherPrefix"
UNREADABLE_EVENTS = "UnreadableEvents"


def _decode_envelope(data: str) -> dict[str, Any]:
    text = gzip.decompress(binascii.a2b_base64(data, strict_mode=True))
    envelope: dict[str, Any]
    try:
        envelope = _json_loads(text)
    except ValueError:  # orjson refuses a lone surrogate (\\ud800), which json reads: that event alone then fails
        envelope = json.loads(text)
    return envelope


def _encode_envelope(envelope: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(envelope, separators=(",", ":")).encode(), compresslevel=6)


DAY_MS = 86_400_000


@lru_cache(maxsize=4096)
def _date_of_day(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")


def _day_of(event: Any) -> int | None:
    try:
        day: int = event["timestamp"] // DAY_MS
        _date_of_day(day)  # beyond 9999-12-31 there is no date
    except (TypeError, KeyError, IndexError, ValueError, OverflowError):
        return None
    return day


def _events_by_date(events: list[Any]) -> dict[str, list[Any]]:
    """Events by UTC date. Events without a usable timestamp go with the first date, where they are kept as
    unreadable records; only when no event has one does the envelope fail (ValueError)."""
    try:  # the usual case, every event within the first one's day: no need to group
        day = events[0]["timestamp"] // DAY_MS
        start = day * DAY_MS
        end = start + DAY_MS
        for event in events:
            if not start <= event["timestamp"] < end:
                break
        else:
            return {_date_of_day(day): events}
    except (TypeError, KeyError, IndexError, ValueError, OverflowError):
        pass
    by_day: dict[int | None, list[Any]] = {}
    for event in events:
        by_day.setdefault(_day_of(event), []).append(event)
    undated = by_day.pop(None, [])
    by_date = {_date_of_day(day): day_events for day, day_events in by_day.items() if day is not None}
    if undated:
        if not by_date:
            raise ValueError("no event of the envelope has a usable timestamp")
        by_date[min(by_date)].extend(undated)
    return by_date


@lru_cache(maxsize=4096)
def _second_of(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


_MILLISECONDS = tuple(f".{millisecond:03d}+00:00" for millisecond in range(1000))


def event_time(timestamp_ms: int) -> str:
    """ISO 8601 in UTC with milliseconds; events of one second share the formatting work."""
    second, millisecond = divmod(timestamp_ms, 1000)
    return _second_of(second) + _MILLISECONDS[millisecond]


def archive_record(event: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    timestamp = event["timestamp"]
    record = entry_record(event["message"], event.get("id"), event_time(timestamp), timestamp)
    del record["account"]  # the source's, first
    return {**source, **record}


def archive_lines(
    events: list[dict[str, Any]],
    source: dict[str, Any],
    audit_only: bool,
    counts: Counter[str] | None = None,
    canary_events: list[Any] | None = None,
) -> bytearray:
    """The events' archive records as JSON lines (only pgaudit's when audit_only, but never a line that carries
    `AUDIT: `). `counts`, when given, counts the lines metrics report (see LINE_METRICS); `canary_events`, when
    given, collects the events that may be delivery canaries (all that carry CANARY_MARK, and unreadable ones).
    The source (as _source_of builds it, "account" first) is encoded once per envelope: each record's first
    field, "account", holds it as a Fragment, JSON written as it is, so that one orjson.dumps writes the line."""
    counts = Counter() if counts is None else counts
    encoded = _json_line(source)
    if not encoded.startswith(_ACCOUNT_FIRST):
        raise ValueError("the source's first field must be its account")
    account = _Fragment(encoded[len(_ACCOUNT_FIRST) : -len(b"}\n")])  # the source's fields from account's value on
    head = encoded[: -len(b"}\n")] + b","  # the same, for a record written on its own
    # A bytearray, not a list of lines to join: orjson's bytes keep the buffer they were written in (8 KB for a
    # line of 1 KB), which a list would hold until the join.
    lines = bytearray()
    record_of, dumps, newline, milliseconds = entry_record, _dumps, _NEWLINE, _MILLISECONDS
    second_start, second_end, second_text = 0, 0, ""  # the second being formatted, in ms (none yet)
    for event in events:  # this loop runs once per log line: event_time inline, names local
        try:
            timestamp = event["timestamp"]
            # events of one second share its formatting; two comparisons cost less than a division
            if not second_start <= timestamp < second_end:
                second = timestamp // 1000
                second_start, second_end, second_text = second * 1000, second * 1000 + 1000, _second_of(second)
            raw = event["message"]
            time = second_text + milliseconds[timestamp % 1000]
            record = record_of(raw, event.get("id"), time, timestamp, account)
            if "audit_type" in record:
                if record["log_time"] is None:
                    counts[AUDIT_LINES_WITH_OTHER_PREFIX] += 1
            elif AUDIT_MARKER in raw:
                counts[UNREAD_AUDIT_LINES] += 1  # kept, even with audit_only: it may be pgaudit's
            elif audit_only:
                continue  # no canary either: one must be an audit record then
            lines += dumps(record, option=newline)
            if canary_events is not None and CANARY_MARK in raw:  # the message, cheaper to search than the line
                canary_events.append(event)
        except Exception as error:  # one event's failure never fails its envelope
            counts[UNREADABLE_EVENTS] += 1
            lines += head + _json_line(_unreadable_record(event, error))[1:]
            if canary_events is not None:
                canary_events.append(event)  # _canary_records decides
    return lines


def _safe_text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate becomes \\udxxx


def _unreadable_record(event: Any, error: Exception) -> dict[str, Any]:
    """What is left of an event no record could be written for: its text, escaped, and why."""
    fields = event if isinstance(event, dict) else {"message": event}
    event_id, timestamp = fields.get("id"), fields.get("timestamp")
    return {
        "event_id": None if event_id is None else _safe_text(event_id),
        "event_time": None,
        "event_timestamp": timestamp if isinstance(timestamp, int) and abs(timestamp) < 2**63 else None,
        "level": None,
        "message": None,
        "raw": _safe_text(fields.get("message")),
        "transform_error": type(error).__name__,
    }


def _canary_records(events: list[Any], source: dict[str, Any], audit_only: bool) -> list[dict[str, Any]]:
    records = []
    for event in events:
        try:
            if CANARY_MARK in event["message"]:
                records.append(archive_record(event, source))
        except Exception:  # an unreadable event is no canary (archive_lines kept it)
            continue
    return [record for record in records if not audit_only or "audit_type" in record]


@dataclass
class _Transformed:
    record_id: str
    result: str
    data: str = ""
    date: str | None = None
    extra_envelopes: list[dict[str, Any]] = field(default_factory=list)  # further dates, to re-ingest
    original: str = ""  # the input data, kept under the error prefix if re-ingestion fails
    area: str = ARCHIVE_AREA
    source: dict[str, Any] | None = None  # whose audit records these are (for the source's last delivery)

    @property
    def size(self) -> int:
        return len(self.data) + RECORD_OVERHEAD_BYTES

    def kept_envelope(self) -> dict[str, Any]:
        """The events this record's output holds, decoded again: only an oversized response needs them."""
        envelope = _decode_envelope(self.original)
        return {**envelope, "logEvents": _events_by_date(envelope["logEvents"])[self.date or ""]}

    def response(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"recordId": self.record_id, "result": self.result, "data": self.data}
        if self.date:
            answer["metadata"] = {"partitionKeys": {DATE_PARTITION_KEY: self.date, AREA_PARTITION_KEY: self.area}}
        return answer


def _source_key(match: re.Match[str]) -> str:
    database = match.group("database")
    return database if match.group("namespace") == "cluster" else f"{INSTANCE_KEY_PREFIX}{database}"


def _source_of(envelope: dict[str, Any], region: str) -> dict[str, Any]:
    log_group = envelope["logGroup"]
    match = LOG_GROUP_PATTERN.match(log_group)
    return {
        "account": envelope["owner"],
        "region": region,
        # The source's key (models.Source.key): the cluster id, or instance--<id> for a DB instance.
        "cluster": _source_key(match) if match else None,
        "instance": envelope["logStream"],
        "log_group": log_group,
    }


AUDIT_RECORD_KEY = b'"audit_type":'


def _source_model(source: dict[str, Any]) -> Source:
    return Source.from_key(source["account"], source["region"], source["cluster"])


def sent_from_elsewhere(source: dict[str, Any], stream_name: str) -> bool:
    """Whether the envelope's log group is not the one this stream archives. The destination admits its source
    account for any log group, so a principal there could subscribe another group to it: the stream's name is
    derived from the source it serves, and the envelope's owner and log group must derive the same name."""
    try:
        claimed = Source.from_key(source["account"], source["region"], source["cluster"] or "")
    except ValueError:
        return True
    return source["cluster"] is None or delivery_stream_name(claimed) != stream_name


def _transform_one(
    record: dict[str, Any],
    region: str,
    audit_only: bool,
    canaries: list[dict[str, Any]] | None,
    counts: Counter[str],
    stream_name: str | None = None,
) -> _Transformed:
    record_id = record["recordId"]
    try:
        envelope = _decode_envelope(record["data"])
        if envelope.get("messageType") == "CONTROL_MESSAGE":
            return _Transformed(record_id, "Dropped", record["data"])
        source = _source_of(envelope, region)
        area = ARCHIVE_AREA
        if stream_name is not None and sent_from_elsewhere(source, stream_name):
            area, canaries = QUARANTINE_AREA, None  # kept, parsed, away from the archive; no canary counts
            counts[QUARANTINED_ENVELOPES] += 1
        events = envelope["logEvents"]
        by_date = _events_by_date(events)
        if not by_date:
            return _Transformed(record_id, "Dropped", record["data"])
        first_date, *other_dates = sorted(by_date)
        canary_events: list[Any] | None = None if canaries is None else []
        lines = archive_lines(by_date[first_date], source, audit_only, counts, canary_events)
    except Exception:  # a malformed envelope (archive_lines contains each event's failure): kept under errors/
        return _Transformed(record_id, "ProcessingFailed", record.get("data", ""))
    if canaries is not None and canary_events:
        canaries += _canary_records(canary_events, source, audit_only)
    extra = [{**envelope, "logEvents": by_date[date]} for date in other_dates]
    if not lines:
        return _Transformed(record_id, "Dropped", extra_envelopes=extra, original=record["data"])
    encoded = base64.b64encode(lines).decode()
    # An audit record's line has the key; text in a message or raw field has its quotes escaped, so cannot match.
    audited = source if AUDIT_RECORD_KEY in lines else None
    return _Transformed(record_id, "Ok", encoded, first_date, extra, original=record["data"], area=area, source=audited)


def split_for_reingest(envelope: dict[str, Any]) -> list[bytes]:
    """The envelope's events as gzip envelopes of at most MAX_REINGEST_RECORD_BYTES each."""
    encoded = _encode_envelope(envelope)
    events = envelope["logEvents"]
    if len(encoded) <= MAX_REINGEST_RECORD_BYTES or len(events) <= 1:
        return [encoded]
    half = len(events) // 2
    return [
        *split_for_reingest({**envelope, "logEvents": events[:half]}),
        *split_for_reingest({**envelope, "logEvents": events[half:]}),
    ]


def _halves(envelope: dict[str, Any]) -> list[bytes]:
    """Events that did not fit in this response go back as two envelopes, each re-split to fit a record."""
    events = envelope["logEvents"]
    half = max(len(events) // 2, 1)
    parts = [events[:half], events[half:]] if len(events) > 1 else [events]
    return [piece for part in parts for piece in split_for_reingest({**envelope, "logEvents": part})]


def transform(
    event: dict[str, Any],
    reingest: Reingest | None = None,
    audit_only: bool = False,
    canaries: list[dict[str, Any]] | None = None,
    check_source: bool = False,
    delivered: set[Source] | None = None,
) -> dict[str, Any]:
    """`canaries`, when given, collects the delivery canaries' records passing through; `delivered`, the sources
    whose audit records go to the archive. With `check_source`, an envelope whose log group is not the stream's
    source is quarantined (the Lambda always checks)."""
    region = event.get("region") or event["deliveryStreamArn"].split(":")[3]
    stream_name = event["deliveryStreamArn"].rsplit("/", 1)[1] if check_source else None
    counts: Counter[str] = Counter()
    results = [_transform_one(record, region, audit_only, canaries, counts, stream_name) for record in event["records"]]
    for name, count in counts.items():
        metrics.add_metric(name=name, unit="Count", value=count)

    pending: list[tuple[_Transformed, list[bytes]]] = []
    for result in results:
        if result.extra_envelopes:
            pending.append((result, [piece for e in result.extra_envelopes for piece in split_for_reingest(e)]))

    total = 0
    for result in results:
        if result.result == "Ok" and total + result.size > MAX_RESPONSE_BYTES:
            pending.append((result, _halves(result.kept_envelope())))
            result.result, result.data, result.date = "Dropped", "", None
        total += result.size

    if pending:
        _reingest_or_fail(pending, reingest)
    if delivered is not None:
        kept = [r.source for r in results if r.result == "Ok" and r.area == ARCHIVE_AREA]
        delivered |= {_source_model(source) for source in kept if source and source.get("cluster")}
    return {"records": [result.response() for result in results]}


def _reingest_or_fail(pending: list[tuple[_Transformed, list[bytes]]], reingest: Reingest | None) -> None:
    for result, pieces in pending:
        try:
            if reingest is None:
                raise RuntimeError("no stream to re-ingest into")
            reingest(pieces)
        except Exception:
            result.result, result.data, result.date = "ProcessingFailed", result.original, None
