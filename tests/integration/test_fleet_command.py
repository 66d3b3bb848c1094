"""`python -m local fleet` end to end, small: every cluster adopted, throttling absorbed, every source checked."""

from local.fleet import PAYLOAD_LIMIT_BYTES, run_fleet


def test_the_fleet_command_adopts_every_cluster_absorbs_throttling_and_checks_every_source():
    result = run_fleet(accounts=2, clusters=3, reconcile_sources=20, concurrency=3, outside_firehose_rps=3.0)

    adoption = result["adoption"]
    assert (adoption["clusters"], adoption["onboarded"], adoption["failed"]) == (3, 3, 0)
    # One database of each kind, each adopted and onboarded.
    assert adoption["by_kind"] == {
        kind: {"databases": 1, "adopted": 1, "onboarded": 1, "skipped": 0}
        for kind in ("aurora-cluster", "multi-az-cluster", "db-instance")
    }
    assert result["reconcile"]["checked"] == result["reconcile"]["registered"] == 3
    large = result["reconcile_large"]
    assert large["checked"] == large["registered"] == 23
    assert large["max_state_payload_bytes"] < PAYLOAD_LIMIT_BYTES and large["max_history_events"] < 1000
