import pytest

from pgaudit_archiver.steps.parameter_group import with_library


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (None, "pgaudit"),
        ("", "pgaudit"),
        ("pg_stat_statements", "pg_stat_statements,pgaudit"),
        ("pg_stat_statements, pg_hint_plan", "pg_stat_statements,pg_hint_plan,pgaudit"),
        ("pgaudit,pg_stat_statements", "pgaudit,pg_stat_statements"),
    ],
)
def test_with_library_keeps_every_library_already_there(current, expected):
    assert with_library(current) == expected
