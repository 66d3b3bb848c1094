"""Reconciliation through the state machine: every registered source checked, however many turns each segment
takes. Runs of fleet size (10,000 sources) belong to `make bench`; scanning far past the old 500-source cap is
tested on the step itself (tests/unit/test_steps_reconcile.py)."""

import sys

from local import SOURCE_ACCOUNT, World
from local.fleet import HISTORY_LIMIT_EVENTS, PAYLOAD_LIMIT_BYTES, history_figures, seed_sources

SOURCES, SEGMENTS = 24, 3


def test_a_run_checks_every_registered_source_when_each_invocation_has_time_for_only_one(monkeypatch):
    with World(parameters={"AutoRepair": "false", "ReconcileSegments": str(SEGMENTS)}) as world:
        seed_sources(world, (SOURCE_ACCOUNT,), SOURCES)  # their clusters do not exist: each is checked, found drifted
        # Every invocation of Verify Sources is out of time after its first source: each segment takes many turns.
        monkeypatch.setattr(sys.modules["functions.verify_sources.app"], "SECONDS_PER_INVOCATION", 0)

        execution = world.reconcile(timeout=120)

        assert execution.status == "SUCCEEDED", execution.cause
        summary = execution.output
        assert (summary["registered"], summary["checked"], summary["drifted"], summary["coverage"]) == (
            SOURCES, SOURCES, SOURCES, 100.0
        )  # fmt: skip
        turns = [state for state in execution.states if state["name"] == "Verify Sources"]
        assert len(turns) >= SOURCES  # one source a turn, and each segment's end found
        events, largest = history_figures(world, execution.arn)
        assert events < HISTORY_LIMIT_EVENTS and largest < PAYLOAD_LIMIT_BYTES
        drifted = world.registry_item(f"seeded-{SOURCES - 1:05d}")
        assert drifted["status"] == "drifted"
        assert [d["kind"] for d in drifted["last_verification"]["drift_details"]][-1] == "cluster-missing"
