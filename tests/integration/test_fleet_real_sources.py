"""`python -m local fleet --real-sources K --silent S`, small: sources with real pipelines reconciled, their calls
counted against AWS's rate limits, the silent ones found, one destination role per account."""

from local.fleet import source_accounts
from local.fleet_real import SILENCING, run_real_sources


def test_real_sources_are_all_checked_and_the_silent_ones_the_cheap_check_sees_are_found():
    accounts = source_accounts(2)

    result = run_real_sources(accounts, real_sources=20, silent=6)

    real, silent = result["reconcile_real"], result["silent"]
    assert real["registered"] == real["checked"] == 20
    assert result["iam_roles_used"] == len(accounts)  # one per account, not one per source
    assert silent["seeded"] == 6 and set(silent["seeded_by_way"]) == set(SILENCING)
    # Every run sees the source side; a destination's policy is archive side, seen at the source's turn (1 in 4).
    assert silent["detected_by_way"]["log-export-off"] == silent["seeded_by_way"]["log-export-off"]
    assert silent["detected_by_way"]["subscription-filter-removed"] == 2
    assert real["calls_by_operation"]["firehose:DescribeDeliveryStream"] < real["checked"]
    bounds = real["rate_bound_by_limit"]
    firehose = next(figures for name, figures in bounds.items() if name.startswith("firehose"))
    assert firehose["budget_per_second"] == 3  # reconciliation's share of Firehose's 5 a second
    assert abs(firehose["seconds_at_10000"] - firehose["calls_per_source"] * 10_000 / 3) < 2  # cps is rounded
    assert real["rate_bound_seconds_at_10000"] == max(figures["seconds_at_10000"] for figures in bounds.values())
