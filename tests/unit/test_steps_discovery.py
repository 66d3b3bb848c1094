"""Scheduled discovery: one adoption for each known account, none for an account whose adoption still runs."""

from __future__ import annotations

from pgaudit_archiver.models import Source
from pgaudit_archiver.steps.discovery import known_accounts, start_adoptions
from tests.unit.fakes import REGION, FakeRegistry, FakeStepFunctions

ADOPT = f"arn:aws:states:{REGION}:123456789012:stateMachine:adopt"


def test_known_accounts_are_the_allowed_ones_and_those_the_registry_holds() -> None:
    registry = FakeRegistry()
    for index in range(150):  # more than a page
        registry.finish(Source(account_id="444455556666", region=REGION, cluster_id=f"c{index}"), "active", {})
    registry.finish(Source(account_id="777788889999", region=REGION, cluster_id="x"), "offboarded", {})

    assert known_accounts("111122223333,444455556666", registry) == ["111122223333", "444455556666", "777788889999"]


def test_an_account_whose_adoption_still_runs_is_skipped() -> None:
    stepfunctions = FakeStepFunctions()
    running = stepfunctions.start(ADOPT, f"adopt-111122223333-{REGION}-0123abcd", {})

    result = start_adoptions(["111122223333", "444455556666"], REGION, stepfunctions, ADOPT)

    assert result == {"started": ["444455556666"], "still_running": ["111122223333"]}
    names = [arn.rsplit(":", 1)[-1] for arn in stepfunctions.executions if arn != running]
    assert len(names) == 1 and names[0].startswith(f"adopt-444455556666-{REGION}-")
    assert stepfunctions.executions[running]["status"] == "RUNNING"
