"""Fleet size: reconciliation past the old 500-source cap."""

from local import SOURCE_ACCOUNT, World
from local.fleet import HISTORY_LIMIT_EVENTS, PAYLOAD_LIMIT_BYTES, history_figures, seed_sources


def test_a_run_checks_every_one_of_510_registered_sources_past_the_old_cap_of_500():
    with World(parameters={"AutoRepair": "false"}) as world:
        seed_sources(world, (SOURCE_ACCOUNT,), 510)  # their clusters do not exist: each is checked, found drifted

        execution = world.reconcile(timeout=510)

        assert execution.status == "SUCCEEDED", execution.cause
        summary = execution.output
        assert (summary["registered"], summary["checked"], summary["drifted"], summary["coverage"]) == (
            510, 510, 510, 100.0
        )  # fmt: skip
        events, largest = history_figures(world, execution.arn)
        assert events < 300 and largest < 4096  # per turn of a segment, not per source
        assert events < HISTORY_LIMIT_EVENTS and largest < PAYLOAD_LIMIT_BYTES
        drifted = world.registry_item("seeded-00509")
        assert drifted["status"] == "drifted"
        assert [d["kind"] for d in drifted["last_verification"]["drift_details"]][-1] == "cluster-missing"
