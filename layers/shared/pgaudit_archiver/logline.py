"""Parse an Aurora PostgreSQL log entry: RDS's log_line_prefix, the level, and pgaudit's CSV audit fields.

RDS writes `%t:%r:%u@%d:[%p]:LEVEL:  message`. `%r` is `host(port)`, `[local]`, or empty for background
processes, and an IPv6 host has colons, so the prefix is matched, never split on ':'; user and database names
may hold `@` and `:` too (see _rds_prefix). PostgreSQL puts a TAB after every newline of a message
(append_with_tabs in elog.c); those TABs are not part of the statement.

pgaudit writes `AUDIT: type,statement_id,substatement_id,class,command,object_type,object_name,statement,
parameter[,rows]` (append_valid_csv in pgaudit.c): a field is quoted only when it holds `,` `"` CR or LF,
with quotes doubled. PARAMETER is `<not logged>`, `<none>`, or the parameters as CSV, quoted again as one field.
Only a line at a level pgaudit logs at (AUDIT_LEVELS) is a record: any user can make PostgreSQL write the text.

Lines exactly as RDS and pgaudit write them are read by one regular expression (LINE); any other line goes to
the general parser, which reads the CSV with the csv module and keeps what it cannot read as a message. Time
grows linearly with a line's length whatever it holds: searched patterns have a bounded width, matched ones read
a text one way (tests/unit/test_logline_linear.py).
"""

from __future__ import annotations

import csv
import re
from typing import Any


def _digits_as_range(pattern: str) -> str:
    """`\\d` written [0-9]: the same with re.ASCII, and re tests a range faster than a category (~4% of a match)."""
    return pattern.replace(r"\d", "[0-9]")


# The levels PostgreSQL writes (elog.c: error_severity() prints every DEBUGn as DEBUG) and the labels of the
# auxiliary lines send_message_to_server_log() writes after an entry, each with its own prefix.
SEVERITIES = ("DEBUG", "LOG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL", "PANIC")
AUXILIARY_LINES = ("DETAIL", "HINT", "QUERY", "CONTEXT", "LOCATION", "STATEMENT")
# pgaudit logs at LOG, or at pgaudit.log_level (debug5..debug1, info, notice, warning, log) with log_client:
# an `AUDIT: ` message at any other level (an ERROR, the STATEMENT line of a rejected statement) is no record.
AUDIT_LEVELS = frozenset(("DEBUG", "LOG", "INFO", "NOTICE", "WARNING"))
LEVEL = "(?:LOG|" + "|".join(level for level in SEVERITIES + AUXILIARY_LINES if level != "LOG") + ")"  # LOG: most
# PostgreSQL truncates user and database names to NAMEDATALEN - 1 bytes, at least one byte a character.
NAME_MAX_CHARS = 63

# `(?:X|)` rather than `(?:X)?`: the same match (X first, then nothing), but re compiles an optional group to a
# REPEAT, which allocates its context on every attempt, and `|` to a cheap BRANCH (~12% of the line's match time).
PREFIX_HEAD_PATTERN = _digits_as_range(
    r"(?P<log_time>\d\d\d\d-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+|) [A-Z]{1,5}):"
    # %r: host(port), [local] (a Unix socket, kept as client_addr "[local]"), or empty (a background process)
    r"(?:(?P<client_addr>\[local\](?=:)|[^()\t-\r ]+(?=\())(?:\((?P<client_port>\d{1,5})\)|)|):"  # [\t-\r ]: ASCII \s
)
PREFIX_PATTERN = PREFIX_HEAD_PATTERN + _digits_as_range(
    # user, database and pid: a group that does not take part is None, the value an empty one stands for. Names
    # without `:` or `@` (the general parser reads the others): the first `:` after the `@` begins the tag.
    f"(?:(?P<user>[^@:]{{1,{NAME_MAX_CHARS}}})|)@(?:(?P<database>[^@:]{{1,{NAME_MAX_CHARS}}})|)"
    rf":\[(?:(?P<pid>\d{{1,10}})|)\]:(?P<level>{LEVEL}):  "
)
# re.ASCII: RDS writes ASCII digits and spaces; `\d` and `\s` must not take other scripts' digits or spaces.
PREFIX_HEAD = re.compile(PREFIX_HEAD_PATTERN, re.ASCII)
# The tag that ends the prefix; bounded width, so a search examines each position a bounded number of times.
PREFIX_TAG = re.compile(rf":\[([0-9]{{0,10}})\]:({LEVEL}):  ", re.ASCII)
PREFIX_TAG_MAX_CHARS = len(":[]:") + 10 + max(map(len, SEVERITIES + AUXILIARY_LINES)) + len(":  ")
# The user and database of RDS's prefix and the `@` between them: where a tag can begin after the client.
NAMES_MAX_CHARS = 2 * NAME_MAX_CHARS + 1

_UNQUOTED_CHAR = r'[^,"\r\n]'  # pgaudit quotes any field holding , " CR or LF
_UNQUOTED = _UNQUOTED_CHAR + "*"
# quotes inside doubled. Possessive (*+): a quoted field ends only where a quote is not followed by another, so
# giving back characters can never lead to a match; re then keeps no backtracking state for the repetition.
_QUOTED_INSIDE = r'[^"]*+(?:""[^"]*+)*+'


def _maybe_quoted(unquoted: str) -> str:
    """A field pgaudit quotes when it must: two groups, the text inside the quotes if quoted, else the field."""
    return f'(?:"({_QUOTED_INSIDE})"|({unquoted}))'


def _audit_line(plain: str, object_name: str, field: str, parameter: str) -> re.Pattern[str]:
    """The whole line in one match, the hot path: the prefix's 7 groups, then the audit fields or the message.
    CLASS, COMMAND and OBJECT_TYPE never need quoting: a line that quotes them, or that pgaudit cannot have
    written, goes to the general parser. OBJECT_TYPE and OBJECT_NAME, when empty, do not take part in the match:
    their group is None, as in the record."""
    audit = (
        r"(?:AUDIT: (SESSION|OBJECT),(\d{1,18}),(\d{1,18}),"
        f"({plain}*),({plain}*),(?:({plain}+)|),(?:{object_name}|),{field},{parameter}(?:,(\\d{{0,18}})|)"
        r"|(?!AUDIT: )(.*))"
    )
    return re.compile(PREFIX_PATTERN + _digits_as_range(audit), re.DOTALL | re.ASCII)


# Without a quote or CR in the line, a field is anything up to the next comma, as the general parser's
# split(",") reads it ([^,] is also several times faster for the regular expression engine than [^,"\r\n]).
# 18 groups: the prefix's 7, AUDIT_FIELDS, PARAMETER and ROWS, the message.
LINE_WITHOUT_QUOTES = _audit_line("[^,]", "([^,]+)", "([^,]*)", "([^,]*)")
# 21 groups: the same, OBJECT_NAME, STATEMENT and PARAMETER each in two (_maybe_quoted).
LINE = _audit_line(
    _UNQUOTED_CHAR, _maybe_quoted(_UNQUOTED_CHAR + "+"), _maybe_quoted(_UNQUOTED), _maybe_quoted(_UNQUOTED)
)

AUDIT_MARKER = "AUDIT: "
AUDIT_FIELDS = (
    "audit_type", "statement_id", "substatement_id", "class", "command", "object_type", "object_name", "statement",
)  # fmt: skip
# <previously logged>: pgaudit.log_statement_once, on every further line of a statement
PARAMETERS_NOT_LOGGED = frozenset({"<not logged>", "<none>", "<previously logged>"})
STATEMENT_ID_MAX = 2**63 - 1  # int64 in pgaudit
ROWS_MAX = 2**64 - 1  # uint64 in pgaudit
# A changed log_line_prefix: the line's level is its first level tag (a statement or a message comes after it, so
# an `ERROR:  ` or `STATEMENT:  ` line cannot pass for `LOG:  AUDIT: ` by the text it carries). Bounded width:
# each position of a hostile line is examined a bounded number of times, so the search is linear.
FIRST_LEVEL_TAG = re.compile(rf"(?<![A-Z])({LEVEL}):  ", re.ASCII)
UNKNOWN_PREFIX_FIELDS = dict.fromkeys(("log_time", "client_addr", "client_port", "user", "database", "pid"))

# The csv module refuses fields over 131,072 characters by default; a statement can be far longer (a CloudWatch
# Logs event holds up to 1 MB, PostgreSQL logs statements whole). Process-wide, as csv allows nothing else.
csv.field_size_limit(2**31 - 1)
# Excel's CSV, strict: a quote closes a field only before a comma or the end. Built once: csv.reader builds its
# dialect again on every call it is given only options.
csv.register_dialect("pgaudit-strict", strict=True)
_STRICT_CSV = csv.get_dialect("pgaudit-strict")


def _csv_fields(text: str) -> list[str]:
    if '"' not in text and "\r" not in text:
        return text.split(",")  # unquoted: no field contains a comma
    return next(csv.reader((text,), _STRICT_CSV))


def _parameter_values(text: str) -> list[str] | None:
    """PARAMETER's inner CSV, read as the general parser reads it; None when it is no CSV (the general parser then
    keeps the line as it can)."""
    try:
        return _csv_fields(text)
    except csv.Error:
        return None


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
    statement_id, substatement_id = int(fields[1]), int(fields[2])
    rows = int(fields[9]) if len(fields) == 10 and _is_number(fields[9]) else None
    if max(statement_id, substatement_id) > STATEMENT_ID_MAX or (rows is not None and rows > ROWS_MAX):
        return None  # not what pgaudit writes (RAISE LOG can write anything): kept as a message
    record: dict[str, Any] = dict(zip(AUDIT_FIELDS, fields, strict=False))
    record["statement_id"] = statement_id
    record["substatement_id"] = substatement_id
    record["object_type"] = fields[5] or None
    record["object_name"] = fields[6] or None
    record["parameters"] = parameters
    if len(fields) == 10:
        record["rows"] = rows
    return record


class _AuditRecord:
    """An audit record in the making: its __dict__, a plain dict in the order the attributes were set. CPython
    keeps the attributes of a class's instances in keys they share and values stored with the object, which
    costs less, for 22 keys, than a dict display, and orjson writes the dict as fast."""

    account: Any
    event_id: Any
    event_time: str
    event_timestamp: int
    log_time: str
    client_addr: str | None
    client_port: int | None
    user: str | None
    database: str | None
    pid: int | None
    level: str
    audit_type: str
    statement_id: int
    substatement_id: int
    # "class", a keyword, set with setattr
    command: str
    object_type: str | None
    object_name: str | None
    statement: str
    parameters: list[str] | None
    rows: int | None
    raw: str


def entry_record(raw: str, event_id: Any, event_time: str, timestamp: int, account: Any = None) -> dict[str, Any]:
    """One log event's archive record: first the source's account (transform passes an orjson.Fragment that holds
    the source's fields already encoded, from the account's value on, so that one orjson.dumps writes the whole
    line), then the event's id and time, the entry's fields, `raw`.

    Built in one dict, in the order the archive keeps: this runs once per log line, where every Python operation
    counts (a call or a slice costs about as much as re reading 50 characters)."""
    text = raw.replace("\n\t", "\n") if "\n" in raw else raw
    parameters: list[str] | None = None
    if '"' in text or "\r" in text:
        match = LINE.fullmatch(text)
        if match is None:
            return _general_record(text, raw, event_id, event_time, timestamp, account)
        (
            log_time, client_addr, client_port, user, database, pid, level,
            audit_type, statement_id, substatement_id, class_, command, object_type,
            quoted_name, object_name, quoted_statement, statement, quoted_parameter, parameter, rows, message,
        ) = match.groups()  # fmt: skip
        if audit_type is not None:  # a quoted field is read inside its quotes, the quotes it holds doubled
            if quoted_name is not None:
                object_name = quoted_name.replace('""', '"') or None  # `""` is no name
            if statement is None:  # '"' is found at C speed, where replace searches for pairs at ~1 ns a character
                statement = quoted_statement.replace('""', '"') if '"' in quoted_statement else quoted_statement
            if parameter is None:
                parameter = quoted_parameter.replace('""', '"')
            if parameter not in PARAMETERS_NOT_LOGGED:
                parameters = _parameter_values(parameter)
                if parameters is None:
                    return _general_record(text, raw, event_id, event_time, timestamp, account)
    else:
        match = LINE_WITHOUT_QUOTES.fullmatch(text)
        if match is None:
            return _general_record(text, raw, event_id, event_time, timestamp, account)
        (
            log_time, client_addr, client_port, user, database, pid, level,
            audit_type, statement_id, substatement_id, class_, command, object_type, object_name, statement, parameter,
            rows, message,
        ) = match.groups()  # fmt: skip
        if audit_type is not None and parameter not in PARAMETERS_NOT_LOGGED:
            parameters = [parameter]  # one value: it has no comma
    # A level pgaudit never writes at, or a `[` within reach of the names (another `:[pid]:LEVEL:  ` tag may give
    # the prefix a second reading): rare lines, which the general parser reads. One character: str.find uses
    # memchr for it (~60 ns), and scans for two characters at about 2 ns each.
    if (audit_type is not None and level not in AUDIT_LEVELS) or text.find(
        "[", message_start := match.end(7) + 3, message_start + NAMES_MAX_CHARS
    ) >= 0:
        return _general_record(text, raw, event_id, event_time, timestamp, account)
    if audit_type is None:
        return {
            "account": account,
            "event_id": event_id,
            "event_time": event_time,
            "event_timestamp": timestamp,
            "log_time": log_time,
            "client_addr": client_addr,
            "client_port": int(client_port) if client_port else None,
            "user": user,
            "database": database,
            "pid": int(pid) if pid else None,
            "level": level,
            "message": message,
            "raw": raw,
        }
    record = _AuditRecord()  # its attributes, set in the archive's order, are the record
    record.account = account
    record.event_id = event_id
    record.event_time = event_time
    record.event_timestamp = timestamp
    record.log_time = log_time
    record.client_addr = client_addr
    record.client_port = int(client_port) if client_port else None
    record.user = user
    record.database = database
    record.pid = int(pid) if pid else None
    record.level = level
    record.audit_type = audit_type
    record.statement_id = int(statement_id)
    record.substatement_id = int(substatement_id)
    setattr(record, "class", class_)  # a keyword
    record.command = command
    record.object_type = object_type
    record.object_name = object_name
    record.statement = statement
    record.parameters = parameters
    if rows is not None:
        record.rows = int(rows) if rows else None
    record.raw = raw
    return record.__dict__


def _general_record(
    text: str, raw: str, event_id: Any, event_time: str, timestamp: int, account: Any
) -> dict[str, Any]:
    fields = parse_entry_generally(text)
    head = {"account": account, "event_id": event_id, "event_time": event_time, "event_timestamp": timestamp}
    return {**head, **fields, "raw": raw}


EVENT_KEYS = ("account", "event_id", "event_time", "event_timestamp", "raw")


def parse_entry(raw: str) -> dict[str, Any]:
    """Fields of one log entry (what entry_record adds to the event's id, time and raw line)."""
    record = entry_record(raw, None, "", 0)
    for key in EVENT_KEYS:
        del record[key]
    return record


def parse_entry_generally(text: str) -> dict[str, Any]:
    """Any line, its continuation TABs already removed: the prefix if it has RDS's, then the audit CSV or the
    message."""
    prefix = _rds_prefix(text)
    if prefix is None:
        return _unknown_prefix_entry(text)
    fields, message_start = prefix
    message = text[message_start:]
    audit = None
    if fields["level"] in AUDIT_LEVELS and message.startswith(AUDIT_MARKER):
        audit = parse_audit(message[len(AUDIT_MARKER) :])
    if audit is None:
        fields["message"] = message
    else:
        fields.update(audit)  # the audit fields say all the message says; `raw` keeps it as written
    return fields


def _rds_prefix(text: str) -> tuple[dict[str, Any], int] | None:
    """RDS's prefix `%t:%r:%u@%d:[%p]:LEVEL:  ` and where the message starts, or None.

    Names may hold `@` and `:` (a quoted identifier holds anything), and a failed login's FATAL line carries the
    user name the client sent: a line can then be read more than one way. The reading taken ends at the first
    tag with names of at most NAME_MAX_CHARS on either side of an `@` (RDS writes the names before the message,
    so a statement cannot move it). When another reading exists, `prefix_ambiguous` is true; when the names split
    at more than one `@`, user and database are null and `user_database_candidates` lists every split."""
    head = PREFIX_HEAD.match(text)
    if head is None:
        return None
    names_start = head.end()
    last_tag_start = names_start + NAMES_MAX_CHARS
    chosen: re.Match[str] | None = None
    splits: list[tuple[str, str]] = []
    ambiguous = False
    for tag in PREFIX_TAG.finditer(text, names_start, last_tag_start + PREFIX_TAG_MAX_CHARS):
        if tag.start() > last_tag_start:
            break
        names = text[names_start : tag.start()]
        candidates = _name_splits(names)
        if not candidates:
            continue
        if chosen is not None:
            ambiguous = True
            break
        chosen, splits = tag, candidates
    if chosen is None:
        return None
    fields: dict[str, Any] = head.groupdict()
    fields["client_port"] = int(fields["client_port"]) if fields["client_port"] else None
    user, database = splits[0] if len(splits) == 1 else (None, None)
    fields["user"], fields["database"] = user or None, database or None
    fields["pid"] = int(chosen[1]) if chosen[1] else None
    fields["level"] = chosen[2]
    if ambiguous or len(splits) > 1:
        fields["prefix_ambiguous"] = True
    if len(splits) > 1:
        fields["user_database_candidates"] = [{"user": u or None, "database": d or None} for u, d in splits]
    return fields, chosen.end()


def _name_splits(names: str) -> list[tuple[str, str]]:
    """Every (user, database) that `user@database` can be, each name at most NAME_MAX_CHARS."""
    splits = []
    at = names.find("@")
    while at >= 0:
        if at <= NAME_MAX_CHARS and len(names) - at - 1 <= NAME_MAX_CHARS:
            splits.append((names[:at], names[at + 1 :]))
        at = names.find("@", at + 1)
    return splits


def _unknown_prefix_entry(text: str) -> dict[str, Any]:
    """A line without RDS's default prefix: pgaudit's record if the line's first level tag is one pgaudit writes
    at and the record follows it (the prefix's fields are then null), else the whole line as the message."""
    tag = FIRST_LEVEL_TAG.search(text)
    audit = None
    if tag is not None and tag[1] in AUDIT_LEVELS and text.startswith(AUDIT_MARKER, tag.end()):
        audit = parse_audit(text[tag.end() + len(AUDIT_MARKER) :])
    if tag is None or audit is None:
        return {"level": None, "message": text}
    return {**UNKNOWN_PREFIX_FIELDS, "level": tag[1], **audit}
