import pytest
from pydantic import ValidationError

from pgaudit_archiver.errors import InvalidRequestError
from pgaudit_archiver.models import OnboardRequest, normalize_pgaudit_log
from pgaudit_archiver.settings import load_settings
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
