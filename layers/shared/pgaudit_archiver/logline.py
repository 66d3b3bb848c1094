"""Parse an Aurora PostgreSQL log entry: RDS's log_line_prefix, the level, and pgaudit's CSV audit fields.

RDS writes `%t:%r:%u@%d:[%p]:LEVEL:  message`. `%r` is `host(port)`, `[local]`, or empty for background
processes, and an IPv6 host has colons, so the prefix is matched, never split on ':'. PostgreSQL puts a TAB
after every newline of a message (append_with_tabs in elog.c); those TABs are not part of the statement.

pgaudit writes `AUDIT: type,statement_id,substatement_id,class,command,object_type,object_name,statement,
parameter[,rows]` (append_valid_csv in pgaudit.c): a field is quoted only when it holds `,` `"` CR or LF,
with quotes doubled. PARAMETER is `<not logged>`, `<none>`, or the parameters as CSV, quoted again as one field.
"""

from __future__ import annotations

import csv
import re
from typing import Any

PREFIX_PATTERN = (
    r"(?P<log_time>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? [A-Z]{1,5}):"
    r"(?:\[local\]|(?P<client_addr>[^()\s]+)\((?P<client_port>\d+)\))?:"
    r"(?P<user>[^@:]*)@(?P<database>[^:]*):\[(?P<pid>\d*)\]:"
    r"(?P<level>[A-Z]+\d?):  "
)
# re.ASCII: RDS writes ASCII digits and spaces; `\d` and `\s` must not take other scripts' digits or spaces.
PREFIX = re.compile(PREFIX_PATTERN, re.ASCII)
# The common case in one match: an audit line none of whose fields needed quoting.
UNQUOTED_AUDIT_LINE = re.compile(
    PREFIX_PATTERN + r"AUDIT: (?P<audit_type>SESSION|OBJECT),(?P<statement_id>\d+),(?P<substatement_id>\d+),"
    r"(?P<class>[^,]*),(?P<command>[^,]*),(?P<object_type>[^,]*),(?P<object_name>[^,]*),(?P<statement>[^,]*),"
    r"(?P<parameter><not logged>|<none>|[^,]*)(?:,(?P<rows>\d*))?",
    re.DOTALL | re.ASCII,
)
AUDIT_MARKER = "AUDIT: "
AUDIT_FIELDS = (
    "audit_type", "statement_id", "substatement_id", "class", "command", "object_type", "object_name", "statement",
)  # fmt: skip
PARAMETERS_NOT_LOGGED = frozenset({"<not logged>", "<none>"})


def _csv_fields(text: str) -> list[str]:
    if '"' not in text and "\r" not in text:
        return text.split(",")  # unquoted: no field contains a comma
    return next(csv.reader([text], strict=True))


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # int() would also take "+1", " 1", "1_0" and other scripts' digits


def parse_audit(payload: str) -> dict[str, Any] | None:
    """The audit fields of the text after `AUDIT: `, or None when it is not pgaudit's CSV."""
    try:
        fields = _csv_fields(payload)
        if len(fields) not in (9, 10) or fields[0] not in ("SESSION", "OBJECT"):
            return None
        if not (_is_number(fields[1]) and _is_number(fields[2])):
            return None
        parameter = fields[8]
        parameters = None if parameter in PARAMETERS_NOT_LOGGED else _csv_fields(parameter)
    except (csv.Error, StopIteration):
        return None
    record: dict[str, Any] = dict(zip(AUDIT_FIELDS, fields, strict=False))
    record["statement_id"] = int(fields[1])
    record["substatement_id"] = int(fields[2])
    record["object_type"] = fields[5] or None
    record["object_name"] = fields[6] or None
    record["parameters"] = parameters
    if len(fields) == 10:
        record["rows"] = int(fields[9]) if _is_number(fields[9]) else None
    return record


def _unquoted_audit_line(text: str) -> dict[str, Any] | None:
    match = UNQUOTED_AUDIT_LINE.fullmatch(text)
    if match is None:
        return None
    fields: dict[str, Any] = match.groupdict()
    for name in ("client_port", "pid", "rows"):
        fields[name] = int(fields[name]) if fields[name] else None
    if fields["rows"] is None and match.group("rows") is None:
        del fields["rows"]
    fields["statement_id"] = int(fields["statement_id"])
    fields["substatement_id"] = int(fields["substatement_id"])
    for name in ("user", "database", "object_type", "object_name"):
        fields[name] = fields[name] or None
    parameter = fields.pop("parameter")
    fields["parameters"] = None if parameter in PARAMETERS_NOT_LOGGED else parameter.split(",")
    return fields


def parse_entry(raw: str) -> dict[str, Any]:
    """Fields of one log entry; unparseable entries keep just the message (and `raw` is always kept)."""
    text = raw.replace("\n\t", "\n") if "\n" in raw else raw
    if '"' not in text and "\r" not in text:
        fast = _unquoted_audit_line(text)
        if fast is not None:
            return fast
    match = PREFIX.match(text)
    if match is None:
        return {"level": None, "message": text}
    fields: dict[str, Any] = match.groupdict()
    fields["client_port"] = int(fields["client_port"]) if fields["client_port"] else None
    fields["pid"] = int(fields["pid"]) if fields["pid"] else None
    fields["user"] = fields["user"] or None
    fields["database"] = fields["database"] or None
    message = text[match.end() :]
    audit = parse_audit(message[len(AUDIT_MARKER) :]) if message.startswith(AUDIT_MARKER) else None
    if audit is None:
        fields["message"] = message
    else:
        fields.update(audit)  # the audit fields say all the message says; `raw` keeps it as written
    return fields
