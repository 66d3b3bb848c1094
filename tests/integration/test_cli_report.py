"""`pgaudit-archiver report` against the emulation: two clusters onboarded, one drifted by hand and found so by
reconciliation, one onboarding that failed; the report shows each where an operator looks first."""

import io
import json

import pytest

from local import SOURCE_ACCOUNT, World
from local.cli import LocalApi
from pgaudit_archiver_cli import main

CANARY = {"pgaudit_log": "ddl,role,write,read", "canary": True}  # reconciliation sends it; nothing delivers it here


@pytest.fixture(scope="module")
def world():
    with World(parameters={"AutoRepair": "false", "AuditReducerRoleNames": "deployer"}) as emulated:
        emulated.create_cluster("orders", instances=1)
        emulated.create_cluster("billing", instances=1)
        assert emulated.onboard(emulated.request("orders", reboot="immediate", **CANARY)).status == "SUCCEEDED"
        assert emulated.onboard(emulated.request("billing", reboot="immediate")).status == "SUCCEEDED"
        assert emulated.onboard(emulated.request("missing")).status == "FAILED"  # no such cluster
        emulated.client("rds", SOURCE_ACCOUNT).modify_db_cluster(
            DBClusterIdentifier="billing", CloudwatchLogsExportConfiguration={"DisableLogTypes": ["postgresql"]}
        )
        assert emulated.reconcile().status == "SUCCEEDED"
        yield emulated


def cli(world, *argv):
    out, err = io.StringIO(), io.StringIO()
    api = LocalApi(world, SOURCE_ACCOUNT, f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/deployer/cli")
    code = main(["--region", world.region, *argv], transport=api, out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def test_report_shows_counts_the_drifted_source_the_failed_one_and_the_oldest_canary(world):
    code, output = cli(world, "report")
    assert code == 0, output
    assert output.startswith("3 source(s), every account you may see\n")
    assert "  active               1\n  drifted              1\n  failed               1\n" in output
    assert f"drifted: 1\n  {SOURCE_ACCOUNT}  eu-west-1  billing  (checked 20" in output
    assert "    - the postgresql log export is off\n" in output
    assert f"failed: 1\n  {SOURCE_ACCOUNT}  eu-west-1  missing  (at 20" in output
    assert "    Validate Request (" in output
    assert f"oldest canary: {SOURCE_ACCOUNT}  eu-west-1  orders  sent 20" in output and "not arrived after" in output


def test_report_json_for_the_callers_account(world):
    code, output = cli(world, "report", "--account", SOURCE_ACCOUNT, "--json")
    assert code == 0, output
    fleet = json.loads(output)
    assert (fleet["account_id"], fleet["sources"]) == (SOURCE_ACCOUNT, 3)
    assert fleet["by_status"] == {"active": 1, "drifted": 1, "failed": 1}
    [drifted] = fleet["drifted"]
    assert (drifted["cluster_id"], drifted["drift"]) == ("billing", ["the postgresql log export is off"])
    [failed] = fleet["failed"]
    assert (failed["cluster_id"], failed["step"]) == ("missing", "Validate Request") and "missing" in failed["message"]
    canary = fleet["oldest_canary"]
    assert (canary["cluster_id"], canary["arrived_at"]) == ("orders", None) and canary["waiting_seconds"] >= 0
    assert fleet["canaries_pending"] == 1


def test_report_of_another_account_is_refused(world):
    code, output = cli(world, "report", "--account", "999988887777")
    assert code == 1
    assert "error 403" in output
