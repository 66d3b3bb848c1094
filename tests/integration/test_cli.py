"""The command line against the emulation's API, as a caller of the source account."""

import io
import json
import os
import re
import subprocess
import sys

import pytest

from local import SOURCE_ACCOUNT, World
from local import cli as local_cli
from local.cli import LocalApi
from local.template import ROOT
from pgaudit_archiver_cli import main


@pytest.fixture
def world():
    # The CLI's caller is the role its account designates to reduce auditing (--reboot immediate, --restore).
    with World(parameters={"AuditReducerRoleNames": "deployer"}) as emulated:
        yield emulated


def cli(world, *argv, account=SOURCE_ACCOUNT):
    out = io.StringIO()
    api = LocalApi(world, account, f"arn:aws:sts::{account}:assumed-role/deployer/cli")
    code = main(["--region", world.region, *argv], transport=api, out=out)
    return code, out.getvalue()


def test_onboard_wait_prints_progress_and_the_summary(world):
    world.create_cluster("orders")
    code, output = cli(world, "onboard", SOURCE_ACCOUNT, "orders", "--reboot", "immediate", "--wait")
    assert code == 0, output
    assert "onboard of orders started: arn:aws:states:" in output
    assert "status: active" in output
    assert "  - rebooted orders-instance-1" in output
    assert "  delivery_stream_arn: arn:aws:firehose:" in output


def test_status_list_and_offboard(world):
    world.create_cluster("orders")
    cli(world, "onboard", SOURCE_ACCOUNT, "orders", "--wait")
    code, output = cli(world, "status", SOURCE_ACCOUNT, "orders")
    assert code == 0 and '"status": "pending-reboot"' in output
    code, output = cli(world, "list")
    assert code == 0 and "orders" in output and "1 cluster(s)" in output
    code, output = cli(world, "offboard", SOURCE_ACCOUNT, "orders", "--restore", "--wait")
    assert code == 0, output
    assert "status: offboarded" in output


def test_errors_are_printed_with_their_message_and_exit_non_zero(world):
    code, output = cli(world, "onboard", "999988887777", "orders")
    assert code == 1
    assert "error 403" in output and "may act only on its own clusters" in output
    code, output = cli(world, "status", SOURCE_ACCOUNT, "never-onboarded")
    assert (code, "error 404" in output) == (1, True)


def test_failed_onboarding_wait_shows_where_it_failed(world):
    code, output = cli(world, "onboard", SOURCE_ACCOUNT, "missing", "--wait")
    assert code == 1
    assert "failed at Validate Request: Validate Request failed for cluster missing" in output


def test_local_cli_onboards_a_cluster_it_creates_in_a_fresh_emulation():
    out = io.StringIO()
    code = local_cli.main(["onboard", SOURCE_ACCOUNT, "orders", "--reboot", "immediate", "--wait"], out=out)
    assert code == 0, out.getvalue()
    assert "onboard of orders started" in out.getvalue() and "status: active" in out.getvalue()


def test_local_cli_report_runs_on_a_fresh_emulation():
    out = io.StringIO()
    code = local_cli.main(["report", "--json"], out=out)
    assert code == 0, out.getvalue()
    assert json.loads(out.getvalue())["sources"] == 0


def test_python_m_local_cli_hands_its_arguments_to_the_product_parser():
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # pytest's pythonpath, not an install
    command = [sys.executable, "-m", "local", "cli", "--help"]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m local cli")
    commands = set(re.search(r"\{([a-z,]+)\}", result.stdout).group(1).split(","))
    assert {"onboard", "status", "list", "offboard", "report"} <= commands


def test_installed_cli_local_flag_says_to_use_python_m_local_cli():
    with pytest.raises(SystemExit, match=r"python -m local cli"):
        main(["--local", "list"])
