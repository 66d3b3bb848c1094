"""The minimum audit policy: pgaudit.log read as pgaudit reads it, what is below the minimum, what reduces auditing,
who is a designated reducer, and what reconciliation holds a source to."""

import pytest

from pgaudit_archiver.audit_policy import Audit, AuditPolicy, audited, class_list, missing_classes, same_classes

MINIMUM = "ddl,role,write"
POLICY = AuditPolicy(
    minimum_pgaudit_log=MINIMUM,
    allowed_filter_patterns=('"AUDIT:"', '?"AUDIT:" ?"ERROR:" ?"STATEMENT:"'),
    default_pgaudit_log=MINIMUM,
    default_filter_pattern='"AUDIT:"',
    default_reboot="deferred",
    reducer_role_names=("pgaudit-archiver-reducer", "AWSReservedSSO_DatabaseAdmin_*"),
)
SOURCE = "111122223333"


@pytest.mark.parametrize(
    ("value", "lacking"),
    [
        ("ddl,role,write", ""),
        ("write,role,ddl", ""),
        ("DDL, Role ,WRITE", ""),
        ("all", ""),
        ("ddl,role,write,read", ""),
        ("all,-read", ""),
        ("none,ddl,role,write", ""),  # none adds nothing; it resets nothing either
        ("ddl,role,write,none", ""),
        ("ddl,role,write,-none", ""),
        ("all,-ddl", "ddl"),
        ("all,-all", "ddl,role,write"),
        ("ddl,role,write,-all", "ddl,role,write"),
        ("-all,read", "ddl,role,write"),
        ("none", "ddl,role,write"),
        ("read", "ddl,role,write"),
        ("ddl,role", "write"),
        ("ddl,role,write,-role", "role"),
        ("-write,ddl,role,write", ""),  # left to right: write is added again
        ("misc,function,read", "ddl,role,write"),
    ],
)
def test_missing_classes_reads_pgaudit_log_left_to_right(value, lacking):
    assert missing_classes(value, MINIMUM) == lacking


def test_misc_covers_misc_set_as_in_pgaudit():
    assert missing_classes("misc", "misc_set") == ""
    assert missing_classes("misc_set", "misc") == "misc,-misc_set"  # misc's own statements are not audited
    assert missing_classes("misc,-misc_set", "misc") == "misc_set"
    assert missing_classes("all,-misc", "misc_set") == "misc_set"


@pytest.mark.parametrize("value", ["ddl", "misc", "misc_set", "misc,-misc_set", "all", "none", "read,write"])
def test_class_list_writes_back_exactly_the_classes(value):
    assert audited(class_list(audited(value))) == audited(value)


def test_same_classes_ignores_order_and_spelling_and_refuses_garbage():
    assert same_classes("write,DDL,role", "ddl,role,write")
    assert not same_classes("ddl,role", "ddl,role,write")
    assert not same_classes("everything", "ddl,role,write")
    assert not same_classes(None, "ddl,role,write")


def audit(pgaudit_log=MINIMUM, filter_pattern='"AUDIT:"', reboot="deferred"):
    return Audit(pgaudit_log=pgaudit_log, filter_pattern=filter_pattern, reboot=reboot)


@pytest.mark.parametrize(
    ("requested", "rules"),
    [
        (audit(), []),
        (audit(pgaudit_log="all"), []),
        (audit(filter_pattern='?"AUDIT:" ?"ERROR:" ?"STATEMENT:"'), []),
        (audit(pgaudit_log="none"), ["MinimumPgauditLog"]),
        (audit(pgaudit_log="all,-ddl"), ["MinimumPgauditLog"]),
        (audit(filter_pattern='"NOTHING-MATCHES-THIS"'), ["AllowedFilterPatterns"]),
        (audit(filter_pattern=" "), ["AllowedFilterPatterns"]),
        (audit(pgaudit_log="read", filter_pattern="AUDIT"), ["MinimumPgauditLog", "AllowedFilterPatterns"]),
    ],
)
def test_breaches_name_the_rule_a_request_breaks(requested, rules):
    assert [breach.rule for breach in POLICY.breaches(requested)] == rules


def test_breach_message_names_the_classes_switched_off_and_the_minimum():
    [breach] = POLICY.breaches(audit(pgaudit_log="all,-ddl"))
    assert "'all,-ddl' does not audit ddl" in breach.message and "MinimumPgauditLog 'ddl,role,write'" in breach.message


def test_resolve_fills_in_the_deployments_defaults():
    assert POLICY.resolve({"cluster_id": "orders", "pgaudit_log": None}) == audit()


@pytest.mark.parametrize(
    ("requested", "current", "reduces"),
    [
        (audit(), None, []),
        (audit(pgaudit_log="ddl,role,write,read"), audit(), []),
        (audit(reboot="immediate"), None, ["an immediate reboot"]),
        (audit(), audit(pgaudit_log="all"), ["drops function,misc,read"]),
        (audit(pgaudit_log="all,-read"), audit(pgaudit_log="ddl,role,write,read"), ["drops read"]),
        (audit(filter_pattern='?"AUDIT:" ?"ERROR:" ?"STATEMENT:"'), audit(), ["replaces the current"]),
        (audit(), audit(filter_pattern='?"AUDIT:" ?"ERROR:" ?"STATEMENT:"'), ["replaces the current"]),
        (audit(), audit(pgaudit_log="none"), []),  # raising a source to the minimum reduces nothing
        (audit(), audit(filter_pattern='"NOTHING"'), []),  # nor leaving a pattern the policy does not allow
    ],
)
def test_reductions_against_what_the_source_audits_now(requested, current, reduces):
    found = POLICY.reductions(requested, current)
    assert len(found) == len(reduces) and all(text in item for text, item in zip(reduces, found, strict=True)), found


def test_an_immediate_reboot_is_no_reduction_when_it_is_the_deployments_default():
    policy = POLICY.model_copy(update={"default_reboot": "immediate"})
    assert policy.reductions(audit(reboot="immediate"), None) == []


@pytest.mark.parametrize(
    ("principal", "reducer"),
    [
        (f"arn:aws:sts::{SOURCE}:assumed-role/pgaudit-archiver-reducer/dana", True),
        (f"arn:aws:sts::{SOURCE}:assumed-role/PgAudit-Archiver-Reducer/dana", True),  # IAM role names ignore case
        (f"arn:aws:sts::{SOURCE}:assumed-role/AWSReservedSSO_DatabaseAdmin_0123456789abcdef/dana", True),
        (f"arn:aws:sts::{SOURCE}:assumed-role/AWSReservedSSO_DatabaseAdmin/dana", False),  # no "_" before *
        (f"arn:aws:sts::{SOURCE}:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/dana", False),
        (f"arn:aws:sts::{SOURCE}:assumed-role/JuniorDeveloper/pgaudit-archiver-reducer", False),  # a session name
        (f"arn:aws:sts::{SOURCE}:assumed-role/pgaudit-archiver-reducer-2/dana", False),
        (f"arn:aws:sts::{SOURCE}:assumed-role/x-pgaudit-archiver-reducer/dana", False),
        (f"arn:aws:iam::{SOURCE}:user/pgaudit-archiver-reducer", False),  # a user is no designated role
        (f"arn:aws:iam::{SOURCE}:role/pgaudit-archiver-reducer", False),  # a role signs nothing; its sessions do
        (f"arn:aws:sts::{SOURCE}:federated-user/pgaudit-archiver-reducer", False),
        (f"arn:aws:iam::{SOURCE}:root", False),
    ],
)
def test_is_reducer_matches_the_role_of_an_assumed_role_session(principal, reducer):
    assert POLICY.is_reducer(principal) is reducer


def test_no_designated_roles_makes_no_reducer():
    policy = POLICY.model_copy(update={"reducer_role_names": ()})
    assert not policy.is_reducer(f"arn:aws:sts::{SOURCE}:assumed-role/pgaudit-archiver-reducer/dana")


def test_a_wildcard_matches_role_name_characters_only():
    policy = POLICY.model_copy(update={"reducer_role_names": ("db.*",)})
    assert policy.is_reducer(f"arn:aws:sts::{SOURCE}:assumed-role/db.admin/dana")
    assert not policy.is_reducer(f"arn:aws:sts::{SOURCE}:assumed-role/dbxadmin/dana")  # the dot is no wildcard


REQUEST = {"account_id": SOURCE, "region": "eu-west-1", "cluster_id": "orders", "reboot": "deferred"}


def test_desired_is_the_request_when_it_meets_the_minimum():
    request = {**REQUEST, "pgaudit_log": "all,-read", "filter_pattern": '"AUDIT:"'}
    assert POLICY.desired(request, None) == (request, [])


def test_desired_raises_a_request_below_the_minimum_keeping_its_own_classes():
    request = {**REQUEST, "pgaudit_log": "read,-write", "filter_pattern": '"NOTHING"'}

    desired, drift = POLICY.desired(request, None)

    assert desired == {**REQUEST, "pgaudit_log": "ddl,read,role,write", "filter_pattern": '"AUDIT:"'}
    assert [(d.kind, d.resource, d.actual, d.expected) for d in drift] == [
        ("audit-policy", "pgaudit_log", "read,-write", "ddl,read,role,write"),
        ("audit-policy", "filter_pattern", '"NOTHING"', '"AUDIT:"'),
    ]
    assert drift[0].message == (
        "the recorded pgaudit_log 'read,-write' is below the minimum audit policy and no admin granted an "
        "exception: held to 'ddl,read,role,write'"
    )


def test_desired_honours_an_admins_exception_for_exactly_that_request_only():
    request = {**REQUEST, "pgaudit_log": "none", "filter_pattern": '"AUDIT:"'}
    granted = {"granted_by": f"arn:aws:sts::{SOURCE}:assumed-role/platform-admin/alice", "pgaudit_log": "none",
               "filter_pattern": '"AUDIT:"'}  # fmt: skip
    assert POLICY.desired(request, granted) == (request, [])
    desired, drift = POLICY.desired({**request, "pgaudit_log": "read"}, granted)  # not what was granted
    assert desired["pgaudit_log"] == "ddl,read,role,write" and [d.kind for d in drift] == ["audit-policy"]


def test_desired_holds_a_recorded_value_pgaudit_would_refuse_to_the_minimum():
    desired, [drift] = POLICY.desired({**REQUEST, "pgaudit_log": "everything"}, None)
    assert desired["pgaudit_log"] == MINIMUM and (drift.kind, drift.actual) == ("audit-policy", "everything")
