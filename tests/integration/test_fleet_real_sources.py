"""`python -m local fleet --real-sources K --silent S`, small: sources with real pipelines reconciled, their calls
counted against AWS's rate limits, the silent ones found by reconciliation in each way they were silenced, one
destination role per account."""

import pytest

from local.fleet import source_accounts
from local.fleet_real import ALTER_DATABASE, SILENCING, run_real_sources, silencing_plan

pytestmark = pytest.mark.postgres  # the ALTER DATABASE way needs a real PostgreSQL behind its cluster


def test_silencing_takes_each_way_in_turn_and_alter_database_only_where_a_real_database_is():
    assert silencing_plan(7, postgres_backed=5) == [*SILENCING, ALTER_DATABASE, "log-export-off"]
    plan = silencing_plan(12, postgres_backed=1)
    assert plan.count(ALTER_DATABASE) == 1 and len(plan) == 12 and set(plan) == set(SILENCING)
    assert ALTER_DATABASE not in silencing_plan(5, postgres_backed=0)


def test_real_sources_are_all_checked_and_each_way_of_silence_is_found_by_reconciliation():
    accounts = source_accounts(2)

    result = run_real_sources(accounts, real_sources=20, silent=6, postgres_backed=1)

    real, silent = result["reconcile_real"], result["silent"]
    assert real["registered"] == real["checked"] == 20
    assert result["iam_roles_used"] == len(accounts)  # one per account, not one per source
    assert silent["seeded"] == 6 and set(silent["seeded_by_way"]) == set(SILENCING)
    assert silent["postgres_backed_sources"] == 1
    # Every run sees the source side, the database's own settings (Data API) and the last delivery; a destination's
    # policy is archive side, seen at the source's turn (1 in 4).
    by_way = silent["detected_by_way"]
    assert by_way[ALTER_DATABASE] == 1  # the pgaudit-override drift, read from pg_db_role_setting
    assert by_way["stopped-writing-audit-lines"] == 1  # the silent drift: available, nothing delivered for too long
    assert by_way["log-export-off"] == silent["seeded_by_way"]["log-export-off"] == 2
    assert by_way["subscription-filter-removed"] == 1
    assert silent["drifted_not_silenced"] == 0  # the 14 delivering sources, the Data API one included, are clean
    assert real["calls_by_operation"]["rds-data:ExecuteStatement(read-only)"] == 2  # extension and overrides
    assert real["calls_by_operation"]["firehose:DescribeDeliveryStream"] < real["checked"]
    bounds = real["rate_bound_by_limit"]
    firehose = next(figures for name, figures in bounds.items() if name.startswith("firehose"))
    assert firehose["budget_per_second"] == 3  # reconciliation's share of Firehose's 5 a second
    assert abs(firehose["seconds_at_10000"] - firehose["calls_per_source"] * 10_000 / 3) < 2  # cps is rounded
    assert real["rate_bound_seconds_at_10000"] == max(figures["seconds_at_10000"] for figures in bounds.values())
