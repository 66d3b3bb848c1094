"""The installed command line's arguments: help on every option, and the API's own identifier rules."""

import argparse
import json

from local.template import ROOT
from pgaudit_archiver_cli import ACCOUNT_ID, CLUSTER_ID, REGION, build_parser


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
    assert sum(len(methods) for methods in operations.values()) == 9
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
    destinations = {action.dest for action in onboard._actions} - {"help", "idempotency_key", "wait"}
    assert destinations | {"region"} == set(schema["properties"])  # --region is every command's
