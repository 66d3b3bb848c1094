"""`python -m local serve` and the installed command line in separate processes, as the README's flow runs them:
each command is a new process, and each sees what the ones before it did."""

import json
import os
import subprocess
import sys
import time

import pytest

from local import SOURCE_ACCOUNT
from local.template import ROOT

ENVIRONMENT = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # pytest's pythonpath, not an install
DEPLOYER = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/deployer/cli"
STARTUP_SECONDS = 120  # a deployment takes about 10 s; on a loaded machine, more
COMMAND_SECONDS = 120


@pytest.fixture(scope="module")
def endpoint():
    # --exit-after: the server stops by itself even if this process dies before its teardown.
    command = [
        sys.executable, "-m", "local", "serve", "--port", "0", "--exit-after", "600",
        "--create-demo-cluster", "orders-db", "--create-cluster-without-consent", "billing-db",
        "--parameter", "AuditReducerRoleNames=deployer",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        url = None
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                pytest.fail(f"the server ended before listening (exit {server.wait()})")
            if line.startswith("listening on "):
                url = line.split()[2]
        assert url, "the server did not listen in time"
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def pgaudit_archiver(endpoint, *argv):
    command = [sys.executable, "-m", "pgaudit_archiver_cli", "--endpoint", endpoint, *argv]
    result = subprocess.run(command, cwd=ROOT, env=ENVIRONMENT, capture_output=True, text=True,
                            timeout=COMMAND_SECONDS, check=False)  # fmt: skip
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_onboard_status_list_verify_offboard_in_separate_processes(endpoint):
    onboarded = pgaudit_archiver(endpoint, "onboard", SOURCE_ACCOUNT, "orders-db", "--wait")
    assert onboarded.returncode == 0, onboarded.stderr
    assert "onboard of orders-db started" in onboarded.stdout and "status: pending-reboot" in onboarded.stdout

    status = pgaudit_archiver(endpoint, "status", SOURCE_ACCOUNT, "orders-db")
    assert status.returncode == 0, status.stderr
    assert "status     pending-reboot" in status.stdout

    listed = pgaudit_archiver(endpoint, "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{SOURCE_ACCOUNT}  eu-west-1  orders-db  pending-reboot" in listed.stdout
    assert listed.stdout.endswith("1 cluster(s)\n")

    verified = pgaudit_archiver(endpoint, "verify", SOURCE_ACCOUNT, "orders-db", "--wait")
    assert verified.returncode == 0, verified.stderr
    assert "no drift" in verified.stdout

    # Offboarding reduces auditing: the developer the server calls as by default may not; the deployer may.
    refused = pgaudit_archiver(endpoint, "offboard", SOURCE_ACCOUNT, "orders-db")
    assert refused.returncode == 1 and refused.stderr.startswith("pgaudit-archiver: error 403: offboarding")
    offboarded = pgaudit_archiver(endpoint, "--caller-arn", DEPLOYER, "offboard", SOURCE_ACCOUNT, "orders-db", "--wait")
    assert offboarded.returncode == 0, offboarded.stderr
    assert "status: offboarded" in offboarded.stdout

    item = pgaudit_archiver(endpoint, "--output", "json", "status", SOURCE_ACCOUNT, "orders-db")
    assert json.loads(item.stdout)["status"] == "offboarded"


@pytest.mark.parametrize(
    ("argv", "status", "says"),
    [
        # the owner has not consented: the API's 409, with the owner's commands
        (("onboard", SOURCE_ACCOUNT, "billing-db"), "409", "aws rds add-tags-to-resource --resource-name"),
        # the deployment designates no AuditReducerRoleNames for this developer, as on AWS
        (("onboard", SOURCE_ACCOUNT, "orders-db", "--reboot", "immediate"), "403", "AuditReducerRoleNames"),
        # a mistyped account: another account's cluster, not a missing identity
        (("onboard", "111122223334", "orders-db"), "403", "may act only on its own clusters, not on account"),
        (("--region", "eu-wset-1", "status", SOURCE_ACCOUNT, "orders-db"), "400", "deployed in eu-west-1 only"),
        (("status", SOURCE_ACCOUNT, "never-onboarded"), "404", "is not in the registry"),
        # DB instances: the /instances routes, refused as /clusters' are
        (
            ("--region", "eu-wset-1", "status", SOURCE_ACCOUNT, "--instance", "orders-db"),
            "400",
            "deployed in eu-west-1 only",
        ),
        (
            ("--region", "eu-wset-1", "offboard", SOURCE_ACCOUNT, "--instance", "orders-db"),
            "400",
            "deployed in eu-west-1 only",
        ),
        (("status", SOURCE_ACCOUNT, "--instance", "never-onboarded"), "404", "is not in the registry"),
    ],
)
def test_each_refusal_is_one_line_with_the_apis_message_and_exit_1(endpoint, argv, status, says):
    result = pgaudit_archiver(endpoint, *argv)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"pgaudit-archiver: error {status}: ") and says in line


def test_a_request_may_name_its_caller_and_a_malformed_one_is_refused(endpoint):
    other = pgaudit_archiver(endpoint, "--caller-arn", "arn:aws:iam::999988887777:user/mallory", "list")
    assert other.returncode == 1 and "execute-api:Invoke" in other.stderr  # not an account the deployment allows
    malformed = pgaudit_archiver(endpoint, "--caller-arn", "mallory", "list")
    assert malformed.returncode == 1 and "an IAM user, role or assumed-role ARN" in malformed.stderr
