"""The database events' path: each source account's rules forward exactly the RDS events the product acts on
(pgaudit_archiver/rds_events.py), the archive rule delivers every one of them to the function, and the only
permission on the way is PutEvents on the archive bus. Patterns are evaluated with the emulation's EventBridge
matching rule (local/aws_rules.py), written from the EventBridge User Guide."""

from typing import Any

import pytest

from local.aws_rules import event_matches
from local.template import ARCHIVE_TEMPLATE, SOURCE_TEMPLATE, load_template
from pgaudit_archiver.rds_events import EVENTS

SOURCE_RESOURCES = load_template(SOURCE_TEMPLATE)["Resources"]
ARCHIVE_RESOURCES = load_template(ARCHIVE_TEMPLATE)["Resources"]
FORWARDING = {
    logical_id: resource["Properties"]
    for logical_id, resource in SOURCE_RESOURCES.items()
    if resource["Type"] == "AWS::Events::Rule"
}
DELIVERY = ARCHIVE_RESOURCES["NewClusterEventFunction"]["Properties"]["Events"]["ClusterEvents"]["Properties"]
ACTED_ON = sorted((detail_type, event_id) for detail_type, ids in EVENTS.items() for event_id in ids)


def rds_sent(detail_type: str, event_id: str) -> dict[str, Any]:
    return {"source": "aws.rds", "detail-type": detail_type, "account": "111122223333", "region": "eu-west-1",
            "detail": {"EventID": event_id, "EventCategories": ["creation"]}}  # fmt: skip


def forwarded(event: dict[str, Any]) -> bool:
    return any(event_matches(rule["EventPattern"], event) for rule in FORWARDING.values())


def test_source_stack_forwards_exactly_the_rds_events_the_product_acts_on():
    forwarded_ids: dict[str, set[str]] = {}
    for rule in FORWARDING.values():
        pattern = rule["EventPattern"]
        if pattern["source"] == ["aws.rds"]:
            (detail_type,) = pattern["detail-type"]
            forwarded_ids.setdefault(detail_type, set()).update(pattern["detail"]["EventID"])
    assert forwarded_ids == {detail_type: set(ids) for detail_type, ids in EVENTS.items()}


@pytest.mark.parametrize(("detail_type", "event_id"), ACTED_ON)
def test_each_event_acted_on_is_forwarded_and_delivered_to_the_function(detail_type, event_id):
    event = rds_sent(detail_type, event_id)
    assert forwarded(event)
    assert event_matches(DELIVERY["Pattern"], event)


@pytest.mark.parametrize(
    ("detail_type", "event_id"),
    [
        ("RDS DB Snapshot Event", "RDS-EVENT-0043"),  # a DB snapshot's own event of the same ID
        ("RDS DB Instance Event", "RDS-EVENT-0006"),  # "The DB instance restarted"
        ("RDS DB Cluster Event", "RDS-EVENT-0172"),  # "Renamed DB cluster": reconciliation follows renames
        ("RDS DB Cluster Event", "RDS-EVENT-0150"),  # "The DB cluster stopped"
    ],
)
def test_other_rds_events_are_not_forwarded(detail_type, event_id):
    assert not forwarded(rds_sent(detail_type, event_id))


def test_tag_changes_of_either_kind_are_forwarded_and_delivered():
    for resource_type in ("cluster", "db"):
        event = {"source": "aws.tag", "detail-type": "Tag Change on Resource",
                 "detail": {"service": "rds", "resource-type": resource_type}}  # fmt: skip
        assert forwarded(event) and event_matches(DELIVERY["Pattern"], event)


def test_the_archive_rule_admits_only_the_forwarded_kinds_of_event():
    pattern = DELIVERY["Pattern"]
    assert sorted(pattern) == ["detail-type", "source"]
    assert set(pattern["source"]) == {"aws.rds", "aws.tag"}
    assert set(pattern["detail-type"]) == {*EVENTS, "Tag Change on Resource"}


def test_forwarding_needs_only_put_events_on_the_archive_bus():
    role = SOURCE_RESOURCES["ForwardEventsRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert statements == [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": {"Ref": "ArchiveEventBusArn"}}]
    for rule in FORWARDING.values():
        [target] = rule["Targets"]
        assert target["Arn"] == {"Ref": "ArchiveEventBusArn"}
        assert target["RoleArn"] == {"Fn::GetAtt": ["ForwardEventsRole", "Arn"]}


def test_the_function_that_marks_deletions_reads_rds_only_through_the_source_role():
    # It confirms a deletion with DescribeDB* as the source account's role: its own role has no RDS permission.
    role = ARCHIVE_RESOURCES["NewClusterEventFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    document = str(ARCHIVE_RESOURCES[role]["Properties"])
    assert "rds:" not in document and "sts:AssumeRole" in document
