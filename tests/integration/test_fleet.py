"""Fleet size: reconciliation past the old 500-source cap, and `python -m local fleet` end to end (small)."""

from local import SOURCE_ACCOUNT, World
from local.fleet import HISTORY_LIMIT_EVENTS, PAYLOAD_LIMIT_BYTES, history_figures, run_fleet, seed_sources


def test_a_run_checks_every_one_of_600_registered_sources_past_the_old_cap_of_500():
    with World(parameters={"AutoRepair": "false"}) as world:
        seed_sources(world, (SOURCE_ACCOUNT,), 600)  # their clusters do not exist: each is checked, found drifted

        execution = world.reconcile(timeout=600)

        assert execution.status == "SUCCEEDED", execution.cause
        summary = execution.output
        assert (summary["registered"], summary["checked"], summary["drifted"], summary["coverage"]) == (
            600, 600, 600, 100.0
        )  # fmt: skip
        events, largest = history_figures(world, execution.arn)
        assert events < 300 and largest < 4096  # per turn of a segment, not per source
        assert events < HISTORY_LIMIT_EVENTS and largest < PAYLOAD_LIMIT_BYTES
        drifted = world.registry_item("seeded-00599")
        assert drifted["status"] == "drifted"
        assert [d["kind"] for d in drifted["last_verification"]["drift_details"]][-1] == "cluster-missing"


def test_the_fleet_command_adopts_every_cluster_absorbs_throttling_and_checks_every_source():
    result = run_fleet(accounts=2, clusters=4, reconcile_sources=50, concurrency=4, outside_firehose_rps=3.0)

    adoption = result["adoption"]
    assert (adoption["clusters"], adoption["onboarded"], adoption["failed"]) == (4, 4, 0)
    assert result["reconcile"]["checked"] == result["reconcile"]["registered"] == 4
    large = result["reconcile_large"]
    assert large["checked"] == large["registered"] == 54
    assert large["max_state_payload_bytes"] < PAYLOAD_LIMIT_BYTES and large["max_history_events"] < 1000
