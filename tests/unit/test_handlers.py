"""The handler skeleton: the state named by the state machine, errors that say which step failed for which cluster,
settings checked at the first invocation, and clients and credentials kept by the container."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from functions.ensure_delivery_stream import app as ensure_delivery_stream
from functions.summarize_onboarding import app as summarize_onboarding
from local.template import stack_defaults
from pgaudit_archiver.aws import accounts, sessions
from pgaudit_archiver.aws.sessions import AssumedSession
from pgaudit_archiver.errors import ConfigurationError, WaitTimeoutError
from pgaudit_archiver.handlers import clear_container_caches, state_name
from pgaudit_archiver.models import Source, StepResult
from pgaudit_archiver.settings import SourceStepSettings, get_settings

EVENTS = Path(__file__).resolve().parents[2] / "events"
STACK = {**stack_defaults(), "AWS_REGION": "eu-west-1", "ARCHIVE_ACCOUNT_ID": "123456789012", "EXTERNAL_ID": "x" * 16}
SOURCE = Source(account_id="111122223333", region="eu-west-1", cluster_id="orders-db")


@dataclass
class Context:
    function_name: str = "pgaudit-archiver-EnsureDeliveryStreamFunction"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:pgaudit-archiver-Ensure"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "request-1"


def sample(function: str) -> dict:
    return json.loads((EVENTS / function / "step.json").read_text())


@pytest.fixture(autouse=True)
def new_container(monkeypatch):
    for name, value in STACK.items():
        monkeypatch.setenv(name, value)
    clear_container_caches()
    yield
    clear_container_caches()


@pytest.fixture
def stream_polls(monkeypatch):
    """Ensure Delivery Stream's logic replaced: it records its calls and reports a stream still being created."""
    calls = []

    def ensure(firehose, settings, source, polls, check_quotas=None):
        calls.append((firehose, settings, source, polls))
        return StepResult(ready=False, resources={"delivery_stream_arn": "arn:aws:firehose:x"}, polls=polls + 1)

    monkeypatch.setattr(ensure_delivery_stream, "ensure_delivery_stream", ensure)
    return calls


def test_handler_result_is_the_step_result_as_json(stream_polls):
    result = ensure_delivery_stream.lambda_handler(sample("ensure_delivery_stream"), Context())
    assert result == {"ready": False, "resources": {"delivery_stream_arn": "arn:aws:firehose:x"}, "changes": [],
                      "polls": 1}  # fmt: skip
    [(_, settings, source, polls)] = stream_polls
    assert (settings.max_polls, source, polls) == (int(STACK["MAX_POLLS"]), SOURCE, 0)


def test_handler_error_names_the_state_from_the_payload_and_the_source(monkeypatch):
    # One function serves Ensure Delivery Stream and Check Delivery Stream: the error names the state that ran.
    def ensure(firehose, settings, source, polls, check_quotas=None):
        raise WaitTimeoutError("delivery stream stayed CREATING for 60 polls")

    monkeypatch.setattr(ensure_delivery_stream, "ensure_delivery_stream", ensure)
    event = {**sample("ensure_delivery_stream"), "state": "Check Delivery Stream", "polls": 60}
    with pytest.raises(WaitTimeoutError) as raised:
        ensure_delivery_stream.lambda_handler(event, Context())
    assert raised.value.step == "Check Delivery Stream"
    assert raised.value.source == "cluster orders-db in account 111122223333 (eu-west-1)"
    assert str(raised.value).startswith("Check Delivery Stream failed for cluster orders-db in account 111122223333")


def test_handler_invoked_directly_names_the_function(monkeypatch):
    def ensure(firehose, settings, source, polls, check_quotas=None):
        raise WaitTimeoutError("still CREATING")

    monkeypatch.setattr(ensure_delivery_stream, "ensure_delivery_stream", ensure)
    event = {key: value for key, value in sample("ensure_delivery_stream").items() if key != "state"}
    with pytest.raises(WaitTimeoutError) as raised:
        ensure_delivery_stream.lambda_handler(event, Context())
    assert raised.value.step == "pgaudit-archiver-EnsureDeliveryStreamFunction"


def test_state_name_without_payload_or_context_says_direct_invocation():
    assert state_name({}, None) == "direct invocation"
    assert state_name({"state": "Enable Log Export"}, None) == "Enable Log Export"


def test_handler_without_a_variable_fails_at_its_first_invocation_naming_it(monkeypatch, stream_polls):
    monkeypatch.delenv("TRANSFORM_FUNCTION_ARN")
    event = {**sample("ensure_delivery_stream"), "state": "Ensure Delivery Stream"}
    with pytest.raises(ConfigurationError, match="TRANSFORM_FUNCTION_ARN is not set") as raised:
        ensure_delivery_stream.lambda_handler(event, Context())
    assert (raised.value.step, raised.value.source) == ("Ensure Delivery Stream", "cluster orders-db in account "
                                                        "111122223333 (eu-west-1)")  # fmt: skip
    assert stream_polls == []  # no step logic ran, no AWS call was made


def test_handler_takes_the_state_off_for_a_model_that_does_not_declare_it(monkeypatch):
    # The onboarding summary's model (the accumulated execution state) forbids unknown fields.
    recorded = []
    monkeypatch.setattr(summarize_onboarding, "record_summary", lambda registry, state, summary: recorded.append(state))
    result = summarize_onboarding.lambda_handler(sample("summarize_onboarding"), Context())
    assert result["source"] == SOURCE.model_dump()
    assert len(recorded) == 1


def test_second_invocation_creates_no_new_client(monkeypatch, stream_polls):
    created = []
    client = boto3.Session.client
    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: created.append(a[0]) or client(self, *a, **k))
    ensure_delivery_stream.lambda_handler(sample("ensure_delivery_stream"), Context())
    assert sorted(created) == ["dynamodb", "firehose"]  # the stream, and the shared rate budget's table
    ensure_delivery_stream.lambda_handler(sample("ensure_delivery_stream"), Context(aws_request_id="request-2"))
    assert sorted(created) == ["dynamodb", "firehose"]
    assert stream_polls[0][0] is stream_polls[1][0]


@pytest.fixture
def assume_role(monkeypatch):
    """AssumeRole replaced: each call gives credentials for 15 minutes from `now`, and is counted."""
    calls = []

    def source_session(settings, source):
        calls.append(source)
        session = boto3.Session(aws_access_key_id=f"ASIA{len(calls)}", aws_secret_access_key="s", aws_session_token="t",
                                region_name=source.region)  # fmt: skip
        return AssumedSession(session, NOW + timedelta(minutes=15) * len(calls))

    monkeypatch.setattr(accounts, "source_session", source_session)
    return calls


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_source_credentials_are_kept_while_they_last(assume_role):
    settings = get_settings(SourceStepSettings)
    first = accounts.source_account(settings, SOURCE, now=NOW)
    logs = first.logs
    later = accounts.source_account(settings, SOURCE, now=NOW + timedelta(minutes=9))
    assert later is first and later.logs is logs
    assert len(assume_role) == 1


def test_source_credentials_about_to_expire_are_refreshed(assume_role):
    settings = get_settings(SourceStepSettings)
    first = accounts.source_account(settings, SOURCE, now=NOW)
    first.session  # noqa: B018 (assumes the role)
    # 11 minutes into 15-minute credentials: less than REFRESH_BEFORE_EXPIRY is left, so the role is assumed again.
    refreshed = accounts.source_account(settings, SOURCE, now=NOW + timedelta(minutes=11))
    assert refreshed is not first
    assert refreshed.session.get_credentials().access_key == "ASIA2"
    assert len(assume_role) == 2


def test_source_account_is_shared_by_its_clusters_but_not_between_accounts_regions_or_deployments(
    assume_role, monkeypatch
):
    settings = get_settings(SourceStepSettings)
    account = accounts.source_account(settings, SOURCE, now=NOW)
    other_cluster = SOURCE.model_copy(update={"cluster_id": "billing-db"})
    assert accounts.source_account(settings, other_cluster, now=NOW) is account
    other_account = SOURCE.model_copy(update={"account_id": "444455556666"})
    assert accounts.source_account(settings, other_account, now=NOW) is not account
    other_region = SOURCE.model_copy(update={"region": "us-east-1"})
    assert accounts.source_account(settings, other_region, now=NOW) is not account
    monkeypatch.setenv("EXTERNAL_ID", "another-deployment-id")
    assert accounts.source_account(get_settings(SourceStepSettings), SOURCE, now=NOW) is not account


def test_container_caches_cleared_forget_settings_clients_and_credentials(assume_role):
    settings = get_settings(SourceStepSettings)
    account = accounts.source_account(settings, SOURCE, now=NOW)
    archive = accounts.archive_account(settings)
    clear_container_caches()
    assert get_settings(SourceStepSettings) is not settings
    assert accounts.source_account(settings, SOURCE, now=NOW) is not account
    assert accounts.archive_account(settings) is not archive


def test_source_clients_carry_the_assumed_credentials_in_the_source_region_without_a_new_session(monkeypatch):
    settings = get_settings(SourceStepSettings)
    expires = NOW + timedelta(minutes=15)
    credentials = {"AccessKeyId": "ASIAASSUMED", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": expires}

    class Sts:
        def assume_role(self, **request):
            assert request["RoleArn"] == f"arn:aws:iam::{SOURCE.account_id}:role/{settings.source_role_name}"
            assert request["ExternalId"] == "x" * 16
            return {"Credentials": credentials}

    monkeypatch.setattr(sessions, "archive_client", lambda service, region: Sts())
    sessions.archive_session(settings.region)  # the container's own session, built at its first call
    new_sessions = []
    monkeypatch.setattr(boto3, "Session", lambda *a, **k: new_sessions.append(k) or pytest.fail("a new Session"))
    elsewhere = Source(account_id=SOURCE.account_id, region="us-east-2", cluster_id="orders-db")
    assumed = sessions.source_session(settings, elsewhere)

    rds = assumed.session.client("rds", config=sessions.CLIENT_CONFIG)
    assert rds.meta.region_name == "us-east-2"
    assert rds._request_signer._credentials.access_key == "ASIAASSUMED"  # what signs its requests
    assert assumed.expires_at == expires and not new_sessions
    assert "ASIAASSUMED" not in repr(assumed) and "SessionToken" not in repr(assumed)
