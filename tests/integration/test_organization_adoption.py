"""Organization-wide adoption: every ACTIVE member account adopted in one request by an admin, an account without
the source role listed as failed with the reason, resumable by a second request, one at a time."""

import pytest

from local import ARCHIVE_ACCOUNT, SOURCE_ACCOUNT, World
from local.organizations import MANAGEMENT_ACCOUNT

WITH_CLUSTER = "444455556666"
NO_CLUSTERS = "555566667777"
NO_SOURCE_ROLE = "222233334444"  # a member that never deployed the source stack
ADMIN_ROLE = f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/platform-admin"
ADMIN = f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/platform-admin/ops"
ONBOARDED = {"active", "pending-reboot"}
ENABLED = {"pgaudit-archiver": "enabled"}


@pytest.fixture(scope="module")
def world():
    with World(
        source_accounts=(SOURCE_ACCOUNT, WITH_CLUSTER, NO_CLUSTERS), parameters={"AdminPrincipalArns": ADMIN_ROLE}
    ) as world:
        world.create_organization((SOURCE_ACCOUNT, WITH_CLUSTER, NO_CLUSTERS, NO_SOURCE_ROLE))
        world.create_cluster("orders", tags=ENABLED)
        world.create_cluster("billing", account=WITH_CLUSTER, tags=ENABLED)
        world.create_cluster("untagged", account=WITH_CLUSTER, consent=False)
        yield world


def adopt_organization(world, caller_arn=ADMIN, body=None):
    return world.api("POST", "/organization/adopt", caller_account=ARCHIVE_ACCOUNT, caller_arn=caller_arn,
                     body=body or {})  # fmt: skip


def status(world, adoption_id, caller_arn=ADMIN):
    return world.api("GET", f"/organization/adoptions/{adoption_id}", caller_account=ARCHIVE_ACCOUNT,
                     caller_arn=caller_arn)  # fmt: skip


def onboarding_executions(world):
    machine = world.resources["OnboardStateMachine"]
    return world.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]


@pytest.fixture(scope="module")
def first_adoption(world):
    """The module's first adoption: the tests that need one to have run ask for it, whatever order they run in."""
    answer = adopt_organization(world)
    return answer, world.wait(answer.body["execution_arn"], timeout=300) if answer.status == 202 else None


def test_an_organization_adoption_adopts_every_member_and_lists_the_one_without_a_role_as_failed(world, first_adoption):
    answer, execution = first_adoption
    assert answer.status == 202, answer.body
    assert execution.status == "SUCCEEDED", execution.cause

    progress = status(world, answer.body["adoption_id"])

    assert progress.status == 200, progress.body
    # ACTIVE accounts: the three with the source stack, the one without, the archive and the management account
    # (StackSets never deploy to the management account; the archive account has no source stack here).
    assert progress.body["accounts"] == {"listed": 6, "adopted": 3, "running": 0, "failed": 3, "skipped": 0,
                                         "waiting": 0}  # fmt: skip
    failed = progress.body["failed_accounts"]
    assert set(failed) == {NO_SOURCE_ROLE, MANAGEMENT_ACCOUNT, ARCHIVE_ACCOUNT}
    assert "SourceAccessDeniedError" in failed[NO_SOURCE_ROLE] and "pgaudit-archiver" in failed[NO_SOURCE_ROLE]
    assert world.registry_item("orders")["status"] in ONBOARDED
    assert world.registry_item("billing", account=WITH_CLUSTER)["status"] in ONBOARDED
    assert world.registry_item("untagged", account=WITH_CLUSTER) is None  # its owner has not consented
    assert sum(progress.body["sources"].get(state, 0) for state in ONBOARDED) == 2


def test_a_second_organization_adoption_onboards_only_what_is_missing(world, first_adoption):
    world.create_cluster("late", account=NO_CLUSTERS, tags=ENABLED)  # created after the first adoption
    started = len(onboarding_executions(world))

    answer = adopt_organization(world)
    execution = world.wait(answer.body["execution_arn"], timeout=300)

    assert execution.status == "SUCCEEDED", execution.cause
    assert len(onboarding_executions(world)) == started + 1  # only "late": orders and billing are not started again
    assert world.registry_item("late", account=NO_CLUSTERS)["status"] in ONBOARDED
    assert status(world, answer.body["adoption_id"]).body["accounts"]["adopted"] == 3


def test_only_an_admin_may_adopt_the_organization_or_read_its_progress(world):
    member = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/platform/alice"
    refused = world.api("POST", "/organization/adopt", caller_account=SOURCE_ACCOUNT, caller_arn=member, body={})
    same_account = adopt_organization(world, caller_arn=f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/ops/bob")

    assert refused.status == 403 and "AdminPrincipalArns" in refused.body["message"]
    assert same_account.status == 403  # the archive account's own principals are not admins by their account
    reading = world.api("GET", "/organization/adoptions/adopt-organization-eu-west-1-0123abcd",
                        caller_account=SOURCE_ACCOUNT, caller_arn=member)  # fmt: skip
    assert reading.status == 403, reading.body


def test_a_second_request_while_one_runs_is_refused_naming_the_running_one(world):
    first = adopt_organization(world)
    second = adopt_organization(world)
    world.client("stepfunctions").stop_execution(executionArn=first.body["execution_arn"])  # its work is not the point

    assert first.status == 202
    assert second.status == 409, second.body
    assert second.body["adoption_id"] == first.body["adoption_id"]
    assert second.body["status_path"] == f"/organization/adoptions/{first.body['adoption_id']}"
