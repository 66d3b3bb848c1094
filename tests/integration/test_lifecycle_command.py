"""`python -m local lifecycle`: its JSON, and `ok` as what the scenario observed (a failing product step shows).
One world for the module: each run names its databases apart."""

import io
import json

import pytest

from local import SOURCE_ACCOUNT, World
from local.__main__ import main as local_main
from local.lifecycle import SCENARIOS, WORLD_PARAMETERS, chosen, main

pytestmark = pytest.mark.postgres

CHEAP = "major-upgrade-multi-az-cluster"


@pytest.fixture(scope="module")
def world():
    with World(postgres=True, parameters=WORLD_PARAMETERS) as emulated:
        yield emulated


def assert_ok_follows_from_facts(scenario):
    """ok is no failure, and each failure is a step marked NOT OK."""
    assert scenario["ok"] == (scenario["failures"] == [])
    marked = [step.removeprefix("NOT OK: ").removeprefix("stopped by ") for step in scenario["steps"]
              if step.startswith("NOT OK: ")]  # fmt: skip
    assert marked == scenario["failures"]


def test_a_major_upgrade_of_a_multi_az_cluster_is_repaired_and_its_next_line_archived(world):
    out = io.StringIO()
    code = main(as_json=True, only=CHEAP, out=out, world=world)

    document = json.loads(out.getvalue())
    [scenario] = document["scenarios"]
    assert set(document) == {"ok", "seconds", "world_seconds", "scenarios"}
    assert set(scenario) == {"name", "kind", "ok", "steps", "failures", "seconds"}
    assert (scenario["name"], scenario["kind"]) == (CHEAP, "multi-az-cluster")
    assert_ok_follows_from_facts(scenario)
    assert scenario["ok"], scenario["failures"]
    assert (code, document["ok"]) == (0, True)
    steps = " | ".join(scenario["steps"])
    assert "onboarding SUCCEEDED" in steps
    assert "pgaudit is not in shared_preload_libraries" in steps  # the upgrade's drift, found by reconciliation
    assert "repair onboarding SUCCEEDED" in steps
    assert f"audit line after: archived in pgaudit/account={SOURCE_ACCOUNT}/" in steps


def test_a_failing_product_step_makes_the_scenario_not_ok_says_where_and_the_exit_status_1(world):
    # The source account refuses the subscription filter: onboarding cannot finish.
    world.inject("logs", "PutSubscriptionFilter", "AccessDeniedException", times=50, account=SOURCE_ACCOUNT)
    out = io.StringIO()
    try:
        code = main(as_json=True, only=CHEAP, out=out, world=world)
    finally:
        world.clear_faults()

    document = json.loads(out.getvalue())
    [scenario] = document["scenarios"]
    assert (code, document["ok"], scenario["ok"]) == (1, False, False)
    assert_ok_follows_from_facts(scenario)
    assert scenario["failures"][0].startswith("onboarding FAILED")
    assert "PutSubscriptionFilter" in scenario["failures"][0]
    assert not any("audit line" in step for step in scenario["steps"])  # it stopped there


def test_only_takes_names_and_the_first_part_of_one_and_refuses_others(capsys):
    assert [s.name for s in chosen("major-upgrade")] == [s.name for s in SCENARIOS if "major" in s.name]
    assert [s.name for s in chosen("delete,rename")] == ["rename", "delete"]  # in the command's order
    assert local_main(["lifecycle", "--only", "upgrade"]) == 2
    assert "unknown scenario upgrade" in capsys.readouterr().err
