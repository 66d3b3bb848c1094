import pytest

from pgaudit_archiver.models import Source
from pgaudit_archiver.naming import (
    account_resource_prefix,
    delivery_stream_name,
    destination_name,
    destination_role_name,
    execution_name,
    legacy_destination_role_name,
    source_destination_role_name,
)


def source(cluster: str, account: str = "111122223333") -> Source:
    return Source(account_id=account, region="eu-west-1", cluster_id=cluster)


def test_short_names_are_readable():
    assert delivery_stream_name(source("orders")) == "pgaudit-111122223333-orders"


def test_long_names_fit_in_64_characters_and_are_deterministic():
    long_id = "a" * 63
    name = delivery_stream_name(source(long_id))
    assert len(name) == 64
    assert name == delivery_stream_name(source(long_id))


def test_long_names_sharing_a_prefix_do_not_collide():
    first, second = source("a" * 62 + "b"), source("a" * 62 + "c")
    assert delivery_stream_name(first) != delivery_stream_name(second)
    assert source_destination_role_name(first) != source_destination_role_name(second)


def test_same_cluster_in_two_accounts_gets_two_streams():
    assert delivery_stream_name(source("orders", "111122223333")) != delivery_stream_name(
        source("orders", "444455556666")
    )


def test_execution_name_identifies_the_cluster_within_80_characters():
    name = execution_name(source("x" * 63), "abcd1234")
    assert len(name) <= 80
    assert name.startswith("111122223333-xxx") and name.endswith("-abcd1234")


def test_destination_role_name_is_one_per_account_and_region_as_iam_names_are_global():
    eu_west, us_east = source("orders"), Source(account_id="111122223333", region="us-east-1", cluster_id="orders")
    assert destination_role_name(eu_west) == "pgaudit-dest-eu-west-1-111122223333"
    assert destination_role_name(source("billing")) == destination_role_name(eu_west)  # shared by the account
    assert destination_role_name(us_east) == "pgaudit-dest-us-east-1-111122223333"
    assert source_destination_role_name(eu_west) == "pgaudit-dest-eu-west-1-111122223333-orders"
    assert legacy_destination_role_name(eu_west) == legacy_destination_role_name(us_east)  # the shared name


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-1", "us-gov-west-1", "ap-northeast-3"])
def test_long_destination_role_names_fit_and_keep_the_region_prefix_the_policies_allow(region):
    long = Source(account_id="111122223333", region=region, cluster_id="a" * 63)
    for name in (destination_role_name(long), source_destination_role_name(long)):
        assert len(name) <= 64
        assert name.startswith(f"pgaudit-dest-{region}-111122223333")


def test_account_resource_prefix_matches_every_stream_and_destination_name_of_the_account_only():
    prefix = account_resource_prefix(source("a" * 63))
    long = Source(account_id="111122223333", region="eu-west-1", cluster_id="a" * 63)
    assert delivery_stream_name(long).startswith(prefix) and destination_name(long).startswith(prefix)
    other = Source(account_id="111122223334", region="eu-west-1", cluster_id="a" * 63)
    assert not delivery_stream_name(other).startswith(prefix)
