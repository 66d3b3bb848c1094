"""The sample events in events/ (used with `sam local invoke -e`) stay valid for the code that reads them."""

import base64
import json
from pathlib import Path

import pytest

from functions.claim_cluster.app import ClaimEvent
from functions.discover_clusters.app import DiscoverEvent
from functions.list_accounts.app import ListAccountsEvent
from functions.plan_run.app import PlanRunEvent
from functions.start_account_adoption.app import AccountAdoptionEvent
from functions.verify_sources.app import VerifySourcesEvent
from local.template import load_settings
from pgaudit_archiver import events
from pgaudit_archiver.handlers import step_input
from pgaudit_archiver.steps.auto_onboard import source_of_event
from pgaudit_archiver.steps.deletion import deleted_source
from pgaudit_archiver.steps.summary import OnboardingState
from pgaudit_archiver.steps.validate import parse_request
from pgaudit_archiver.transform import transform

EVENTS = Path(__file__).resolve().parents[2] / "events"
MODELS = {
    "validate_request": events.ValidateEvent,
    "ensure_delivery_stream": events.StepEvent,
    "ensure_destination_role": events.DestinationRoleEvent,
    "ensure_destination": events.DestinationEvent,
    "configure_parameter_group": events.ParameterGroupEvent,
    "reboot_instances": events.RebootEvent,
    "create_extension": events.ExtensionEvent,
    "enable_log_export": events.StepEvent,
    "ensure_subscription_filter": events.SubscriptionFilterEvent,
    "summarize_onboarding": OnboardingState,
    "record_failure": events.FailureEvent,
    "register_execution": events.RegisterEvent,
    "validate_offboarding": events.ValidateEvent,
    "remove_subscription_filter": events.OffboardStepEvent,
    "restore_cluster": events.RestoreEvent,
    "delete_destination": events.OffboardStepEvent,
    "delete_delivery_stream": events.OffboardStepEvent,
    "summarize_offboarding": events.OffboardSummaryEvent,
    "plan_run": PlanRunEvent,
    "verify_sources": VerifySourcesEvent,
    "publish_run_summary": events.DriftCountEvent,
    "discover_clusters": DiscoverEvent,
    "claim_cluster": ClaimEvent,
    "list_accounts": ListAccountsEvent,
    "start_account_adoption": AccountAdoptionEvent,
}


def test_every_function_has_a_sample_event():
    # the transform, the API, the cluster events, the schedule and S3's notifications have samples of their own
    # kinds (events/transform_records, api, cluster_events, schedule_discovery, s3_object_created)
    functions = {path.name for path in (EVENTS.parent / "functions").iterdir()} - {
        "transform_records",
        "api",
        "handle_cluster_event",
        "schedule_discovery",
        "register_fleet_partitions",
    }
    assert functions == set(MODELS)


@pytest.mark.parametrize("function", sorted(MODELS))
def test_sample_event_parses_into_the_handlers_model(function):
    for path in (EVENTS / function).glob("*.json"):
        MODELS[function].model_validate(step_input(json.loads(path.read_text()), MODELS[function]))


@pytest.mark.parametrize("path", sorted((EVENTS / "onboard").glob("*.json")), ids=lambda p: p.name)
def test_sample_onboarding_requests_are_valid(path):
    settings = load_settings({"AWS_REGION": "eu-west-1", "ARCHIVE_ACCOUNT_ID": "123456789012", "EXTERNAL_ID": "x" * 16})
    assert parse_request(json.loads(path.read_text()), settings).account_id == "111122223333"


def test_sample_firehose_event_gives_two_audit_lines_and_drops_the_control_message():
    result = transform(json.loads((EVENTS / "transform_records" / "cloudwatch-logs.json").read_text()))["records"]
    assert [record["result"] for record in result] == ["Ok", "Dropped"]
    lines = base64.b64decode(result[0]["data"]).decode().splitlines()
    assert [json.loads(line)["class"] for line in lines] == ["DDL", "WRITE"]


@pytest.mark.parametrize("path", sorted((EVENTS / "cluster_events").glob("*.json")), ids=lambda p: p.name)
def test_sample_cluster_events_name_their_cluster(path):
    event = json.loads(path.read_text())
    source = source_of_event(event) or deleted_source(event)  # a new database, a tag change, or a deletion
    assert (source.account_id, source.region, source.cluster_id) == ("111122223333", "eu-west-1", "orders-db")
    assert source.kind == ("db-instance" if event["detail-type"] == "RDS DB Instance Event" else "aurora-cluster")


def test_other_rds_events_are_not_cluster_creations():
    event = json.loads((EVENTS / "cluster_events" / "cluster-created.json").read_text())
    event["detail"]["EventID"] = "RDS-EVENT-0171"  # DB cluster deleted
    assert source_of_event(event) is None


def test_the_s3_sample_names_an_object_of_the_archive_layout():
    from pgaudit_archiver.steps.fleet_partitions import created_objects, partition_of  # noqa: PLC0415

    [(bucket, key)] = created_objects(json.loads((EVENTS / "s3_object_created" / "archived_object.json").read_text()))
    assert bucket.startswith("pgaudit-archiver-archive-") and partition_of(key) is not None
