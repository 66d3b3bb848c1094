"""Every patch the emulation makes to moto and botocore, in one place: what it corrects (where moto answers
otherwise than AWS) or keeps (what moto and botocore rebuild on every request), the version it was written against,
and how a test shows it is still needed (tests/integration/test_patches.py).

Three sets, applied while a world runs: `SPEED_PATCHES` (built once a process: they keep nothing of a world),
`world_patches` (the world's Step Functions, S3 and botocore corrections) and `fidelity_patches` (RDS, CloudWatch
Logs, Firehose, STS, Step Functions: the behaviour local/fidelity.py implements). Not here, because they correct
nothing: the world's request counter and fault injection (local/world.py), the in-process Lambda invoke
(local/lambdas.py) and the emulated clock.

When moto or botocore is upgraded, test_patches.py fails on each patch whose target moved or whose defect is gone:
re-check that patch against the new version, then update MOTO_VERSION or BOTOCORE_VERSION (or drop the patch).
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from unittest import mock

import botocore.session
from botocore.client import BaseClient, ClientCreator
from botocore.context import get_context
from botocore.loaders import create_loader
from botocore.useragent import UserAgentString
from moto.core import errors as moto_errors
from moto.core import responses as moto_responses
from moto.firehose.models import DeliveryStream, FirehoseBackend
from moto.iam.access_control import PermissionResult
from moto.kms import models as kms_models
from moto.logs.models import LogsBackend, LogStream
from moto.logs.responses import LogsResponse
from moto.organizations.models import OrganizationsBackend
from moto.rds.models import BlueGreenDeployment, DBCluster, DBInstance, RDSBackend
from moto.rds.responses import RDSResponse
from moto.rds.utils import FilterDef
from moto.rdsdata.responses import RDSDataServiceResponse
from moto.s3.models import FakeBucket
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse
from moto.sts.models import STSBackend

from local.aws_rules import FIREHOSE_STREAMS_PER_REGION
from local.organizations import aws_list_accounts

if TYPE_CHECKING:
    from local.fidelity import Fidelity

MOTO_VERSION = "5.2.6"  # every moto patch below was checked against it (pyproject.toml pins moto<5.3)
BOTOCORE_VERSION = "1.43"  # the botocore minor its patches were checked against
CLIENT_CREATION_LOCK = threading.RLock()


@dataclass(frozen=True)
class Patch:
    """One replaced attribute of moto or botocore."""

    target: Any
    attribute: str
    replacement: Any = field(repr=False)
    why: str  # fidelity: what plain moto does that AWS does not; speed: what it rebuilds every time
    kind: Literal["fidelity", "speed", "concurrency"] = "fidelity"
    library: Literal["moto", "botocore"] = "moto"
    adds: bool = False  # the attribute does not exist upstream: the patch adds it

    @property
    def name(self) -> str:
        """Class.attribute, or module.attribute with the module's last name."""
        owner = getattr(self.target, "__qualname__", None) or self.target.__name__.rsplit(".", 1)[-1]
        return f"{owner}.{self.attribute}"

    @property
    def version(self) -> str:
        return MOTO_VERSION if self.library == "moto" else BOTOCORE_VERSION

    def patcher(self) -> Any:
        return mock.patch.object(self.target, self.attribute, self.replacement, create=self.adds)


# ---------------------------------------------------------------- speed: built once a process
class _ScaledTime:
    """Stands for the `time` module in the ASL interpreter's retrier: sleeps a fraction of each delay."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)


@functools.cache
def _shared_loader(data_path: str | None = None) -> Any:
    return create_loader(data_path)


@functools.cache
def _parsed_definition(definition: str) -> Any:
    return AmazonStateLanguageParser.parse(definition)[0]


def _parsed_once(worker: ExecutionWorker) -> Any:
    return _parsed_definition(worker._evaluation_details.state_machine_details.definition)


def _validated_once(original: Any) -> Any:
    def validate(definition: str) -> None:
        try:
            _parsed_definition(definition)
        except Exception:
            original(definition)  # raises moto's InvalidDefinition, naming the problem

    return staticmethod(validate)


def _methods_once(create_methods: Any) -> Any:
    built: dict[tuple[str, str], dict[str, Any]] = {}

    def methods(creator: ClientCreator, service_model: Any) -> dict[str, Any]:
        key = (service_model.service_name, service_model.api_version)
        if key not in built:
            built[key] = create_methods(creator, service_model)
        return dict(built[key])  # the class-creation event may add to it

    return methods


def _user_agent_once(to_string: Any) -> Any:
    """The User-Agent header a client sends, built once for each set of features it reports (they vary by request:
    retries, paginators); botocore builds it twice a request from a dozen sanitized components."""
    built: weakref.WeakKeyDictionary[UserAgentString, dict[tuple[frozenset[str], frozenset[str]], str]] = (
        weakref.WeakKeyDictionary()
    )

    def user_agent(creator: UserAgentString) -> str:
        context = get_context()
        key = (frozenset(creator._client_features or ()), frozenset(context.features) if context else frozenset())
        strings = built.setdefault(creator, {})
        if key not in strings:
            strings[key] = to_string(creator)
        return strings[key]

    return user_agent


def _one_private_key_for_symmetric_keys(generate: Any) -> Any:
    shared = functools.cache(lambda: generate("SYMMETRIC_DEFAULT"))

    def private_key(key_spec: str) -> Any:
        return shared() if key_spec == "SYMMETRIC_DEFAULT" else generate(key_spec)

    return private_key


class _SharedErrorLookups(moto_errors.ErrorLookupFactory):
    _shared: dict[str, moto_errors.ErrorLookup] = {}

    def __init__(self) -> None:
        self._error_lut_cache = self._shared


_INTERPRETER_CLIENTS: dict[tuple[str, str], BaseClient] = {}


def _reused_interpreter_client(region: str, service: str, state_credentials: Any = None) -> BaseClient:
    key = (region, service)
    with CLIENT_CREATION_LOCK:
        if key not in _INTERPRETER_CLIENTS:
            _INTERPRETER_CLIENTS[key] = boto_client_for(region, service, state_credentials)
        return _INTERPRETER_CLIENTS[key]


def _api_member_names(original: Any) -> Any:
    """The Step Functions API's members are camelCase (stateMachineArn, input, name); ASL writes them PascalCase."""

    def normalise(task: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original(task, parameters, *args, **kwargs)
        for key in [key for key in parameters if key[:1].isupper()]:
            parameters[key[0].lower() + key[1:]] = parameters.pop(key)
        if "stateMachineArn" in parameters and "name" not in parameters:
            parameters["name"] = str(uuid.uuid4())  # AWS names an unnamed execution so; moto names it "None"

    return normalise


def _pascal(response: Any) -> Any:
    if not isinstance(response, dict):
        return response
    return {key[:1].upper() + key[1:]: value for key, value in response.items()}


def _pascal_result(original: Any) -> Any:
    def evaluate(task: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(task, env, *args, **kwargs)
        env.stack.append(_pascal(env.stack.pop()))
        return result

    return evaluate


def _pascal_response(original: Any) -> Any:
    def normalise(task: Any, response: Any, *args: Any, **kwargs: Any) -> None:
        original(task, response, *args, **kwargs)
        if isinstance(response, dict):
            pascal = _pascal(response)
            response.clear()
            response.update(pascal)

    return normalise


def _one_client_at_a_time(original: Any) -> Any:
    """botocore builds clients from shared, unlocked caches; on Lambda each container builds its own in one thread,
    here concurrent handlers share a process: build one at a time."""

    def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        with CLIENT_CREATION_LOCK:
            return original(session, *args, **kwargs)

    return create_client


SPEED_PATCHES: tuple[Patch, ...] = (
    Patch(
        botocore.session,
        "create_loader",
        _shared_loader,
        "every botocore session reads the service models again",
        "speed",
        "botocore",
    ),
    Patch(
        ClientCreator,
        "_create_methods",
        _methods_once(ClientCreator._create_methods),
        "each client class builds its API methods (and their docstrings) again",
        "speed",
        "botocore",
    ),
    Patch(
        UserAgentString,
        "to_string",
        _user_agent_once(UserAgentString.to_string),
        "every request builds its User-Agent header again (twice), though a client's changes only with its features",
        "speed",
        "botocore",
    ),
    Patch(
        lambda_eval_utils,
        "boto_client_for",
        _reused_interpreter_client,
        "the ASL interpreter builds a Lambda client for every task",
        "speed",
    ),
    Patch(
        ExecutionWorker,
        "_get_evaluation_entrypoint",
        _parsed_once,
        "the interpreter parses the definition at every execution (its components keep no execution state)",
        "speed",
    ),
    Patch(
        StepFunctionsParserBackend,
        "_validate_definition",
        _validated_once(StepFunctionsParserBackend._validate_definition),
        "CreateStateMachine parses the definition again to validate it",
        "speed",
    ),
    Patch(
        json_path,
        "parse",
        functools.lru_cache(maxsize=1024)(json_path.parse),
        "jsonpath_ng builds its parser (ply tables) for every path read",
        "speed",
    ),
    Patch(
        result_path,
        "parse",
        functools.lru_cache(maxsize=1024)(result_path.parse),
        "jsonpath_ng builds its parser for every ResultPath",
        "speed",
    ),
    Patch(
        moto_errors,
        "ErrorLookupFactory",
        _SharedErrorLookups,
        "a service's table of error codes is built again for every error answered",
        "speed",
    ),
    Patch(
        moto_responses,
        "method_names_from_class",
        functools.cache(moto_responses.method_names_from_class),
        "the response class's methods are listed (inspect.getmembers) for every request",
        "speed",
    ),
    Patch(
        kms_models,
        "generate_private_key",
        _one_private_key_for_symmetric_keys(kms_models.generate_private_key),
        "every KMS key gets an RSA private key (tens of ms), even a symmetric one, which never signs",
        "speed",
    ),
)


def world_patches(retry_sleep_scale: float) -> tuple[Patch, ...]:
    """The speed patches, and the world's corrections of Step Functions, S3 and botocore."""
    return (
        *SPEED_PATCHES,
        Patch(
            retrier_decl,
            "time",
            _ScaledTime(retry_sleep_scale),
            "the interpreter's Retry sleeps its full backoff; scaled like the poll intervals, a run takes seconds",
            "speed",
        ),
        Patch(
            botocore.session.Session,
            "create_client",
            _one_client_at_a_time(botocore.session.Session.create_client),
            "botocore builds clients from shared, unlocked caches: concurrent handlers in one process race",
            "concurrency",
            "botocore",
        ),
        Patch(
            StateTaskServiceSfn,
            "_normalise_parameters",
            _api_member_names(StateTaskServiceSfn._normalise_parameters),
            "a nested StartExecution's parameters reach boto3 as ASL writes them (StateMachineArn, Input, Name), "
            "which boto3 does not know, and an unnamed execution is named 'None'",
        ),
        Patch(
            StateTaskServiceSfn,
            "_eval_service_task",
            _pascal_result(StateTaskServiceSfn._eval_service_task),
            "a nested execution's result comes back camelCase (executionArn); Step Functions answers ExecutionArn",
        ),
        Patch(
            StateTaskServiceSfn,
            "_normalise_response",
            _pascal_response(StateTaskServiceSfn._normalise_response),
            "a nested execution's response comes back camelCase (status, output); Step Functions answers Status",
        ),
        Patch(
            FakeBucket,
            "get_permission",
            lambda bucket, action, resource: PermissionResult.NEUTRAL,
            "moto reads a bucket-policy statement whose condition does not hold as a Deny (the archive's "
            "DenyInsecureTransport would refuse every read); local/iam.py evaluates bucket policies instead",
        ),
        Patch(
            OrganizationsBackend,
            "list_accounts",
            aws_list_accounts(OrganizationsBackend.list_accounts),
            "moto answers ListAccounts only in the management account; AWS also answers a delegated administrator "
            "(ListAccounts, API reference) and refuses other members with AccessDeniedException",
        ),
    )


# ---------------------------------------------------------------- fidelity: local/fidelity.py's behaviour
AURORA_ENGINES = frozenset({"aurora-postgresql", "aurora-mysql", "aurora"})
AURORA_STORAGE_TYPES = frozenset({"aurora", "aurora-iopt1"})  # Aurora standard, Aurora I/O-Optimized


def _aurora_storage(allocated_storage: Any) -> Any:
    """CreateDBCluster's StorageType for Aurora is aurora or aurora-iopt1 (RDS API reference, "Valid Values: Aurora DB
    clusters - aurora | aurora-iopt1"); its AllocatedStorage "always returns 1, because Aurora DB cluster storage size
    isn't fixed" (DBCluster, RDS API reference)."""

    def default_allocated_storage(engine: str, storage_type: str) -> int:
        if engine in AURORA_ENGINES and storage_type in AURORA_STORAGE_TYPES:
            return 1
        return int(allocated_storage(engine, storage_type))

    return staticmethod(default_allocated_storage)


def fidelity_patches(fidelity: Fidelity) -> tuple[Patch, ...]:
    """What local/fidelity.py corrects in RDS, the Data API, STS, Step Functions, CloudWatch Logs and Firehose."""
    f = fidelity
    return (
        Patch(
            DBCluster,
            "default_allocated_storage",
            _aurora_storage(DBCluster.default_allocated_storage),
            "an Aurora cluster of StorageType aurora or aurora-iopt1 (I/O-Optimized) fails with an internal error",
        ),
        Patch(
            RDSBackend,
            "create_db_cluster",
            f._create_db_cluster(RDSBackend.create_db_cluster),
            "an Aurora PostgreSQL or Multi-AZ DB cluster created without a parameter group gets no default.<family> "
            "group with the engine's defaults, and a Multi-AZ DB cluster gets no DB instances",
        ),
        Patch(
            RDSBackend,
            "modify_db_cluster",
            f._modify_db_cluster(RDSBackend.modify_db_cluster),
            "CloudwatchLogsExportConfiguration is ignored, a new cluster parameter group applies at once instead of "
            "leaving the members pending-reboot, and a renamed cluster loses its DB instances",
        ),
        Patch(
            RDSBackend,
            "modify_db_cluster_parameter_group",
            f._modify_parameters(RDSBackend.modify_db_cluster_parameter_group),
            "a default group can be modified, and a static change leaves no member pending-reboot",
        ),
        Patch(
            RDSBackend,
            "modify_db_parameter_group",
            f._modify_instance_parameters(RDSBackend.modify_db_parameter_group),
            "a default DB parameter group can be modified, and a value set is not Source=user",
        ),
        Patch(
            RDSResponse,
            "describe_db_parameters",
            f._describe_db_parameters(RDSResponse.describe_db_parameters),
            "DescribeDBParameters ignores Source, Filters, MaxRecords and Marker",
        ),
        Patch(
            RDSResponse,
            "describe_db_cluster_parameters",
            f._describe_db_parameters(RDSResponse.describe_db_cluster_parameters),
            "DescribeDBClusterParameters ignores Source, Filters, MaxRecords and Marker",
        ),
        # Plain functions, not bound methods: the patched attribute is bound to the backend when called.
        Patch(
            RDSBackend,
            "reboot_db_instance",
            lambda backend, instance_id: f._reboot_db_instance(backend, instance_id),  # noqa: PLW0108
            "a reboot neither brings the instance in sync nor, on Aurora PostgreSQL 11 and 12.13, 13.9, 14.6 or "
            "lower, reboots the readers with the writer; the instance is never 'rebooting'",
        ),
        Patch(
            RDSBackend,
            "create_db_instance",
            f._create_db_instance(RDSBackend.create_db_instance),
            "every DB instance has the same DbiResourceId (db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U), and an RDS for PostgreSQL "
            "DB instance's default DB parameter group is empty",
        ),
        Patch(
            RDSBackend,
            "create_db_parameter_group",
            f._create_db_parameter_group(RDSBackend.create_db_parameter_group),
            "a new RDS for PostgreSQL DB parameter group starts empty, not with the engine's defaults",
        ),
        Patch(
            RDSBackend,
            "describe_db_parameter_groups",
            f._describe_db_parameter_groups(RDSBackend.describe_db_parameter_groups),
            "DescribeDBParameterGroups of a group that does not exist answers an empty list",
        ),
        Patch(
            RDSBackend,
            "modify_db_instance",
            f._modify_db_instance(RDSBackend.modify_db_instance),
            "a DB parameter group of another family is accepted, a new group applies at once instead of waiting for "
            "a reboot, and a major upgrade needs no AllowMajorVersionUpgrade",
        ),
        Patch(
            DBInstance,
            "db_parameter_group_status_list",
            property(f._parameter_group_status),
            "DBParameterGroups[].ParameterApplyStatus is always in-sync",
        ),
        Patch(
            RDSBackend,
            "reboot_db_cluster",
            lambda backend, cluster_id: f._reboot_db_cluster(backend, cluster_id),  # noqa: PLW0108
            "RebootDBCluster is not implemented",
            adds=True,
        ),
        Patch(
            RDSResponse,
            "reboot_db_cluster",
            f._reboot_db_cluster_response,
            "RebootDBCluster is not implemented",
            adds=True,
        ),
        Patch(
            RDSBackend,
            "delete_db_instance",
            f._delete_db_instance(RDSBackend.delete_db_instance),
            "nothing stops the real PostgreSQL behind a deleted DB instance (moto has none: shown in a world)",
        ),
        Patch(
            RDSBackend,
            "delete_db_cluster",
            f._delete_db_cluster(RDSBackend.delete_db_cluster),
            "a Multi-AZ DB cluster cannot be deleted with its DB instances (DBClusterToBeDeletedHasActiveMembers)",
        ),
        Patch(
            RDSBackend,
            "restore_db_instance_from_db_snapshot",
            f._restore_instance(RDSBackend.restore_db_instance_from_db_snapshot, point_in_time=False),
            "the restored DB instance keeps the source's DbiResourceId",
        ),
        Patch(
            RDSBackend,
            "restore_db_instance_to_point_in_time",
            f._restore_instance(RDSBackend.restore_db_instance_to_point_in_time, point_in_time=True),
            "the restored DB instance keeps the source's DbiResourceId, DB parameter group and exports",
        ),
        Patch(
            RDSBackend,
            "restore_db_cluster_from_snapshot",
            f._restore_cluster(RDSBackend.restore_db_cluster_from_snapshot, point_in_time=False),
            "a snapshot of a cluster whose master password Secrets Manager manages cannot be restored (KeyError); the "
            "restored cluster starts without the source's data (shown in a world)",
        ),
        Patch(
            RDSBackend,
            "restore_db_cluster_to_point_in_time",
            f._restore_cluster(RDSBackend.restore_db_cluster_to_point_in_time, point_in_time=True),
            "the restored cluster starts without the source's data (moto has none: shown in a world)",
        ),
        Patch(
            RDSBackend,
            "create_global_cluster",
            f._create_global_cluster(RDSBackend.create_global_cluster),
            "a global cluster cannot be created from a source cluster outside us-east-1 (DBClusterNotFoundFault)",
        ),
        Patch(
            RDSBackend,
            "create_blue_green_deployment",
            f._create_blue_green(RDSBackend.create_blue_green_deployment),
            "a green's parameter group of another family than its engine version's is accepted; the green starts "
            "without the blue's data (shown in a world)",
        ),
        Patch(
            BlueGreenDeployment,
            "switchover",
            f._switchover(BlueGreenDeployment.switchover),
            "switchover renames a cluster but not its DB instances, which stay attached to the old name",
        ),
        Patch(
            RDSBackend,
            "create_db_cluster_parameter_group",
            f._create_parameter_group(RDSBackend.create_db_cluster_parameter_group),
            "a new Aurora PostgreSQL cluster parameter group starts empty, not with the engine's defaults",
        ),
        Patch(
            DBCluster,
            "db_cluster_members",
            property(f._cluster_members),
            "DBClusterMembers carry no DBClusterParameterGroupStatus",
        ),
        Patch(
            DBCluster,
            "SUPPORTED_FILTERS",
            {
                **DBCluster.SUPPORTED_FILTERS,
                # DescribeDBClusters, Filters: "db-cluster-resource-id - Accepts DB cluster resource identifiers"
                "db-cluster-resource-id": FilterDef(["db_cluster_resource_id"], "DB Cluster Resource Ids"),
            },
            "DescribeDBClusters refuses the db-cluster-resource-id filter (InvalidParameterValue)",
        ),
        Patch(
            DBCluster,
            "enable_http_endpoint",
            property(
                lambda cluster: getattr(cluster, "_enable_http_endpoint", False),
                lambda cluster, value: setattr(cluster, "_enable_http_endpoint", bool(value)),
            ),
            "the Data API cannot be enabled on a provisioned Aurora PostgreSQL cluster",
        ),
        Patch(
            DBInstance,
            "status",
            property(f._instance_status, f._set_instance_status),
            "an instance is never seen 'rebooting' after RebootDBInstance",
            adds=True,
        ),
        Patch(
            RDSDataServiceResponse,
            "execute_statement",
            lambda response: f._execute_statement(response),  # noqa: PLW0108
            "ExecuteStatement answers canned results instead of running SQL as the secret's user",
        ),
        Patch(
            STSBackend,
            "assume_role",
            f._assume_role(STSBackend.assume_role),
            "AssumeRole succeeds for a role that does not exist, or without the sts:ExternalId its trust requires",
        ),
        Patch(
            StepFunctionResponse,
            "get_execution_history",
            f._execution_history(StepFunctionResponse.get_execution_history),
            "GetExecutionHistory ignores reverseOrder, maxResults and nextToken",
        ),
        Patch(
            LogsBackend,
            "put_subscription_filter",
            f._put_subscription_filter(LogsBackend.put_subscription_filter),
            "a filter to a cross-account destination is accepted whatever the destination's access policy or region",
        ),
        Patch(
            LogStream,
            "_send_log_events",
            f._send_log_events(LogStream._send_log_events),
            "events a filter matches never reach a cross-account destination's Firehose stream",
        ),
        Patch(
            LogsBackend,
            "list_tags_for_resource",
            f._log_group_must_exist(LogsBackend.list_tags_for_resource),
            "ListTagsForResource answers for a log group that does not exist",
        ),
        Patch(
            LogsBackend,
            "tag_resource",
            f._log_group_must_exist(LogsBackend.tag_resource),
            "TagResource tags a log group that does not exist",
        ),
        Patch(
            LogsResponse,
            "put_destination_policy",
            f._put_destination_policy(LogsResponse.put_destination_policy),
            "replacing an account-granting destination policy with an organization-granting one needs no forceUpdate",
        ),
        Patch(
            FirehoseBackend,
            "put_record_batch",
            f._put_record_batch(FirehoseBackend.put_record_batch),
            "the Lambda processor, dynamic partitioning, prefix expressions and GZIP are not applied",
        ),
        Patch(
            DeliveryStream,
            "MAX_STREAMS_PER_REGION",
            FIREHOSE_STREAMS_PER_REGION,
            "50 streams per region, where Firehose's default quota is 5,000",
        ),
    )
