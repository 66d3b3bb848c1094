"""Every failure of the command lines ends with one clear line on stderr and a non-zero exit, never a traceback.
Each runs in its own process, as a user would type it (the ones needing a server are in test_cli_serve.py)."""

import os
import socket
import subprocess
import sys

import pytest

from local import SOURCE_ACCOUNT
from local.template import ROOT

API = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod"


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the probe is


def without_credentials():
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return {
        **environment, "PYTHONPATH": os.pathsep.join(sys.path), "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
    }  # fmt: skip


CASES = {
    "no credentials": (["pgaudit_archiver_cli", "--endpoint", API, "list"], 1, "no AWS credentials found"),
    "no credentials to read the stack": (
        ["pgaudit_archiver_cli", "--stack", "pgaudit-archiver", "--region", "eu-west-1", "list"],
        1, "cannot read stack pgaudit-archiver in eu-west-1",
    ),
    "unreachable endpoint": (
        ["pgaudit_archiver_cli", "--endpoint", f"http://127.0.0.1:{closed_port()}", "list"], 1, "cannot reach the API"
    ),
    "no API named": (["pgaudit_archiver_cli", "--region", "eu-west-1", "list"], 1, "no API: pass --stack"),
    "no region": (["pgaudit_archiver_cli", "--endpoint", "https://api.example.com/prod", "list"], 1, "no region"),
    "plain http to AWS": (["pgaudit_archiver_cli", "--endpoint", "http://example.com", "list"], 1, "https://"),
    "caller chosen on AWS": (
        ["pgaudit_archiver_cli", "--endpoint", API, "--caller-arn", "arn:aws:iam::111122223333:user/x", "list"],
        1, "--caller-arn is for the local endpoint only",
    ),
    "--local alone": (["pgaudit_archiver_cli", "--local"], 2, "python -m local serve"),
    "no command": (["pgaudit_archiver_cli"], 2, "the following arguments are required: COMMAND"),
    "short account id": (["pgaudit_archiver_cli", "status", "11112222333", "orders-db"], 2, "account id (12 digits)"),
    "cluster id the API refuses": (["pgaudit_archiver_cli", "status", SOURCE_ACCOUNT, "Orders_DB"], 2, "'Orders_DB'"),
    "zero retention": (
        ["pgaudit_archiver_cli", "onboard", SOURCE_ACCOUNT, "orders-db", "--log-retention-days", "0"], 2, "at least 1"
    ),
    "local cli region typo": (
        ["local", "cli", "--region", "eu-wset-1", "status", SOURCE_ACCOUNT, "orders-db"], 2,
        "region 'eu-wset-1': the local stack is deployed in eu-west-1 only",
    ),
    "local cli Orders_DB": (["local", "cli", "onboard", SOURCE_ACCOUNT, "Orders_DB"], 2, "'Orders_DB' is not a valid"),
    "local cli cluster to create named as the API refuses": (
        ["local", "cli", "--create-demo-cluster", "Orders_DB", "list"], 2, "cluster id 'Orders_DB'"
    ),
    "local serve region typo": (["local", "serve", "--region", "eu-wset-1"], 2, "did you mean eu-west-1"),
    "local fleet without accounts": (["local", "fleet", "--accounts", "0"], 2, "--accounts: 0 is below 1"),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_failure_is_one_line_and_a_non_zero_exit(case):
    argv, code, says = CASES[case]
    result = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=without_credentials(), capture_output=True,
                            text=True, timeout=120, check=False)  # fmt: skip
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == code, result.stderr
    [line] = result.stderr.splitlines()
    assert says in line
