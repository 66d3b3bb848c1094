"""The AWS rules the fakes and the emulation share (local/aws_rules.py), held to the documentation they quote, and the
product's own copy of the reboot rule held to them."""

import ast
from pathlib import Path

import pytest

from local import aws_rules
from local.aws_rules import exports_after, is_default_parameter_group, waits_for_reboot
from pgaudit_archiver import rds_events
from pgaudit_archiver.steps import reboot

ROOT = Path(__file__).resolve().parents[2]
# The Aurora User Guide's two lists ("without read availability" / "with read availability"), version by version.
WITHOUT_READ_AVAILABILITY = ["11.1", "11.9", "11.21", "12.4", "12.13", "13.0", "13.9", "14.3", "14.6"]
WITH_READ_AVAILABILITY = ["12.14", "12.22", "13.10", "13.18", "14.7", "14.15", "15.2", "15.10", "16", "16.6", "17.4"]


def test_aws_rules_writer_reboots_readers_is_the_user_guides_list():
    versions = WITHOUT_READ_AVAILABILITY + WITH_READ_AVAILABILITY
    assert [v for v in versions if aws_rules.writer_reboots_readers(v)] == WITHOUT_READ_AVAILABILITY


@pytest.mark.parametrize("major", range(10, 18))
def test_product_reboot_rule_agrees_with_the_emulations_for_every_minor(major: int):
    # The product's rule (steps/reboot.py) and the oracle are written apart from the same page: any difference fails.
    for minor in range(25):
        version = f"{major}.{minor}"
        assert reboot.writer_reboots_readers(version) == aws_rules.writer_reboots_readers(version), version


def test_aws_rules_log_export_change_touches_only_the_types_named():
    assert exports_after(["upgrade"], {"EnableLogTypes": ["postgresql"]}) == ["upgrade", "postgresql"]
    assert exports_after(["postgresql", "upgrade"], {"DisableLogTypes": ["postgresql"]}) == ["upgrade"]
    assert exports_after(["postgresql"], {"EnableLogTypes": ["postgresql"]}) == ["postgresql"]
    assert exports_after([], {"DisableLogTypes": ["postgresql"]}) == []


def test_aws_rules_a_static_or_pending_reboot_change_waits_for_the_reboot():
    assert waits_for_reboot("pending-reboot", "dynamic")
    assert waits_for_reboot("immediate", "static")
    assert not waits_for_reboot("immediate", "dynamic")
    assert is_default_parameter_group("default.aurora-postgresql16")
    assert not is_default_parameter_group("pgaudit-orders")


def test_aws_rules_no_test_double_writes_a_shared_rule_again():
    """The fakes and the emulation import the rules; a second definition beside them is a second model."""
    shared = {
        name
        for name, value in vars(aws_rules).items()
        if not name.startswith("_") and callable(value) and value.__module__ == aws_rules.__name__
    }
    doubles = [ROOT / "tests" / "unit" / "fakes.py", *sorted((ROOT / "local").glob("*.py"))]
    again = [
        f"{path.relative_to(ROOT)}: {node.name}"
        for path in doubles
        if path.name != "aws_rules.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in shared
    ]
    assert again == []


@pytest.mark.parametrize(
    ("engine", "version", "family"),
    [("aurora-postgresql", "15.4", "aurora-postgresql15"), ("aurora-postgresql", "16", "aurora-postgresql16"),
     ("postgres", "17.2", "postgres17")],
)  # fmt: skip
def test_aws_rules_a_parameter_group_family_is_the_engine_and_its_major(engine: str, version: str, family: str):
    assert aws_rules.parameter_group_family(engine, version) == family


def test_event_matches_follows_the_eventbridge_user_guides_examples():
    # "Event pattern syntax": every field of the pattern, in the same nesting; "Arrays in Amazon EventBridge event
    # patterns": any value of the pattern's array, and an array in the event matches on a non-empty intersection.
    pattern = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
               "detail": {"state": ["terminated"]}}  # fmt: skip
    event = {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "account": "1",
             "detail": {"state": "terminated", "instance-id": "i-1"}}  # fmt: skip
    assert aws_rules.event_matches(pattern, event)
    assert not aws_rules.event_matches(pattern, {**event, "detail": {"state": "running"}})
    assert not aws_rules.event_matches(pattern, {key: value for key, value in event.items() if key != "detail"})
    assert not aws_rules.event_matches(pattern, {**event, "detail": "terminated"})  # not the same nesting
    resources = ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "arn:aws:ec2:us-east-1:1:instance/i-2"]
    assert aws_rules.event_matches({"resources": resources[:1]}, {"resources": ["arn:other", resources[0]]})
    assert not aws_rules.event_matches({"resources": resources[1:]}, {"resources": ["arn:other", resources[0]]})
    with pytest.raises(ValueError, match="only arrays of exact values"):
        aws_rules.event_matches({"source": [{"prefix": "aws."}]}, event)


def test_the_rds_events_the_emulation_sends_are_the_ones_the_product_reads_with_the_same_meaning():
    # Two readings of the same pages ("Amazon RDS event categories and event messages"): the emulation's, which
    # sends them, and the product's (rds_events.py), which acts on them.
    meaning = {"creation": "new", "restoration": "new", "deletion": "deleted"}
    product = {event_id: said for events in rds_events.EVENTS.values() for event_id, said in events.items()}
    emulation = {event_id: meaning[category] for event_id, (category, _) in aws_rules.RDS_EVENTS.items()}
    assert emulation == product
