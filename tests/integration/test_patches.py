"""Each moto and botocore patch of local/patches.py against the library installed: its target is still where the
patch was written for (else an upgrade moved it and the patch is wrong), and, where a probe shows it, plain moto
still has the defect the patch corrects (else an upgrade fixed it and the patch is unneeded).

Run outside any World: no patch is started, so each probe meets plain moto.
"""

import inspect
import json
import time
from collections.abc import Callable
from importlib.metadata import version

import boto3
import pytest
from botocore.useragent import UserAgentString
from moto import mock_aws
from moto.core import errors as moto_errors
from moto.core import responses as moto_responses
from moto.firehose.models import DeliveryStream
from moto.iam.access_control import PermissionResult
from moto.kms import models as kms_models
from moto.s3.models import FakeBucket
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.utils import json_path

from local.fidelity import Fidelity
from local.patches import Patch, fidelity_patches, world_patches

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PATCHES: dict[str, Patch] = {
    patch.name: patch for patch in (*world_patches(1.0), *fidelity_patches(Fidelity.__new__(Fidelity)))
}


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


# ---------------------------------------------------------------- probes: plain moto still shows the defect
def _cluster(rds, cluster_id="c1", **extra):
    return rds.create_db_cluster(
        DBClusterIdentifier=cluster_id, Engine="aurora-postgresql", EngineVersion="15.4", MasterUsername="u",
        MasterUserPassword="password123", **extra,
    )["DBCluster"]  # fmt: skip


def _with_writer(rds, group=None):
    _cluster(rds, **({"DBClusterParameterGroupName": group} if group else {}))
    rds.create_db_instance(
        DBInstanceIdentifier="i1", DBClusterIdentifier="c1", Engine="aurora-postgresql", DBInstanceClass="db.r6g.large"
    )


def _member_status(rds):
    return rds.describe_db_clusters(DBClusterIdentifier="c1")["DBClusters"][0]["DBClusterMembers"][0][
        "DBClusterParameterGroupStatus"
    ]


def _cluster_group(rds, name="g"):
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=name, DBParameterGroupFamily="aurora-postgresql15", Description="d"
    )


def _instance_group(rds, name="ig"):
    rds.create_db_parameter_group(
        DBParameterGroupName=name, DBParameterGroupFamily="aurora-postgresql15", Description="d"
    )


def _setting(name, method="immediate"):
    return {"ParameterName": name, "ParameterValue": "1", "ApplyMethod": method}


def probe_default_group_on_create():
    group = _cluster(boto3.client("rds"))["DBClusterParameterGroup"]
    assert group != "default.aurora-postgresql15", "moto now gives Aurora PostgreSQL its default group"


def probe_new_group_is_empty():
    rds = boto3.client("rds")
    _cluster_group(rds)
    assert rds.describe_db_cluster_parameters(DBClusterParameterGroupName="g")["Parameters"] == []


def probe_log_exports_ignored():
    rds = boto3.client("rds")
    _cluster(rds)
    change = {"EnableLogTypes": ["postgresql"]}
    answer = rds.modify_db_cluster(DBClusterIdentifier="c1", CloudwatchLogsExportConfiguration=change)["DBCluster"]
    assert answer.get("EnabledCloudwatchLogsExports", []) == []


def probe_static_change_leaves_members_in_sync():
    rds = boto3.client("rds")
    _cluster_group(rds)
    _with_writer(rds, group="g")
    parameters = [_setting("shared_preload_libraries", "pending-reboot")]
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName="g", Parameters=parameters)
    assert _member_status(rds) == "in-sync"


def probe_new_group_applies_at_once():
    rds = boto3.client("rds")
    _with_writer(rds)
    _cluster_group(rds)
    rds.modify_db_cluster(DBClusterIdentifier="c1", DBClusterParameterGroupName="g", ApplyImmediately=True)
    assert _member_status(rds) == "in-sync"


def probe_instance_value_has_no_source():
    rds = boto3.client("rds")
    rds.create_db_parameter_group(
        DBParameterGroupName="ig", DBParameterGroupFamily="aurora-postgresql15", Description="d"
    )
    rds.modify_db_parameter_group(DBParameterGroupName="ig", Parameters=[_setting("pgaudit.log")])
    assert {p.get("Source") for p in rds.describe_db_parameters(DBParameterGroupName="ig")["Parameters"]} == {None}


def probe_db_parameters_ignore_max_records():
    rds = boto3.client("rds")
    rds.create_db_parameter_group(
        DBParameterGroupName="ig", DBParameterGroupFamily="aurora-postgresql15", Description="d"
    )
    for names in ([f"p{i}" for i in range(20)], [f"q{i}" for i in range(5)]):  # at most 20 a call
        rds.modify_db_parameter_group(DBParameterGroupName="ig", Parameters=[_setting(name) for name in names])
    assert len(rds.describe_db_parameters(DBParameterGroupName="ig", MaxRecords=20)["Parameters"]) == 25


def probe_cluster_parameters_ignore_max_records():
    rds = boto3.client("rds")
    _cluster_group(rds)
    for names in ([f"p{i}" for i in range(20)], [f"q{i}" for i in range(5)]):
        rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName="g", Parameters=[_setting(n) for n in names])
    assert len(rds.describe_db_cluster_parameters(DBClusterParameterGroupName="g", MaxRecords=20)["Parameters"]) == 25


def probe_never_rebooting():
    rds = boto3.client("rds")
    _with_writer(rds)
    answer = rds.reboot_db_instance(DBInstanceIdentifier="i1")["DBInstance"]["DBInstanceStatus"]
    after = rds.describe_db_instances(DBInstanceIdentifier="i1")["DBInstances"][0]["DBInstanceStatus"]
    assert (answer, after) == ("available", "available")


def probe_no_data_api_on_provisioned():
    assert _cluster(boto3.client("rds"), EnableHttpEndpoint=True).get("HttpEndpointEnabled") is False


def probe_no_cluster_resource_id_filter():
    rds = boto3.client("rds")
    resource_id = _cluster(rds)["DbClusterResourceId"]
    with pytest.raises(rds.exceptions.ClientError, match="InvalidParameterValue"):
        rds.describe_db_clusters(Filters=[{"Name": "db-cluster-resource-id", "Values": [resource_id]}])


def probe_canned_statement_results():
    data = boto3.client("rds-data")
    answer = data.execute_statement(
        resourceArn=f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:no-such-cluster",
        secretArn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:x",
        sql="SELECT 1",
    )
    assert answer.get("records") == []  # no cluster, no SQL run: canned


def probe_assume_any_role():
    arn = f"arn:aws:iam::{ACCOUNT}:role/no-such-role"
    assert boto3.client("sts").assume_role(RoleArn=arn, RoleSessionName="probe")["AssumedRoleUser"]


def probe_history_ignores_max_results():
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = boto3.client("stepfunctions")
    states = {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}}
    definition = json.dumps({"StartAt": "A", "States": states})
    machine = sfn.create_state_machine(name="m", definition=definition, roleArn=role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    for _ in range(100):  # the execution runs on a thread of moto's
        if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
            break
        time.sleep(0.02)
    assert len(sfn.get_execution_history(executionArn=execution, maxResults=1)["events"]) > 1


def probe_tags_of_a_missing_group():
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:no-such-group"
    assert boto3.client("logs").list_tags_for_resource(resourceArn=arn)["tags"] == {}


def probe_tagging_a_missing_group():
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:no-such-group"
    boto3.client("logs").tag_resource(resourceArn=arn, tags={"a": "b"})  # AWS: ResourceNotFoundException


def probe_organization_policy_without_force_update():
    logs = boto3.client("logs")
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    target = f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/s"
    destination = logs.put_destination(destinationName="d", targetArn=target, roleArn=role)["destination"]["arn"]

    def policy(principal, condition=None):
        statement = {"Effect": "Allow", "Principal": principal, "Action": "logs:PutSubscriptionFilter"}
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {**statement, "Resource": destination, **({"Condition": condition} if condition else {})}
        ]})  # fmt: skip

    logs.put_destination_policy(destinationName="d", accessPolicy=policy({"AWS": "111122223333"}))
    organization = policy("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}})
    logs.put_destination_policy(destinationName="d", accessPolicy=organization)  # AWS: needs forceUpdate


def probe_fifty_streams():
    assert DeliveryStream.MAX_STREAMS_PER_REGION == 50


def probe_condition_read_as_deny():
    bucket = FakeBucket("archive", ACCOUNT, REGION)
    statement = {
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::archive/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }  # fmt: skip
    bucket.policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]}).encode()
    assert bucket.get_permission("s3:GetObject", "arn:aws:s3:::archive/key") == PermissionResult.DENIED


def probe_real_backoff_sleep():
    assert retrier_decl.time is time


def probe_loader_read_again():
    import botocore.session  # noqa: PLC0415

    assert botocore.session.create_loader() is not botocore.session.create_loader()


def probe_user_agent_built_per_request():
    user_agent = UserAgentString.from_environment()
    built = []
    components = user_agent._build_os_metadata
    user_agent._build_os_metadata = lambda: built.append(1) or components()
    assert user_agent.to_string() == user_agent.to_string()
    assert len(built) == 2


def probe_io_optimized_aurora_refused():
    rds = boto3.client("rds", region_name=REGION)
    with pytest.raises(Exception):  # noqa: B017 (moto answers an internal error, not an AWS error code)
        _cluster(rds, StorageType="aurora-iopt1")


def probe_client_per_task():
    build = lambda_eval_utils.boto_client_for
    assert build(REGION, "lambda") is not build(REGION, "lambda")


def probe_paths_parsed_again():
    assert not hasattr(json_path.parse, "cache_info") and not hasattr(result_path.parse, "cache_info")


def probe_error_table_per_error():
    assert moto_errors.ErrorLookupFactory()._error_lut_cache is not moto_errors.ErrorLookupFactory()._error_lut_cache


def probe_methods_listed_per_request():
    assert not hasattr(moto_responses.method_names_from_class, "cache_info")


def probe_private_key_per_symmetric_key():
    assert kms_models.generate_private_key("SYMMETRIC_DEFAULT") is not kms_models.generate_private_key(
        "SYMMETRIC_DEFAULT"
    )


def _instance(rds, instance_id="db1", **extra):
    return rds.create_db_instance(
        DBInstanceIdentifier=instance_id, Engine="postgres", EngineVersion="16.3", DBInstanceClass="db.t4g.micro",
        MasterUsername="u", MasterUserPassword="password123", AllocatedStorage=20, **extra,
    )["DBInstance"]  # fmt: skip


def probe_one_resource_id_for_every_instance():
    rds = boto3.client("rds")
    assert _instance(rds, "db1")["DbiResourceId"] == _instance(rds, "db2")["DbiResourceId"]


def probe_new_db_parameter_group_is_empty():
    rds = boto3.client("rds")
    rds.create_db_parameter_group(DBParameterGroupName="pg", DBParameterGroupFamily="postgres16", Description="d")
    assert rds.describe_db_parameters(DBParameterGroupName="pg")["Parameters"] == []


def probe_missing_db_parameter_group_described_as_none():
    rds = boto3.client("rds")
    assert rds.describe_db_parameter_groups(DBParameterGroupName="no-such-group")["DBParameterGroups"] == []


def probe_group_of_another_family_accepted():
    rds = boto3.client("rds")
    _instance(rds)
    rds.create_db_parameter_group(DBParameterGroupName="pg15", DBParameterGroupFamily="postgres15", Description="d")
    rds.modify_db_instance(DBInstanceIdentifier="db1", DBParameterGroupName="pg15", ApplyImmediately=True)


def probe_instance_group_always_in_sync():
    rds = boto3.client("rds")
    rds.create_db_parameter_group(DBParameterGroupName="pg", DBParameterGroupFamily="postgres16", Description="d")
    _instance(rds)
    rds.modify_db_instance(DBInstanceIdentifier="db1", DBParameterGroupName="pg", ApplyImmediately=True)
    [group] = rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["DBParameterGroups"]
    assert group["ParameterApplyStatus"] == "in-sync"


def probe_no_reboot_db_cluster():
    rds = boto3.client("rds")
    _cluster(rds)
    with pytest.raises(Exception, match="not been implemented"):
        rds.reboot_db_cluster(DBClusterIdentifier="c1")


def probe_restore_keeps_resource_id():
    rds = boto3.client("rds")
    source = _instance(rds)
    rds.create_db_snapshot(DBInstanceIdentifier="db1", DBSnapshotIdentifier="s1")
    restored = rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="db2", DBSnapshotIdentifier="s1")
    assert restored["DBInstance"]["DbiResourceId"] == source["DbiResourceId"]  # AWS: a new resource


def probe_point_in_time_restore_keeps_the_group():
    rds = boto3.client("rds")
    rds.create_db_parameter_group(DBParameterGroupName="pg", DBParameterGroupFamily="postgres16", Description="d")
    _instance(rds, DBParameterGroupName="pg")
    restored = rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="db1", TargetDBInstanceIdentifier="db2", UseLatestRestorableTime=True
    )["DBInstance"]
    assert restored["DBParameterGroups"][0]["DBParameterGroupName"] == "pg"  # AWS: the engine's default


def probe_switchover_leaves_instances_behind():
    rds = boto3.client("rds")
    arn = _cluster(rds)["DBClusterArn"]
    rds.create_db_instance(
        DBInstanceIdentifier="i1", DBClusterIdentifier="c1", Engine="aurora-postgresql", DBInstanceClass="db.r6g.large"
    )
    deployment = rds.create_blue_green_deployment(BlueGreenDeploymentName="bg", Source=arn)["BlueGreenDeployment"]
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=deployment["BlueGreenDeploymentIdentifier"])
    old_blue = rds.describe_db_clusters(DBClusterIdentifier="c1-old1")["DBClusters"][0]
    assert old_blue["DBClusterMembers"] == []  # AWS: i1-old1 stays in it


def probe_global_cluster_from_a_cluster_outside_us_east_1():
    arn = _cluster(boto3.client("rds"))["DBClusterArn"]
    with pytest.raises(Exception, match="DBClusterNotFound"):
        boto3.client("rds").create_global_cluster(GlobalClusterIdentifier="g", SourceDBClusterIdentifier=arn)


PROBES: dict[str, Callable[[], None]] = {
    "RDSBackend.create_db_cluster": probe_default_group_on_create,
    "RDSBackend.create_db_cluster_parameter_group": probe_new_group_is_empty,
    "RDSBackend.modify_db_cluster": probe_log_exports_ignored,
    "RDSBackend.create_db_instance": probe_one_resource_id_for_every_instance,
    "RDSBackend.create_db_parameter_group": probe_new_db_parameter_group_is_empty,
    "RDSBackend.describe_db_parameter_groups": probe_missing_db_parameter_group_described_as_none,
    "RDSBackend.modify_db_instance": probe_group_of_another_family_accepted,
    "DBInstance.db_parameter_group_status_list": probe_instance_group_always_in_sync,
    "RDSBackend.reboot_db_cluster": probe_no_reboot_db_cluster,
    "RDSResponse.reboot_db_cluster": probe_no_reboot_db_cluster,
    "RDSBackend.restore_db_instance_from_db_snapshot": probe_restore_keeps_resource_id,
    "RDSBackend.restore_db_instance_to_point_in_time": probe_point_in_time_restore_keeps_the_group,
    "BlueGreenDeployment.switchover": probe_switchover_leaves_instances_behind,
    "RDSBackend.create_global_cluster": probe_global_cluster_from_a_cluster_outside_us_east_1,
    "RDSBackend.modify_db_cluster_parameter_group": probe_static_change_leaves_members_in_sync,
    "DBCluster.db_cluster_members": probe_new_group_applies_at_once,
    "RDSBackend.modify_db_parameter_group": probe_instance_value_has_no_source,
    "RDSResponse.describe_db_parameters": probe_db_parameters_ignore_max_records,
    "RDSResponse.describe_db_cluster_parameters": probe_cluster_parameters_ignore_max_records,
    "RDSBackend.reboot_db_instance": probe_never_rebooting,
    "DBInstance.status": probe_never_rebooting,
    "DBCluster.enable_http_endpoint": probe_no_data_api_on_provisioned,
    "DBCluster.SUPPORTED_FILTERS": probe_no_cluster_resource_id_filter,
    "RDSDataServiceResponse.execute_statement": probe_canned_statement_results,
    "STSBackend.assume_role": probe_assume_any_role,
    "StepFunctionResponse.get_execution_history": probe_history_ignores_max_results,
    "LogsBackend.list_tags_for_resource": probe_tags_of_a_missing_group,
    "LogsBackend.tag_resource": probe_tagging_a_missing_group,
    "LogsResponse.put_destination_policy": probe_organization_policy_without_force_update,
    "DeliveryStream.MAX_STREAMS_PER_REGION": probe_fifty_streams,
    "FakeBucket.get_permission": probe_condition_read_as_deny,
    "retrier_decl.time": probe_real_backoff_sleep,
    "session.create_loader": probe_loader_read_again,
    "lambda_eval_utils.boto_client_for": probe_client_per_task,
    "UserAgentString.to_string": probe_user_agent_built_per_request,
    "DBCluster.default_allocated_storage": probe_io_optimized_aurora_refused,
    "json_path.parse": probe_paths_parsed_again,
    "result_path.parse": probe_paths_parsed_again,
    "errors.ErrorLookupFactory": probe_error_table_per_error,
    "responses.method_names_from_class": probe_methods_listed_per_request,
    "models.generate_private_key": probe_private_key_per_symmetric_key,
}
# Patches whose defect needs a whole world to show (a nested execution, a processor Lambda, a cross-account
# subscription, concurrent handlers): test_fidelity.py and the workflow tests show each; here only their target.
SHOWN_IN_A_WORLD = {
    "StateTaskServiceSfn._normalise_parameters": "test_onboarding (adoption starts nested executions)",
    "StateTaskServiceSfn._eval_service_task": "test_adoption (a nested execution's result)",
    "StateTaskServiceSfn._normalise_response": "test_adoption (a nested execution's status)",
    "LogsBackend.put_subscription_filter": "test_fidelity (a destination policy for another account)",
    "LogStream._send_log_events": "test_fidelity (events reach the archive)",
    "FirehoseBackend.put_record_batch": "test_fidelity (the transform and the partitioned prefix)",
    "Session.create_client": "test_concurrency (handlers build clients at once)",
    "ClientCreator._create_methods": "speed only: make bench",
    "ExecutionWorker._get_evaluation_entrypoint": "speed only: make bench",
    "StepFunctionsParserBackend._validate_definition": "speed only: make bench",
    "RDSBackend.delete_db_instance": "test_fidelity_kinds (the server behind a deleted DB instance stops)",
    "RDSBackend.delete_db_cluster": "test_fidelity_kinds (a Multi-AZ DB cluster goes with its DB instances)",
    "RDSBackend.create_blue_green_deployment": "test_fidelity_lifecycle (the green's family, the blue's data)",
    "RDSBackend.restore_db_cluster_from_snapshot": "test_fidelity_lifecycle (the restored cluster's data)",
    "RDSBackend.restore_db_cluster_to_point_in_time": "test_fidelity_lifecycle (the restored cluster's data)",
    "OrganizationsBackend.list_accounts": "test_organization_adoption (the archive account, a delegated administrator)",
}


def test_patches_every_patch_has_a_probe_or_names_where_it_is_shown():
    assert sorted(set(PATCHES) - set(PROBES) - set(SHOWN_IN_A_WORLD)) == []
    assert sorted((set(PROBES) | set(SHOWN_IN_A_WORLD)) - set(PATCHES)) == []  # no probe outlives its patch


@pytest.mark.parametrize("name", sorted(PATCHES))
def test_patch_target_is_where_the_patch_was_written_for(name: str):
    patch = PATCHES[name]
    installed = version(patch.library)
    assert installed.startswith(patch.version), (
        f"{patch.library} {installed} is installed; {name} was written for {patch.version}: re-check it "
        "(its probe below), then update local/patches.py"
    )
    try:
        inspect.getattr_static(patch.target, patch.attribute)
        found = True
    except AttributeError:
        found = False
    assert found != patch.adds, f"{name}: {'moto has it now' if found else 'moto no longer has it'}"


@pytest.mark.parametrize("name", sorted(PROBES))
def test_patch_is_still_needed_plain_moto_shows_the_defect(name: str, aws):
    PROBES[name]()  # fails (an assertion or an AWS error) once moto behaves as AWS: drop the patch
