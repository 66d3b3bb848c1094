"""No parameter change replaces a resource that holds data. CloudFormation replaces a resource when a property it
documents as "Update requires: Replacement" changes: a new archive bucket would be empty, the streams and the table
would move to it, and the old bucket's deny policy would be deleted with the old policy. Both templates are rendered
with every allowed value of every parameter (a free-form one: its default and representative values), each alone
and every two condition parameters together, and each such property must render the same in all of them."""

import itertools
import json
import re

import pytest

from local.template import ARCHIVE_TEMPLATE, SOURCE_TEMPLATE, Rendering, load_template

# The one list of replacement-triggering properties: "Update requires: Replacement" in the CloudFormation template
# reference (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-<type>.html), with
# the registry schema's createOnlyProperties (cfn-lint's copy) added where they name more. Paths go into Properties.
REPLACEMENT_PROPERTIES = {
    # aws-resource-s3-bucket: BucketName, ObjectLockEnabled (the schema omits ObjectLockEnabled, yet change sets show
    # "requiresRecreation: Always" for it: cloudformation-coverage-roadmap#1929); schema: BucketNamePrefix, Namespace.
    "AWS::S3::Bucket": ["BucketName", "BucketNamePrefix", "BucketNamespace", "ObjectLockEnabled"],
    "AWS::S3::BucketPolicy": ["Bucket"],  # aws-resource-s3-bucketpolicy
    "AWS::KMS::Key": ["KeySpec", "KeyUsage", "MultiRegion", "Origin"],  # aws-resource-kms-key (none in the stacks)
    "AWS::Glue::Database": ["CatalogId", "DatabaseName"],  # aws-resource-glue-database
    "AWS::Glue::Table": ["CatalogId", "DatabaseName", "Name", "TableInput.Name"],  # aws-resource-glue-table
    "AWS::DynamoDB::Table": ["TableName", "KeySchema", "ImportSourceSpecification"],  # aws-resource-dynamodb-table
    "AWS::Logs::LogGroup": ["LogGroupName"],  # aws-resource-logs-loggroup
    "AWS::SQS::Queue": ["QueueName", "FifoQueue"],  # aws-resource-sqs-queue
    "AWS::SNS::Topic": ["TopicName", "FifoTopic"],  # aws-resource-sns-topic
}
# What a Ref of these gives is a name a property sets (the rest are generated, and change only on replacement).
NAME_OF_REF = {"AWS::Glue::Database": "DatabaseInput.Name", "AWS::DynamoDB::Table": "TableName"}

# Parameters that say what a resource IS, set once and never changed: a change replaces by design.
IDENTITY = {
    # The stack's history: a bucket created without Object Lock keeps ObjectLockEnabled out (a Rule asks for it).
    "ArchiveBucketCreatedWithObjectLock": {"ArchiveBucket"},
    # The database's name: a new name is a new database, and so a new table in it (metadata only: partitions are
    # projected, the records stay in the bucket).
    "GlueDatabaseName": {"ArchiveRecordsTable", "FleetRecordsTable"},
}

# Free-form parameters: values of their kind besides the default (checked against AllowedPattern below).
SAMPLES = {
    "SourceRoleName": ["audit-source"],
    "ExternalId": ["x" * 16, "another-external-id:1"],
    "DefaultPgauditLog": ["all,-misc", "none"],
    "DefaultFilterPattern": ['?"AUDIT:" ?"ERROR:"'],
    "MinimumPgauditLog": ["ddl"],
    "AllowedFilterPatterns": ['"AUDIT:"'],
    "AuditReducerRoleNames": ["team-*"],
    "ArchiveKmsKeyArn": ["arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"],
    "BreakGlassRoleArn": ["arn:aws:iam::123456789012:role/break-glass"],
    "DeploymentRoleArn": ["arn:aws:iam::123456789012:role/cfn-deployer"],
    "GlueDatabaseName": ["audit_records"],
    "AlarmEmail": ["ops@example.com"],
    "AdminPrincipalArns": ["arn:aws:iam::123456789012:role/admin"],
    "AllowedOrganizationId": ["o-abcdefghij"],
    "AllowedAccountIds": ["111122223333,444455556666"],
    "ReconcileSchedule": ["rate(15 minutes)"],
    "DiscoverySchedule": ["rate(1 day)"],
    # source-account/template.yaml
    "ArchiveAccountId": ["123456789012", "210987654321"],
    "ArchiveRoleArns": ["arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:role/b"],
    "ArchiveEventBusArn": ["arn:aws:events:eu-west-1:123456789012:event-bus/pgaudit-archiver-cluster-events"],
    "RoleName": ["audit-source"],
    "RoleRegion": ["eu-west-1", "us-east-1"],
    "Regions": ["us-east-1,eu-central-1"],
}


def values_of(name, spec):
    """Every allowed value, or the default and the samples; a Number's bounds too."""
    if "AllowedValues" in spec:
        return [str(value) for value in spec["AllowedValues"]]
    values = [spec["Default"]] if "Default" in spec else []
    if spec["Type"] == "Number":
        values += [str(spec[bound]) for bound in ("MinValue", "MaxValue") if bound in spec]
    return values + SAMPLES.get(name, [])


def condition_parameters(template):
    referenced = set(re.findall(r"'Ref': '(\w+)'", repr(template.get("Conditions", {}))))
    return sorted(referenced & set(template["Parameters"]))


def parameter_sets(template):
    """Defaults (with a value for each required parameter), then each parameter at each value, then every two
    parameters that decide conditions at every pair of values (conditions are where two parameters meet)."""
    parameters = template["Parameters"]
    base = {name: values_of(name, spec)[0] for name, spec in parameters.items() if "Default" not in spec}
    yield base
    for name, spec in parameters.items():
        for value in values_of(name, spec):
            yield {**base, name: value}
    for first, second in itertools.combinations(condition_parameters(template), 2):
        for one, other in itertools.product(values_of(first, parameters[first]), values_of(second, parameters[second])):
            yield {**base, first: one, second: other}


def at(properties, path):
    for part in path.split("."):
        if not isinstance(properties, dict) or part not in properties:
            return None
        properties = properties[part]
    return properties


def replacement_values(template, parameters):
    """(resource, property) -> the rendered value (JSON) of every replacement-triggering property."""
    stateful = {k: r for k, r in template["Resources"].items() if r["Type"] in REPLACEMENT_PROPERTIES}

    def reference(logical_id, attribute):
        kind = template["Resources"][logical_id]["Type"]
        if attribute is None and kind in NAME_OF_REF:
            return rendering.resolve(at(template["Resources"][logical_id]["Properties"], NAME_OF_REF[kind]))
        return None

    rendering = Rendering({**template, "Resources": stateful}, parameters, reference)
    return {
        (logical_id, path): json.dumps(at(resource.get("Properties", {}), path), sort_keys=True)
        for logical_id, resource in rendering.resources.items()
        for path in REPLACEMENT_PROPERTIES[resource["Type"]]
    }


def changes_between_renderings(template, fixed=None):
    """(resource, property) -> the distinct values it took, for those that took more than one."""
    seen = {}
    for parameters in parameter_sets(template):
        if any(name in parameters and parameters[name] != value for name, value in (fixed or {}).items()):
            continue
        for key, value in replacement_values(template, {**parameters, **(fixed or {})}).items():
            seen.setdefault(key, set()).add(value)
    return {key: values for key, values in seen.items() if len(values) > 1}


TEMPLATES = {"archive": load_template(ARCHIVE_TEMPLATE), "source-account": load_template(SOURCE_TEMPLATE)}


@pytest.mark.parametrize("name", TEMPLATES)
def test_samples_fit_the_parameters_and_every_free_form_parameter_has_one(name):
    for parameter, spec in TEMPLATES[name]["Parameters"].items():
        free_form = "AllowedValues" not in spec and spec["Type"] != "Number"
        assert not free_form or parameter in SAMPLES, f"{parameter}: add representative values to SAMPLES"
        for value in values_of(parameter, spec) if "AllowedPattern" in spec else []:
            # CloudFormation matches AllowedPattern against the whole value.
            assert re.fullmatch(spec["AllowedPattern"], value), (parameter, value)


def test_archive_template_holds_the_resources_the_check_is_about():
    kinds = {resource["Type"] for resource in TEMPLATES["archive"]["Resources"].values()}
    assert {"AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::Glue::Table", "AWS::DynamoDB::Table"} <= kinds


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_parameter_change_replaces_a_stateful_resource(name):
    template = TEMPLATES[name]
    identities = {parameter: None for parameter in IDENTITY if parameter in template["Parameters"]}
    # An identity parameter stays at each of its values in turn; every other parameter varies.
    for fixed in itertools.product(*[values_of(p, template["Parameters"][p]) for p in identities]):
        changes = changes_between_renderings(template, dict(zip(identities, fixed, strict=True)))
        assert changes == {}, changes


def test_identity_parameters_replace_only_what_they_name():
    template = TEMPLATES["archive"]
    for parameter, replaced in IDENTITY.items():
        others = {p: template["Parameters"][p].get("Default", "") for p in IDENTITY if p != parameter}
        defaults = {"ExternalId": SAMPLES["ExternalId"][0], **others}
        renderings = [
            replacement_values(template, {**defaults, parameter: value})
            for value in values_of(parameter, template["Parameters"][parameter])
        ]
        changed = {key[0] for key in renderings[0] if len({json.dumps(r[key]) for r in renderings}) > 1}
        assert changed == replaced, parameter


@pytest.mark.parametrize("logical_id", ["ArchiveBucket", "ArchiveBucketPolicy", "AccessLogBucket", "RegistryTable"])
def test_resources_holding_the_archive_or_its_record_are_retained_on_deletion_and_replacement(logical_id):
    resource = TEMPLATES["archive"]["Resources"][logical_id]
    assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain")
