"""The Athena workgroup of template.yaml: its settings override a client's, its results go to the stack's own
bucket, encrypted as the archive is, private, reachable only over TLS, and expired (a result is a copy)."""

from local.template import ARCHIVE_TEMPLATE, load_template

RESOURCES = load_template(ARCHIVE_TEMPLATE)["Resources"]
WORKGROUP = RESOURCES["ArchiveWorkGroup"]["Properties"]["WorkGroupConfiguration"]
BUCKET = RESOURCES["QueryResultsBucket"]["Properties"]


def test_workgroup_configuration_is_enforced_so_a_query_cannot_name_another_results_location():
    assert WORKGROUP["EnforceWorkGroupConfiguration"] is True


def test_results_go_to_the_stacks_bucket_and_are_encrypted_with_the_archives_key_when_it_has_one():
    results = WORKGROUP["ResultConfiguration"]
    assert results["OutputLocation"] == {"Fn::Sub": "s3://${QueryResultsBucket}/results/"}
    assert results["ExpectedBucketOwner"] == {"Ref": "AWS::AccountId"}
    condition, with_key, without_key = results["EncryptionConfiguration"]["Fn::If"]
    assert condition == "UseKmsKey"
    assert with_key == {"EncryptionOption": "SSE_KMS", "KmsKey": {"Ref": "ArchiveKmsKeyArn"}}
    assert without_key == {"EncryptionOption": "SSE_S3"}
    [default] = BUCKET["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert default["ServerSideEncryptionByDefault"]["Fn::If"][1]["KMSMasterKeyID"] == {"Ref": "ArchiveKmsKeyArn"}


def test_results_bucket_is_private_expires_results_and_refuses_plain_http():
    assert all(BUCKET["PublicAccessBlockConfiguration"].values())
    rules = {rule["Id"]: rule for rule in BUCKET["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-query-results"]["ExpirationInDays"] == {"Ref": "QueryResultsRetentionDays"}
    assert "ObjectLockEnabled" not in BUCKET  # results must be deletable; the archive is what Object Lock keeps
    statements = RESOURCES["QueryResultsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [tls] = [s for s in statements if s["Sid"] == "DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
