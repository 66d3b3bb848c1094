"""A global database's secondary cluster is a source of its own region: another region's stack refuses it by name."""

import pytest

from pgaudit_archiver.errors import PERMANENT_ERRORS, RegionNotArchivedError
from pgaudit_archiver.steps.validate import parse_request
from tests.unit.fakes import ACCOUNT, stack_settings


def test_onboarding_a_secondary_cluster_of_another_region_is_region_not_archived_naming_the_region() -> None:
    secondary = {"account_id": ACCOUNT, "region": "us-east-1", "cluster_id": "orders-secondary"}

    with pytest.raises(RegionNotArchivedError) as raised:
        parse_request(secondary, stack_settings())

    message = str(raised.value)
    assert "region is us-east-1 but this stack runs in eu-west-1" in message
    assert "global database" in message
    assert "pgaudit-archiver stack deployed in us-east-1" in message


def test_region_not_archived_is_a_permanent_error_the_workflows_catch_by_name() -> None:
    assert RegionNotArchivedError in PERMANENT_ERRORS
