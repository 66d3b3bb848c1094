import pytest
from pydantic import ValidationError

from local.template import load_settings
from pgaudit_archiver.errors import InvalidRequestError
from pgaudit_archiver.models import (
    OffboardRequest,
    OnboardRequest,
    normalize_pgaudit_log,
    valid_account_id,
    valid_cluster_id,
    valid_database_name,
    valid_region,
)
from pgaudit_archiver.steps.validate import parse_request

VALID = {"account_id": "111122223333", "region": "eu-west-1", "cluster_id": "Orders-DB"}
ENVIRONMENT = {"AWS_REGION": "eu-west-1", "ARCHIVE_ACCOUNT_ID": "123456789012", "EXTERNAL_ID": "an-external-id-1234"}


def test_request_valid_cluster_id_is_lowercased():
    assert OnboardRequest.model_validate(VALID).cluster_id == "orders-db"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account_id", "12345"),
        ("account_id", "11112222333a"),
        ("cluster_id", "1starts-with-digit"),
        ("cluster_id", "double--hyphen"),
        ("cluster_id", "trailing-"),
        ("cluster_id", "x" * 64),
        ("region", "Europe"),
        ("pgaudit_log", "ddl,everything"),
        ("pgaudit_log", ""),
        ("reboot", "later"),
        ("log_retention_days", 42),
        ("unknown_option", True),
    ],
)
def test_request_invalid_field_is_named_in_the_error(field, value):
    settings = load_settings(ENVIRONMENT)
    with pytest.raises(InvalidRequestError) as raised:
        parse_request({**VALID, field: value}, settings)
    assert field in str(raised.value)


def test_request_defaults_come_from_the_deployment():
    settings = load_settings({**ENVIRONMENT, "DEFAULT_PGAUDIT_LOG": "all", "DEFAULT_REBOOT": "immediate"})
    request = parse_request(VALID, settings)
    assert (request.pgaudit_log, request.reboot, request.log_retention_days) == ("all", "immediate", 30)
    assert request.filter_pattern == '"AUDIT:"'


@pytest.mark.parametrize(
    ("default", "asked", "resolved"),
    [("true", None, True), ("false", None, False), ("true", False, False), ("false", True, True)],
)
def test_request_canary_left_out_takes_the_deployments_default_canary_and_an_explicit_value_is_kept(
    default, asked, resolved
):
    settings = load_settings({**ENVIRONMENT, "DEFAULT_CANARY": default})
    body = VALID if asked is None else {**VALID, "canary": asked}
    assert parse_request(body, settings).canary is resolved


def test_request_canary_null_is_refused_naming_the_default_it_does_not_mean():
    with pytest.raises(InvalidRequestError, match="leave it out for the deployment's DefaultCanary"):
        parse_request({**VALID, "canary": None}, load_settings(ENVIRONMENT))


def test_request_for_another_region_names_the_stack_to_use():
    settings = load_settings(ENVIRONMENT)
    with pytest.raises(InvalidRequestError, match="stack deployed in us-east-1"):
        parse_request({**VALID, "region": "us-east-1"}, settings)


def test_pgaudit_log_accepts_exclusions_and_normalizes_case():
    assert normalize_pgaudit_log("ALL, -Misc") == "all,-misc"


def test_pgaudit_log_rejects_unknown_class():
    with pytest.raises(ValueError, match="unknown pgaudit class reads"):
        normalize_pgaudit_log("ddl,reads")


def test_request_model_forbids_unknown_fields():
    with pytest.raises(ValidationError):
        OnboardRequest.model_validate({**VALID, "rebooot": "immediate"})


ARABIC_INDIC_ACCOUNT = "\u0661" * 12
FULLWIDTH_ACCOUNT = "\uff11" * 12


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account_id", ARABIC_INDIC_ACCOUNT),
        ("account_id", FULLWIDTH_ACCOUNT),
        ("account_id", VALID["account_id"] + "\n"),
        ("region", "eu-west-\u0661"),
        ("region", "eu-west-\uff11"),
        ("cluster_id", "orders\u0663"),
        ("cluster_id", "\u043erders"),  # Cyrillic o
        ("database", "db\u0663"),
        ("secret_arn", f"arn:aws:secretsmanager:eu-west-1:{ARABIC_INDIC_ACCOUNT}:secret:x"),
    ],
)
def test_identifiers_are_ascii_only(field, value):
    with pytest.raises(ValidationError) as raised:
        OnboardRequest.model_validate({**VALID, field: value})
    assert raised.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("validator", "value"),
    [
        (valid_account_id, ARABIC_INDIC_ACCOUNT),
        (valid_region, "eu-west-1\n"),
        (valid_cluster_id, "orders--db"),
        (valid_cluster_id, "orders-"),
        (valid_database_name, "db\u0663"),
    ],
)
def test_identifier_validators_refuse_what_the_pattern_alone_might_let_through(validator, value):
    with pytest.raises(ValueError):
        validator(value)


def test_offboard_request_validates_the_cluster_id_as_onboarding_does():
    for cluster_id in ("orders--db", "orders-"):
        with pytest.raises(ValidationError):
            OffboardRequest.model_validate({**VALID, "cluster_id": cluster_id})
    assert OffboardRequest.model_validate(VALID).cluster_id == "orders-db"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("log_retention_days", "30"),
        ("log_retention_days", " 30 "),
        ("log_retention_days", "3_0"),
        ("log_retention_days", True),
        ("log_retention_days", 30.0),
        ("canary", "yes"),
        ("canary", "true"),
        ("canary", 1),
        ("account_id", 111122223333),
    ],
)
def test_request_models_do_not_coerce(field, value):
    with pytest.raises(ValidationError) as raised:
        OnboardRequest.model_validate({**VALID, field: value})
    assert raised.value.errors()[0]["loc"] == (field,)


def test_request_models_take_json_types():
    request = OnboardRequest.model_validate({**VALID, "log_retention_days": 30, "canary": True})
    assert (request.log_retention_days, request.canary) == (30, True)


@pytest.mark.parametrize(
    ("secret_arn", "named"),
    [
        ("arn:aws:secretsmanager:eu-west-1:444455556666:secret:theirs-AbCdEf", "account 444455556666"),
        ("arn:aws:secretsmanager:us-east-1:111122223333:secret:mine-AbCdEf", "region us-east-1"),
    ],
)
def test_secret_outside_the_clusters_account_or_region_is_refused(secret_arn, named):
    with pytest.raises(ValidationError, match=named) as raised:
        OnboardRequest.model_validate({**VALID, "secret_arn": secret_arn})
    assert raised.value.errors()[0]["loc"] == ("secret_arn",)


def test_secret_in_the_clusters_account_and_region_is_taken():
    arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:mine-AbCdEf"
    assert OnboardRequest.model_validate({**VALID, "secret_arn": arn}).secret_arn == arn
