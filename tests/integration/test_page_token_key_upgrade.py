"""Upgrading from a version that kept the page-token key in the idempotency table: the API writes a new key in its
own table, so a page token issued before the upgrade no longer verifies. Its holder gets a 400 that says to list
again, never a 500; the next listing and its tokens work."""

import pytest

from local import SOURCE_ACCOUNT, World
from pgaudit_archiver.aws.page_token_key import KEY_ITEM_ID
from pgaudit_archiver.handlers import clear_container_caches

CALLER = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/team-deployer/bob"


@pytest.fixture
def world():
    with World() as emulated:
        for cluster in ("orders", "inventory"):
            emulated.create_cluster(cluster)
        yield emulated


def listing(world, **query):
    return world.api("GET", "/clusters", caller_account=SOURCE_ACCOUNT, caller_arn=CALLER, query=query)


def test_page_token_from_before_a_key_change_gets_400_and_listing_again_works(world):
    for cluster in ("orders", "inventory"):
        body = world.request(cluster)
        execution = world.api("POST", "/clusters", caller_account=SOURCE_ACCOUNT, caller_arn=CALLER, body=body)
        world.wait(execution.body["execution_arn"])
    old_token = listing(world, limit="1").body["next_token"]

    # The upgrade: the key table starts empty and the API runs in new containers.
    world.client("dynamodb").delete_item(TableName=world.resources["PageTokenKeyTable"], Key={"id": {"S": KEY_ITEM_ID}})
    clear_container_caches()

    refused = listing(world, limit="1", next_token=old_token)
    assert refused.status == 400, refused.body
    assert "next_token" in refused.body["message"] and "upgrade" in refused.body["message"]
    first = listing(world, limit="1")
    assert first.status == 200 and first.body["next_token"] != old_token
    second = listing(world, limit="1", next_token=first.body["next_token"])
    assert second.status == 200 and len(first.body["items"]) == len(second.body["items"]) == 1
