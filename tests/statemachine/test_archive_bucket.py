"""The archive bucket protects itself: Object Lock by default, no configuration change but by break-glass (or the
stack's own deployment), TLS for every request, server access logs to a bucket of their own."""

import pytest

from local.template import ARCHIVE_TEMPLATE, Rendering, load_template

TEMPLATE = load_template(ARCHIVE_TEMPLATE)
RESOURCES = TEMPLATE["Resources"]

# Bucket-configuration changes that could destroy or expose the archive without deleting an object.
CONFIGURATION_CHANGES = {
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketLogging",
}


def as_list(value):
    return value if isinstance(value, list) else [value]


def statements(bucket_policy):
    return RESOURCES[bucket_policy]["Properties"]["PolicyDocument"]["Statement"]


def deny_statements_with(bucket_policy, action):
    return [s for s in statements(bucket_policy) if s["Effect"] == "Deny" and action in as_list(s["Action"])]


def exempted_principals(statement):
    """The aws:PrincipalArn values a Deny statement leaves out (inside its Fn::If branches)."""
    text = repr(statement.get("Condition"))
    return {name for name in ("BreakGlassRoleArn", "DeploymentRoleArn") if f"'Ref': '{name}'" in text}


def test_object_lock_defaults_to_governance():
    assert TEMPLATE["Parameters"]["ObjectLockMode"]["Default"] == "GOVERNANCE"


def rendered_bucket(**parameters):
    return Rendering(TEMPLATE, {"ExternalId": "x" * 16, **parameters}).resources["ArchiveBucket"]["Properties"]


@pytest.mark.parametrize("mode", ["NONE", "GOVERNANCE", "COMPLIANCE"])
@pytest.mark.parametrize("created_with", ["", "true"])
def test_object_lock_is_on_for_every_mode_which_sets_only_the_default_retention(mode, created_with):
    bucket = rendered_bucket(ObjectLockMode=mode, ArchiveBucketCreatedWithObjectLock=created_with)
    assert bucket["ObjectLockEnabled"] is True
    assert bucket["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    rule = bucket["ObjectLockConfiguration"].get("Rule")
    assert rule == (None if mode == "NONE" else {"DefaultRetention": {"Mode": mode, "Days": 365}})


@pytest.mark.parametrize("mode", ["NONE", "GOVERNANCE", "COMPLIANCE"])
def test_stack_first_deployed_without_object_lock_keeps_its_buckets_creation_property(mode):
    # That bucket was created with ObjectLockEnabled left out: any other value would replace it.
    bucket = rendered_bucket(ObjectLockMode=mode, ArchiveBucketCreatedWithObjectLock="false")
    assert "ObjectLockEnabled" not in bucket
    assert bucket["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"


def test_mode_none_without_saying_how_the_bucket_was_created_fails_the_deployment_with_the_remedy():
    # A stack first deployed with NONE keeps NONE on upgrade: CloudFormation checks Rules before changing anything.
    failed = Rendering(TEMPLATE, {"ExternalId": "x" * 16, "ObjectLockMode": "NONE"}).failed_rules()
    ((message,),) = failed.values()
    assert "ArchiveBucketCreatedWithObjectLock" in message and "replace the archive bucket" in message


@pytest.mark.parametrize(
    ("mode", "created_with"), [("NONE", "false"), ("NONE", "true"), ("GOVERNANCE", ""), ("COMPLIANCE", "")]
)
def test_object_lock_rule_passes_when_the_bucket_creation_is_known_or_lock_was_on(mode, created_with):
    parameters = {"ExternalId": "x" * 16, "ObjectLockMode": mode, "ArchiveBucketCreatedWithObjectLock": created_with}
    assert Rendering(TEMPLATE, parameters).failed_rules() == {}


def test_archive_bucket_policy_denies_configuration_changes_to_all_but_break_glass_and_deployment():
    for action in CONFIGURATION_CHANGES:
        denies = deny_statements_with("ArchiveBucketPolicy", action)
        assert any(s.get("Sid") == "DenyConfigurationChanges" for s in denies), action
    (statement,) = [s for s in statements("ArchiveBucketPolicy") if s.get("Sid") == "DenyConfigurationChanges"]
    assert exempted_principals(statement) == {"BreakGlassRoleArn", "DeploymentRoleArn"}
    assert statement["Resource"] == {"Fn::GetAtt": ["ArchiveBucket", "Arn"]}


def test_archive_bucket_policy_denies_bypassing_governance_retention_to_all_but_break_glass():
    (statement,) = deny_statements_with("ArchiveBucketPolicy", "s3:BypassGovernanceRetention")
    assert exempted_principals(statement) == {"BreakGlassRoleArn"}
    assert {"Fn::Sub": "${ArchiveBucket.Arn}/*"} in as_list(statement["Resource"])


def test_archive_bucket_policy_denies_every_request_without_tls():
    (statement,) = [s for s in statements("ArchiveBucketPolicy") if s.get("Sid") == "DenyInsecureTransport"]
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_archive_bucket_logs_access_to_its_own_log_bucket():
    logging = RESOURCES["ArchiveBucket"]["Properties"]["LoggingConfiguration"]
    assert logging["Fn::If"][0] == "LogArchiveAccess"
    assert logging["Fn::If"][1]["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    assert TEMPLATE["Parameters"]["ArchiveAccessLogging"]["Default"] == "true"
    skips = RESOURCES["ArchiveBucket"].get("Metadata", {}).get("checkov", {}).get("skip", [])
    assert "CKV_AWS_18" not in {skip["id"] for skip in skips}


def test_access_log_bucket_is_retained_encrypted_private_and_expires_its_logs():
    bucket = RESOURCES["AccessLogBucket"]
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain" and bucket["Condition"] == "LogArchiveAccess"
    # Server access logging supports SSE-S3 only on the destination bucket (S3 user guide).
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert any(r.get("ExpirationInDays") for r in properties["LifecycleConfiguration"]["Rules"])
    (grant,) = [s for s in statements("AccessLogBucketPolicy") if s["Effect"] == "Allow"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert grant["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::GetAtt": ["ArchiveBucket", "Arn"]}
    assert grant["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert deny_statements_with("AccessLogBucketPolicy", "s3:*")


def test_cluster_event_rule_dead_letters_go_to_the_intended_queue_which_is_alarmed():
    event = RESOURCES["NewClusterEventFunction"]["Properties"]["Events"]["ClusterEvents"]["Properties"]
    # SAM's DeadLetterConfig takes Arn (an existing queue) or Type (SAM creates one); Destination is no property.
    assert event["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ClusterEventDeadLetters", "Arn"]}}
    (grant,) = RESOURCES["ClusterEventDeadLettersPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert grant["Principal"] == {"Service": "events.amazonaws.com"} and grant["Action"] == "sqs:SendMessage"
    assert "aws:SourceArn" in grant["Condition"]["ArnLike"]
    alarm = RESOURCES["ClusterEventDeadLettersAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS" and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    queue_name = {"Fn::GetAtt": ["ClusterEventDeadLetters", "QueueName"]}
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": queue_name}]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
