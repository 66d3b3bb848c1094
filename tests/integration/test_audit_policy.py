"""The minimum audit policy on the emulation (issue 13, finding 2): a caller allowed to use the API, with no RDS or
Logs permission of its own, cannot have the archive's role switch its cluster's auditing off; an admin may, as a
recorded exception; reducing auditing takes a designated role; reconciliation holds sources to the policy."""

import pytest

from local import ARCHIVE_ACCOUNT, SOURCE_ACCOUNT, World
from tests.integration.helpers import CLEAN_RUN

ADMIN_ROLE = f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/platform-admin"
ADMIN = f"arn:aws:sts::{ARCHIVE_ACCOUNT}:assumed-role/platform-admin/alice"
JUNIOR = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/JuniorDeveloper/junior"
REDUCER = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/pgaudit-archiver-reducer/dana"
CLUSTER_PATH = f"/clusters/{SOURCE_ACCOUNT}/eu-west-1/orders"
GROUP = "/aws/rds/cluster/orders/postgresql"
PARAMETERS = {"AdminPrincipalArns": ADMIN_ROLE, "AuditReducerRoleNames": "pgaudit-archiver-reducer"}


@pytest.fixture
def world():
    with World(parameters=PARAMETERS) as emulated:
        emulated.create_cluster("orders", instances=1)
        yield emulated


def call(world, method, path, caller=JUNIOR, **options):
    account = caller.split(":")[4]
    return world.api(method, path, caller_account=account, caller_arn=caller, **options)


def onboarded(world, caller=JUNIOR, **options):
    response = call(world, "POST", "/clusters", caller, body=world.request("orders", **options))
    assert response.status == 202, response.body
    execution = world.wait(response.body["execution_arn"])
    assert execution.status == "SUCCEEDED", execution.cause
    return world.registry_item("orders")


def pgaudit_log(world) -> str:
    rds = world.client("rds", SOURCE_ACCOUNT)
    group = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]["DBClusterParameterGroup"]
    pages = rds.get_paginator("describe_db_cluster_parameters").paginate(DBClusterParameterGroupName=group)
    return next(
        p["ParameterValue"] for page in pages for p in page["Parameters"] if p["ParameterName"] == "pgaudit.log"
    )


def executions(world, machine="OnboardStateMachine"):
    return world.client("stepfunctions").list_executions(stateMachineArn=world.resources[machine])["executions"]


@pytest.mark.parametrize(
    ("options", "rule", "named"),
    [
        ({"pgaudit_log": "none"}, "MinimumPgauditLog", "'none' does not audit ddl,role,write"),
        ({"pgaudit_log": "all,-ddl"}, "MinimumPgauditLog", "'all,-ddl' does not audit ddl"),
        ({"pgaudit_log": "ddl,role,write,-all"}, "MinimumPgauditLog", "does not audit ddl,role,write"),
        ({"filter_pattern": '"NOTHING-MATCHES-THIS"'}, "AllowedFilterPatterns", "AllowedFilterPatterns"),
    ],
)
def test_onboarding_below_the_minimum_by_a_non_admin_is_403_naming_the_rule_and_changes_nothing(
    world, options, rule, named
):
    before = onboarded(world)
    started = len(executions(world))
    mark = world.calls.mark()

    response = call(world, "POST", "/clusters", body=world.request("orders", **options))

    assert response.status == 403, response.body
    assert response.body["rule"] == rule and named in response.body["message"]
    assert world.calls.mutating(mark) == []
    assert len(executions(world)) == started
    assert world.registry_item("orders") == before
    assert pgaudit_log(world) == "ddl,role,write"


def test_the_reproduced_junior_developer_cannot_switch_auditing_off_on_a_new_cluster(world):
    response = call(world, "POST", "/clusters", body=world.request("orders", pgaudit_log="none", reboot="immediate"))

    assert (response.status, response.body["rule"]) == (403, "MinimumPgauditLog"), response.body
    assert executions(world) == [] and world.registry_item("orders") is None


def test_an_admin_below_the_minimum_is_allowed_recorded_as_an_exception_and_kept_by_reconciliation(world):
    onboarded(world)

    item = onboarded(world, ADMIN, pgaudit_log="none", reboot="immediate")

    assert pgaudit_log(world) == "none"
    exception = item["audit_policy_exception"]
    assert (exception["granted_by"], exception["rules"]) == (ADMIN, ["MinimumPgauditLog"])
    assert (exception["pgaudit_log"], exception["filter_pattern"]) == ("none", '"AUDIT:"')
    assert exception["granted_at"]
    execution = world.reconcile("orders")
    assert execution.output == CLEAN_RUN
    assert world.registry_item("orders")["status"] == "active" and pgaudit_log(world) == "none"
    # Onboarding at the minimum again (anyone may raise auditing) ends the exception.
    assert onboarded(world)["audit_policy_exception"] is None


@pytest.mark.parametrize("restore", ["false", "true"])
def test_offboarding_by_a_non_admin_is_403_and_changes_nothing(world, restore):
    before = onboarded(world)
    mark = world.calls.mark()

    response = call(world, "DELETE", CLUSTER_PATH, query={"restore": restore})

    assert (response.status, response.body["rule"]) == (403, "AuditReducerRoleNames"), response.body
    assert "needs an admin or a role its account designates" in response.body["message"]
    assert world.calls.mutating(mark) == []
    assert executions(world, "OffboardStateMachine") == [] and world.registry_item("orders") == before


@pytest.mark.parametrize(
    "options",
    [{"reboot": "immediate"}, {"filter_pattern": '?"AUDIT:" ?"ERROR:" ?"STATEMENT:"'}],
    ids=["immediate reboot", "another filter pattern"],
)
def test_only_a_designated_reducer_of_the_account_may_reduce_auditing(world, options):
    onboarded(world, pgaudit_log="all")
    for reduced in (options, {"pgaudit_log": "ddl,role,write,read"}):  # the second drops function and misc
        refused = call(world, "POST", "/clusters", body=world.request("orders", **reduced))
        assert (refused.status, refused.body["rule"]) == (403, "AuditReducerRoleNames"), refused.body

    onboarded(world, REDUCER, **options)

    assert world.registry_item("orders")["request"]["pgaudit_log"] == "ddl,role,write"  # defaults, from "all"


def test_a_designated_reducer_offboards_with_restore_where_the_developer_may_not(world):
    onboarded(world)
    assert call(world, "DELETE", CLUSTER_PATH, query={"restore": "true"}).status == 403

    response = call(world, "DELETE", CLUSTER_PATH, REDUCER, query={"restore": "true"})

    assert response.status == 202, response.body
    assert world.wait(response.body["execution_arn"]).status == "SUCCEEDED"
    assert world.registry_item("orders")["status"] == "offboarded"


def test_a_designated_reducer_below_the_minimum_is_refused(world):
    onboarded(world)
    response = call(world, "POST", "/clusters", REDUCER, body=world.request("orders", pgaudit_log="none"))
    assert (response.status, response.body["rule"]) == (403, "MinimumPgauditLog")


def test_reconciliation_finds_a_source_lowered_outside_the_policy_and_repairs_it_to_the_minimum(world):
    onboarded(world, reboot="deferred")
    # What the API started for any caller before the policy (or an operator starting the workflow by hand): the
    # cluster and the registry's request both say none, and the registry says active.
    lowered = world.onboard(world.request("orders", pgaudit_log="none", reboot="immediate"))
    assert lowered.status == "SUCCEEDED" and pgaudit_log(world) == "none"
    assert world.registry_item("orders")["status"] == "active"

    execution = world.reconcile("orders")

    assert execution.output["repairing"] == 1
    verification = world.registry_item("orders")["last_verification"]
    assert [d["kind"] for d in verification["drift_details"]] == ["audit-policy", "pgaudit-log"]
    assert verification["drift"][0] == (
        "the recorded pgaudit_log 'none' is below the minimum audit policy and no admin granted an exception: held "
        "to 'ddl,role,write'"
    )
    assert world.wait(verification["repair"]).status == "SUCCEEDED"
    assert pgaudit_log(world) == "ddl,role,write"
    assert world.registry_item("orders")["request"]["pgaudit_log"] == "ddl,role,write"
    again = world.reconcile("orders")
    assert again.output == CLEAN_RUN


def test_reconciliation_without_auto_repair_marks_a_source_below_the_minimum_drifted():
    with World(parameters={**PARAMETERS, "AutoRepair": "false"}) as world:
        world.create_cluster("orders", instances=1)
        assert world.onboard(world.request("orders", filter_pattern='"NOTHING"', reboot="immediate")).status == (
            "SUCCEEDED"
        )

        world.reconcile("orders")

        item = world.registry_item("orders")
        assert item["status"] == "drifted"
        assert [(d["kind"], d.get("actual")) for d in item["last_verification"]["drift_details"]] == [
            ("audit-policy", '"NOTHING"'),
            ("subscription-filter-pattern", '"NOTHING"'),
        ]


def test_a_tag_change_cannot_lower_what_a_drifted_source_audits():
    with World(parameters={**PARAMETERS, "AutoRepair": "false", "AutoOnboard": "all"}) as world:
        world.create_cluster("orders", instances=1)
        onboarded(world, pgaudit_log="all")
        world.client("logs", SOURCE_ACCOUNT).delete_subscription_filter(
            logGroupName=GROUP, filterName="pgaudit-archiver"
        )
        world.reconcile("orders")
        assert world.registry_item("orders")["status"] == "drifted"

        decision = world.send_cluster_event(world.tag_change_event("orders", {"pgaudit-archiver": "enabled"}))

        assert decision["action"] == "started", decision
        assert world.wait(decision["execution_arn"]).status == "SUCCEEDED"
        assert pgaudit_log(world) == "all"  # its own request again, not the defaults
        assert world.registry_item("orders")["request"]["pgaudit_log"] == "all"
