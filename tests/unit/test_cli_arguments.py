"""The installed command line's arguments: help on every option, and the API's own identifier rules."""

import argparse
import io
import json

import pytest

from local.template import ROOT
from pgaudit_archiver_cli import ACCOUNT_ID, CLUSTER_ID, REGION, build_parser, run


def parsers():
    root = build_parser()
    [commands] = [action for action in root._actions if isinstance(action, argparse._SubParsersAction)]
    return {"": root, **commands.choices}


def test_every_option_and_argument_has_help_text():
    missing = [
        f"{name} {action.dest}"
        for name, parser in parsers().items()
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def test_every_api_operation_has_a_command():
    operations = json.loads((ROOT / "api" / "openapi.json").read_text())["paths"]
    # The /instances routes are onboard, status, verify and offboard with --instance.
    assert sum(len(methods) for methods in operations.values()) == 13
    for command in ("onboard", "status", "verify", "offboard"):
        assert "--instance" in {option for action in parsers()[command]._actions for option in action.option_strings}
    assert set(parsers()) - {""} == {"onboard", "status", "list", "verify", "offboard", "adopt", "adoption", "report",
                                     "adopt-organization", "organization-adoption"}  # fmt: skip


def test_identifier_rules_are_the_apis():
    schema = json.loads((ROOT / "api" / "openapi.json").read_text())["components"]["schemas"]["OnboardRequest"]
    fields = schema["properties"]
    assert (ACCOUNT_ID.pattern, CLUSTER_ID.pattern, REGION.pattern) == (
        fields["account_id"]["pattern"], fields["cluster_id"]["pattern"], fields["region"]["pattern"]
    )  # fmt: skip


def test_onboarding_options_are_the_requests_fields():
    schema = json.loads((ROOT / "api" / "openapi.json").read_text())["components"]["schemas"]["OnboardRequest"]
    onboard = parsers()["onboard"]
    destinations = {action.dest for action in onboard._actions} - {"help", "idempotency_key", "wait", "instance"}
    assert destinations | {"region"} == set(schema["properties"])  # --region is every command's
    instance = json.loads((ROOT / "api" / "openapi.json").read_text())["components"]["schemas"][
        "InstanceOnboardRequest"
    ]
    # --instance sends the identifier as instance_id: the same options otherwise.
    assert set(schema["properties"]) - {"cluster_id"} == set(instance["properties"]) - {"instance_id"}


@pytest.mark.parametrize(
    ("argv", "call"),
    [
        (["onboard", "111122223333", "shopdb", "--instance"], ("POST", "/instances")),
        (["status", "111122223333", "shopdb", "--instance"], ("GET", "/instances/111122223333/eu-west-1/shopdb")),
        (["offboard", "111122223333", "shopdb", "--instance"], ("DELETE", "/instances/111122223333/eu-west-1/shopdb")),
        (["verify", "111122223333", "hrdb", "--instance"], ("POST", "/instances/111122223333/eu-west-1/hrdb/verify")),
        (["status", "111122223333", "shopdb"], ("GET", "/clusters/111122223333/eu-west-1/shopdb")),
    ],
)
def test_instance_commands_call_the_instances_routes(argv, call):
    calls = []

    def api(method, path, body=None, query=None, headers=None):
        calls.append((method, path, body))
        started = {"operation": "onboard", "source": {"cluster_id": "shopdb"}, "execution_arn": "arn:x",
                   "already_running": False, "status_path": path}  # fmt: skip
        return (202, started) if method != "GET" else (200, {"account_id": "111122223333", "cluster_id": "shopdb"})

    run(build_parser().parse_args(["--region", "eu-west-1", *argv]), api, io.StringIO())

    assert calls[-1][:2] == call  # verify reads the item first (when it was last checked)
    assert {path.split("/")[1] for _, path, _ in calls} == {call[1].split("/")[1]}
    if call == ("POST", "/instances"):
        assert calls[-1][2] == {"account_id": "111122223333", "region": "eu-west-1", "instance_id": "shopdb"}
