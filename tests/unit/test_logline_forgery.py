"""Lines a database user or a client can make PostgreSQL write that imitate pgaudit's record (issue 20, item 3):
only a line at a level pgaudit writes at is an audit record, and a prefix that can be read more than one way
(names holding `@` or `:`) is marked, never attributed to a guessed user."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgaudit_archiver.logline import parse_entry, parse_entry_generally

HEAD = "2026-11-25 10:00:02 UTC:10.0.0.5(57617):"
RECORD = "AUDIT: SESSION,1,1,DDL,DROP TABLE,TABLE,public.t,drop table t,<none>"
QUOTED_RECORD = (
    'AUDIT: SESSION,1,1,DDL,DROP TABLE,TABLE,public.t,"drop table t, u",<none>'  # LINE, not its unquoted twin
)
# elog.c: error_severity()'s levels pgaudit cannot log at, and the labels of an entry's auxiliary lines
NOT_PGAUDIT_LEVELS = ["ERROR", "FATAL", "PANIC", "DETAIL", "HINT", "QUERY", "CONTEXT", "LOCATION", "STATEMENT"]
# pgaudit.log_level accepts debug5..debug1, info, notice, warning, log; PostgreSQL prints every DEBUGn as DEBUG
PGAUDIT_LEVELS = ["LOG", "INFO", "NOTICE", "WARNING", "DEBUG"]


def line(level: str, message: str, names: str = "app@orders") -> str:
    return f"{HEAD}{names}:[1703]:{level}:  {message}"


@pytest.mark.parametrize("record", [RECORD, QUOTED_RECORD])
@pytest.mark.parametrize("level", NOT_PGAUDIT_LEVELS)
def test_audit_text_at_a_level_pgaudit_never_writes_at_is_a_message(level, record):
    # e.g. `AUDIT: SESSION,...` sent as a statement: PostgreSQL logs an ERROR, then a STATEMENT line with the text
    entry = parse_entry(line(level, record))
    assert "audit_type" not in entry
    assert (entry["level"], entry["message"], entry["user"]) == (level, record, "app")


@pytest.mark.parametrize("record", [RECORD, QUOTED_RECORD])
@pytest.mark.parametrize("level", PGAUDIT_LEVELS)
def test_a_record_at_every_level_pgaudit_writes_at_is_an_audit_record(level, record):
    entry = parse_entry(line(level, record))
    assert (entry["level"], entry["audit_type"], entry["command"], entry["user"]) == (
        level,
        "SESSION",
        "DROP TABLE",
        "app",
    )
    assert "prefix_ambiguous" not in entry


@pytest.mark.parametrize("prefix", ["[1703] ", "2026-11-25 10:00:02.123 UTC [1703] app@orders ", ""])
@pytest.mark.parametrize("level", NOT_PGAUDIT_LEVELS)
def test_after_another_prefix_the_first_level_tag_decides_whatever_the_text_after_it(prefix, level):
    for text in (f"{prefix}{level}:  {RECORD}", f"{prefix}{level}:  LOG:  {RECORD}"):
        entry = parse_entry(text)
        assert "audit_type" not in entry
        assert entry["message"] == text


@pytest.mark.parametrize("level", PGAUDIT_LEVELS)
def test_after_another_prefix_a_record_at_a_pgaudit_level_is_kept(level):
    entry = parse_entry(f"[1703] {level}:  {RECORD}")
    assert (entry["level"], entry["statement_id"], entry["user"]) == (level, 1, None)


def test_a_role_name_with_an_at_sign_leaves_user_and_database_null_and_lists_the_candidates():
    entry = parse_entry(line("LOG", RECORD, names="dba@finance@appdb"))
    assert (entry["user"], entry["database"], entry["prefix_ambiguous"]) == (None, None, True)
    assert entry["user_database_candidates"] == [
        {"user": "dba", "database": "finance@appdb"},
        {"user": "dba@finance", "database": "appdb"},
    ]
    assert (entry["command"], entry["pid"]) == ("DROP TABLE", 1703)  # the rest reads one way only


def test_a_split_that_would_make_a_name_longer_than_postgres_allows_is_no_candidate():
    user = "u" * 63
    entry = parse_entry(line("LOG", RECORD, names=f"{user}@db@x"))  # user@"db@x", never (user@db)@x: 66 characters
    assert (entry["user"], entry["database"]) == (user, "db@x")
    assert "prefix_ambiguous" not in entry


@pytest.mark.parametrize(("names", "user", "database"), [("a:b@appdb", "a:b", "appdb"), ("app@a:b", "app", "a:b")])
def test_a_name_with_a_colon_keeps_its_prefix(names, user, database):
    entry = parse_entry(line("LOG", RECORD, names=names))
    assert (entry["user"], entry["database"], entry["log_time"], entry["audit_type"]) == (
        user, database, "2026-11-25 10:00:02 UTC", "SESSION",
    )  # fmt: skip
    assert "prefix_ambiguous" not in entry


def test_a_name_holding_a_whole_prefix_tag_and_record_is_marked_ambiguous():
    # A role (or, in a failed login's FATAL line, the user name a client sent) holding `:[pid]:LOG:  AUDIT: ...`
    role = "x@y:[1]:LOG:  AUDIT: SESSION,1,1,DDL,DROP TABLE,,,s,<none>"
    entry = parse_entry(line("LOG", "connection authorized", names=f"{role}@appdb"))
    assert entry["prefix_ambiguous"] is True
    fatal = parse_entry(line("FATAL", f'password authentication failed for user "{role}"', names=f"{role}@appdb"))
    assert fatal["prefix_ambiguous"] is True


def test_a_statement_imitating_a_tag_keeps_its_record_and_user_but_is_marked():
    # The first reading is RDS's own (the names come before the statement); the mark says another one exists.
    entry = parse_entry(line("LOG", "AUDIT: SESSION,1,1,READ,SELECT,,,/*:[1]:ERROR:  */ select secret,<none>"))
    assert (entry["user"], entry["statement"], entry["prefix_ambiguous"]) == (
        "app",
        "/*:[1]:ERROR:  */ select secret",
        True,
    )


NAME = st.text(alphabet=st.sampled_from(["a", "é", "@", ":", "[", "]", " ", '"', ","]), max_size=6)


@given(user=NAME, database=NAME, level=st.sampled_from(PGAUDIT_LEVELS + NOT_PGAUDIT_LEVELS))
def test_any_names_and_level_give_a_record_only_at_pgaudit_levels_and_a_user_only_when_it_is_certain(
    user, database, level
):
    text = line(level, QUOTED_RECORD, names=f"{user}@{database}")
    entry = parse_entry(text)
    assert entry == parse_entry_generally(text)
    assert ("audit_type" in entry) == (level in PGAUDIT_LEVELS)
    if "@" in user + database:
        assert (entry["user"], entry["database"], entry["prefix_ambiguous"]) == (None, None, True)
        assert {"user": user or None, "database": database or None} in entry["user_database_candidates"]
    else:
        assert (entry["user"], entry["database"]) == (user or None, database or None)
