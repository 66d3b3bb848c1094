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
    out, err = io.StringIO(), io.StringIO()
    api = LocalApi(world, account, f"arn:aws:sts::{account}:assumed-role/deployer/cli")
    code = main(["--region", world.region, *argv], transport=api, out=out, err=err)
    return code, out.getvalue() + err.getvalue()


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
    assert code == 0 and "status     pending-reboot" in output
    code, output = cli(world, "--output", "json", "status", SOURCE_ACCOUNT, "orders")
    assert code == 0 and json.loads(output)["status"] == "pending-reboot"
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


DEPLOYER = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/deployer/cli"


def local(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = local_cli.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_local_cli_onboards_the_cluster_it_was_asked_to_create_as_the_role_the_deployment_names():
    code, out, err = local(
        "--create-demo-cluster", "orders", "--parameter", "AuditReducerRoleNames=deployer", "--caller-arn", DEPLOYER,
        "onboard", SOURCE_ACCOUNT, "orders", "--reboot", "immediate", "--wait",
    )  # fmt: skip
    assert code == 0, out + err
    assert "onboard of orders started" in out and "status: active" in out


def test_local_cli_refuses_an_immediate_reboot_to_an_ordinary_developer_as_aws_does():
    # The deployment's defaults designate no AuditReducerRoleNames: the local caller gets no more than on AWS.
    code, out, err = local(
        "--create-demo-cluster", "orders", "onboard", SOURCE_ACCOUNT, "orders", "--reboot", "immediate"
    )
    assert code == 1
    assert err.startswith("python -m local cli: error 403: an immediate reboot") and "AuditReducerRoleNames" in err
    assert err.count("\n") == 1 and out == ""


def test_local_cli_creates_no_cluster_unless_asked():
    code, out, _ = local("onboard", SOURCE_ACCOUNT, "orders", "--wait")
    assert code == 1
    assert "no DB cluster named orders exists" in out


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
    assert "\nusage: python -m local cli" in result.stdout and "--create-demo-cluster CLUSTER_ID" in result.stdout
    commands = set(re.findall(r"^    ([a-z]+) ", result.stdout, re.MULTILINE))
    assert commands == {"onboard", "status", "list", "verify", "offboard", "adopt", "adoption", "report"}


def test_installed_cli_local_flag_says_to_use_the_local_server_or_python_m_local_cli():
    err = io.StringIO()
    assert main(["--local", "list"], err=err) == 2
    assert "python -m local serve" in err.getvalue() and "python -m local cli" in err.getvalue()
