"""The two-account world: moto for every AWS service, the archive stack from template.yaml, the source role from
source-account/template.yaml, and the onboarding state machine executed by moto's ASL interpreter."""

from __future__ import annotations

import contextlib
import copy
import functools
import gzip
import io
import json
import os
import re
import secrets
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import unquote

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.botocore_stubber import BotocoreStubber
from moto.iam.models import get_account_id_from, iam_backends
from moto.organizations.models import organizations_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends
from moto.stepfunctions.parser.utils import TMP_THREADS as EXECUTION_THREADS
from pydantic import ValidationError

from local.accounts import ARCHIVE_ACCOUNT, REGION, SOURCE_ACCOUNT
from local.aws_rules import RDS_EVENTS, event_matches, postgresql_log_group
from local.clusters import RealPostgresClusters
from local.fidelity import Fidelity
from local.iam import Enforcer
from local.lambdas import InProcessLambdas, product_code_running, running_function
from local.limits import EmulatedClock, RateLimits, error_response
from local.organizations import create_organization as create_emulated_organization
from local.patches import world_patches
from local.postgres import available as postgres_available
from local.template import (
    ARCHIVE_TEMPLATE,
    ROOT,
    SOURCE_TEMPLATE,
    archive_functions,
    load_template,
    parameter_defaults,
    state_machine_substitutions,
)
from pgaudit_archiver.consent import CONSENT_TAG_KEY, CONSENT_TAG_VALUE, consented
from pgaudit_archiver.models import InstanceOnboardRequest, OnboardRequest, Source, names_a_db_instance
from pgaudit_archiver.naming import execution_name
from pgaudit_archiver.steps.database_user import CLUSTER_TAG, PURPOSE_TAG

EXTERNAL_ID = "local-emulation-external-id"
STACK_NAME = "pgaudit-archiver"
DATABASE_USER = "pgaudit_archiver"  # the least-privilege database user docs/deploy.md has owners create
READ_PREFIXES = ("Describe", "Get", "List", "AssumeRole", "ExecuteStatement(read-only)")
# botocore names some services differently in its events than boto3 does in client(): use boto3's names.
EVENT_SERVICE_NAMES = {"cloudwatch-logs": "logs", "sfn": "stepfunctions", "secrets-manager": "secretsmanager"}
READ_ONLY_SQL = re.compile(r"^\s*(SELECT|SHOW)\b", re.IGNORECASE)
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/")  # access key, date, region
# Requests whose handling runs a handler in-process: never under the backend lock, or handlers would run one at a time.
IN_PROCESS_EVENTS = ("before-send.lambda.Invoke",)
_BACKEND_LOCK = threading.RLock()
_NO_VALUE = object()  # AWS::NoValue: the property or list item is left out
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
# What SAM attaches to the role it generates for a function (with Tracing: Active, the X-Ray one).
SAM_FUNCTION_MANAGED_POLICIES = ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",)
SAM_TRACING_POLICY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
# The three kinds of PostgreSQL database on RDS (the names `python -m local demo --database` takes).
AURORA_CLUSTER = "aurora-cluster"
DB_INSTANCE = "db-instance"
MULTI_AZ_CLUSTER = "multi-az-cluster"
KINDS = (AURORA_CLUSTER, DB_INSTANCE, MULTI_AZ_CLUSTER)


def namespace_of(kind: str) -> str:
    """Cluster and instance identifiers are separate namespaces: "cluster" or "instance"."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of database {kind!r}: one of {', '.join(KINDS)}")
    return "instance" if kind == DB_INSTANCE else "cluster"


def database_log_group(kind: str, database_id: str) -> str:
    """Where RDS exports the database's postgresql log."""
    return postgresql_log_group(namespace_of(kind), database_id)


def is_read_call(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


def call_kind(service: str, operation: str) -> str:
    if is_read_call(operation):
        return "read"
    return "bookkeeping" if service == "dynamodb" else "mutating"


def operation_of(event_name: str, body: Any) -> tuple[str, str]:
    """(service, operation) of a request; a Data API statement that only reads is recorded as a read."""
    _, event_service, operation = event_name.split(".", 2)
    service = EVENT_SERVICE_NAMES.get(event_service, event_service)
    if service == "rds-data" and operation == "ExecuteStatement":
        sql = json.loads(body or b"{}").get("sql", "")
        if READ_ONLY_SQL.match(sql):
            operation = "ExecuteStatement(read-only)"
    return service, operation


@dataclass
class CallLog:
    """AWS calls made by the product's handlers, per account."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (account, service, operation)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (account, secret ARN): the secrets the Data API read with the product's credentials (Fidelity records them).
    secret_reads: list[tuple[str, str]] = field(default_factory=list)

    def record(self, account: str, service: str, operation: str) -> None:
        with self.lock:
            self.calls.append((account, service, operation))

    def mark(self) -> int:
        return len(self.calls)

    def summary(self, since: int = 0) -> dict[str, dict[str, int]]:
        """Per account: `mutating` calls change what onboarding manages, `read` calls change nothing, and
        `bookkeeping` calls write the registry (the record of each execution, written on every run)."""
        counts: dict[str, dict[str, int]] = {}
        for account, service, operation in self.calls[since:]:
            kind = call_kind(service, operation)
            counts.setdefault(account, {"mutating": 0, "read": 0, "bookkeeping": 0})[kind] += 1
        return counts

    def operations(self, since: int = 0) -> Counter[str]:
        return Counter(f"{service}:{operation}" for _, service, operation in self.calls[since:])

    def mutating(self, since: int = 0) -> list[str]:
        return [f"{a}:{s}:{o}" for a, s, o in self.calls[since:] if call_kind(s, o) == "mutating"]


@dataclass
class Fault:
    """An AWS error the emulation returns instead of calling the service (at most `times` times)."""

    service: str
    operation: str
    code: str
    times: int
    account: str | None = None
    hits: int = 0


THROTTLING_STATUS = 400
ACCESS_DENIED_STATUS = 403


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Execution:
    arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    # Read from the execution's history when first asked: most callers never ask, and the history is slow to read.
    history: Callable[[], list[dict[str, Any]]] = field(repr=False, compare=False, default=lambda: [])

    @functools.cached_property
    def states(self) -> list[dict[str, Any]]:
        return self.history()


def _owner_choices(managed_secret: bool, exports: tuple[str, ...], tags: dict[str, str]) -> dict[str, Any]:
    """What an owner chooses when creating any kind of database: how the master password is kept, the exports, tags."""
    choices: dict[str, Any] = (
        {"ManageMasterUserPassword": True} if managed_secret else {"MasterUserPassword": "local-emulation-password"}
    )
    if exports:
        choices["EnableCloudwatchLogsExports"] = list(exports)
    if tags:
        choices["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return choices


class World:
    """The emulated archive and source accounts. Use as a context manager."""

    def __init__(
        self,
        *,
        source_accounts: tuple[str, ...] = (SOURCE_ACCOUNT,),
        region: str = REGION,
        parameters: dict[str, Any] | None = None,
        postgres: bool = False,
        log_level: str = "WARNING",
        retry_sleep_scale: float = 0.001,
        iam: bool = True,
        rate_limits: bool = True,
        iam_roles_quota: int = 1000,
    ) -> None:
        self.archive_account = ARCHIVE_ACCOUNT
        self.source_accounts = source_accounts
        self.region = region
        # Physical names of what the archive stack creates; IAM's are global, so a second region's differ (as
        # CloudFormation's generated names do). `regions`: the archive stack deployed in further regions.
        self.physical_prefix = STACK_NAME
        self.regions: dict[str, World] = {}
        self.template = load_template(ARCHIVE_TEMPLATE)
        self.parameters = {
            **parameter_defaults(self.template),
            "ExternalId": EXTERNAL_ID,
            "PollIntervalSeconds": 0,
            "FlushWaitSeconds": 0,  # the emulated Firehose delivers at once
            "AllowedAccountIds": ",".join(source_accounts),
            "LogLevel": log_level,
            **(parameters or {}),
        }
        self.lambdas = InProcessLambdas()
        self.postgres: RealPostgresClusters | None = None
        if postgres:
            missing = postgres_available()
            if missing:
                raise RuntimeError(f"cannot start the real PostgreSQL behind the emulated clusters: {missing}")
            self.postgres = RealPostgresClusters(self)
        self.fidelity = Fidelity(self.lambdas, self.postgres)
        # IAM enforced on every call the product makes (local/iam.py); iam=False only for a test that says why.
        self.iam: Enforcer | None = Enforcer() if iam else None
        if self.iam is not None:
            self.fidelity.delivery_refusal = self._delivery_refusal
            self.fidelity.firehose_refusal = self.iam.firehose_refusal
        self.calls = CallLog()
        self.fidelity.secret_reads = self.calls.secret_reads
        # AWS's rate limits and quotas on the product's calls (local/limits.py); rate_limits=False only for a test
        # that says why.
        self.clock = EmulatedClock(retry_sleep_scale)
        self.limits = RateLimits(self.clock, enabled=rate_limits)
        self.iam_roles_quota = iam_roles_quota  # IAM's default; a test lowers it to meet it
        self.resources: dict[str, str] = {}
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._patches: list[Any] = []
        self.faults: list[Fault] = []
        self.crashes: dict[str, int] = {}
        self.retry_sleep_scale = retry_sleep_scale
        self._clients: dict[tuple[str, str], Any] = {}

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> World:
        environment = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
        env_patch = mock.patch.dict(os.environ, environment)
        env_patch.start()
        self._patches.append(env_patch)
        self._mock.start()
        count_patch = mock.patch.object(BotocoreStubber, "__call__", self._counting_stubber(BotocoreStubber.__call__))
        count_patch.start()
        self._patches.append(count_patch)
        for patcher in (
            mock.patch.object(BaseClient, "_make_api_call", self._faulty_api_call(BaseClient._make_api_call)),
            # Where moto and botocore differ from AWS, or rebuild what could be kept: local/patches.py.
            *(patch.patcher() for patch in world_patches(self.retry_sleep_scale)),
        ):
            patcher.start()
            self._patches.append(patcher)
        self.lambdas.fault = self._crash_for
        self.lambdas.start()
        self.fidelity.start()
        try:
            self._deploy()
            # GetAccountSummary reports the quota CreateRole is held to (moto's is a constant 1,000).
            iam_backends[self.archive_account]["global"].account_summary._roles_quota = self.iam_roles_quota
            # The product's rate budget and its accounts' executions a minute run on the emulation's clock
            # (imported by now, under a function's environment: Powertools reads its settings at import).
            for module in ("pgaudit_archiver.aws.rate_budget", "pgaudit_archiver.aws.account_limits"):
                budget = sys.modules.get(module)
                if budget is not None:
                    patcher = mock.patch.object(budget, "time", self.clock)
                    patcher.start()
                    self._patches.append(patcher)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for other in self.regions.values():
            other._stop_executions()
        self._stop_executions()
        if self.postgres is not None:
            self.postgres.close()
        self.fidelity.stop()
        self.lambdas.stop()
        self._mock.stop()
        while self._patches:
            self._patches.pop().stop()

    def _stop_executions(self) -> None:
        """No execution outlives its world: one still running would write into the next world's tables, which
        have the same names (moto's backends are process-wide)."""
        machines = [arn for key, arn in self.resources.items() if key.endswith("StateMachine")]
        with contextlib.suppress(ClientError):
            sfn = self.client("stepfunctions")
            for machine in machines:
                running = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]
                for execution in running:
                    sfn.stop_execution(executionArn=execution["executionArn"])
        deadline = time.monotonic() + 30
        for thread in list(EXECUTION_THREADS):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        EXECUTION_THREADS[:] = [thread for thread in EXECUTION_THREADS if thread.is_alive()]

    # ------------------------------------------------------------------ fault injection
    def inject(self, service: str, operation: str, code: str, *, times: int = 1, account: str | None = None) -> Fault:
        """Make the product's next `times` calls of `operation` (in `account`, or any) fail with `code`."""
        fault = Fault(service, operation, code, times, account)
        self.faults.append(fault)
        return fault

    def crash(self, logical_id: str, times: int = 1) -> None:
        """Make the function crash (an unexpected exception) on its next `times` invocations."""
        self.crashes[self.resources[logical_id]] = times

    def clear_faults(self) -> None:
        self.faults.clear()
        self.crashes.clear()

    def _crash_for(self, function_name: str) -> Exception | None:
        if self.crashes.get(function_name, 0) > 0:
            self.crashes[function_name] -= 1
            return RuntimeError(f"injected crash in {function_name}")
        return None

    def _faulty_api_call(self, original: Any) -> Any:
        world = self

        def call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            product = product_code_running()
            if product:
                service = client.meta.service_model.service_name
                key = client._request_signer._credentials.access_key if client._request_signer._credentials else ""
                if world.iam is not None:
                    function = running_function()
                    with _BACKEND_LOCK:  # the evaluator reads moto's roles and resources, which others change
                        identity = world.iam.caller_identity(function, key)
                        world.iam.authorize(
                            identity, service, operation_name, client.meta.region_name, api_params, function
                        )
                account = get_account_id_from(key) if key else world.archive_account
                for fault in world.faults:
                    if (
                        (fault.service, fault.operation) == (service, operation_name)
                        and fault.hits < fault.times
                        and (fault.account in (None, account))
                    ):
                        fault.hits += 1
                        status = ACCESS_DENIED_STATUS if fault.code.startswith("AccessDenied") else THROTTLING_STATUS
                        raise ClientError(
                            {"Error": {"Code": fault.code, "Message": f"injected {fault.code}"},
                             "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "injected"}},
                            operation_name,
                        )  # fmt: skip
            result = original(client, operation_name, api_params)
            if product and world.iam is not None and (service, operation_name) == ("sts", "AssumeRole"):
                role_arn = api_params["RoleArn"]
                world.iam.remember_session(
                    result["Credentials"]["AccessKeyId"],
                    role_arn.split(":")[4],
                    role_arn,
                    api_params["RoleSessionName"],
                )
            return result

        return call

    def _delivery_refusal(self, destination: Any, log_group_arn: str, region: str) -> str | None:
        """CloudWatch Logs delivers with the destination's role; the trust policy sees aws:SourceArn in the
        source account (the log group) or in the recipient's (the destination): both must be trusted."""
        assert self.iam is not None
        return self.iam.delivery_refusal(
            destination.role_arn, destination.target_arn, region, [log_group_arn, destination.arn]
        )

    def _quota_refusal(self, account: str, service: str, operation: str) -> Any:
        """IAM's roles-per-account quota, as AWS refuses CreateRole past it."""
        if (service, operation) == ("iam", "CreateRole"):
            roles = len(iam_backends[account]["global"].roles)
            if roles >= self.iam_roles_quota:
                return error_response(
                    "iam", "LimitExceeded", f"Cannot exceed quota for RolesPerAccount: {self.iam_roles_quota}", 409
                )
        return None

    def _counting_stubber(self, original: Any) -> Any:
        calls = self.calls
        world = self

        def call(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            if event_name.startswith(IN_PROCESS_EVENTS):
                return counted(stubber, event_name, request, **kwargs)
            # Each AWS request is atomic, as on AWS (a conditional write never races another); moto's backends are
            # not thread-safe, and the handlers that send the requests now run at once.
            with _BACKEND_LOCK:
                return counted(stubber, event_name, request, **kwargs)

        def counted(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            if product_code_running():
                service, operation = operation_of(event_name, request.body)
                authorization = request.headers.get("Authorization", b"")
                match = _CREDENTIAL_SCOPE.search(
                    authorization.decode() if isinstance(authorization, bytes) else authorization
                )
                account = get_account_id_from(match.group(1)) if match else ARCHIVE_ACCOUNT
                calls.record(account, service, operation)
                region = match.group(2) if match else world.region
                refusal = world.limits.refusal(account, region, service, operation.split("(")[0])
                if refusal is None:
                    refusal = world._quota_refusal(account, service, operation)
                if refusal is not None:
                    return refusal
            return original(stubber, event_name, request, **kwargs)

        return call

    # ------------------------------------------------------------------ clients
    def client(self, service: str, account: str | None = None, region: str | None = None) -> Any:
        """A client acting in `account` (the archive account by default) and `region` (the world's by default), as the
        emulation's administrator."""
        key = (service, account or self.archive_account) if region in (None, self.region) else (
            service, f"{account or self.archive_account}@{region}"
        )  # fmt: skip
        if key not in self._clients:
            self._clients[key] = self._new_client(service, account, region)
        return self._clients[key]

    def _new_client(self, service: str, account: str | None, region: str | None = None) -> Any:
        client = boto3.client(service, region_name=region or self.region, config=Config(retries={"max_attempts": 1}))
        if account and account != self.archive_account:
            client.meta.events.register(
                "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
            )
        return client

    # ------------------------------------------------------------------ deployment
    def _deploy(self) -> None:
        """Both stacks. A world of the same template and settings deployed before in this process is copied
        instead: what that deployment left in moto and in the emulation, a tenth of the time of a deployment."""
        key = self._deployment_key()
        deployed = _DEPLOYMENTS.get(key)
        if deployed is None:
            registries = _Deployment.registries()
            self._deploy_archive_stack()
            for account in self.source_accounts:
                self._deploy_source_stack(account)
            _DEPLOYMENTS[key] = _Deployment.of(self, registries)
        else:
            deployed.restore(self)

    def _deployment_key(self) -> str:
        """Everything a deployment depends on: the templates (as this world holds them), the definitions, settings."""
        machines = [r for r in self.template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"]
        definitions = [(ROOT / m["Properties"]["DefinitionUri"]).read_text() for m in machines]
        return json.dumps(
            [self.template, load_template(SOURCE_TEMPLATE), definitions, self.parameters, self.source_accounts,
             self.region, self.iam is not None, self.postgres is not None],
            sort_keys=True, default=str,
        )  # fmt: skip

    def _resolve(self, value: Any, scope: dict[str, Any] | None = None) -> Any:
        """Resolve the intrinsics template.yaml uses against the emulated resources (`scope`: the references of
        another template, e.g. the source stack's parameters)."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" and argument == "AWS::NoValue":
                return _NO_VALUE
            if key == "Ref" and scope is not None:
                return scope[argument]
            if key == "Fn::If":
                condition, when_true, when_false = argument
                return self._resolve(when_true if self._condition(condition) else when_false, scope)
            if key == "Fn::Split":
                return str(self._resolve(argument[1], scope)).split(argument[0])
            if key == "Ref":
                pseudo = {
                    "AWS::AccountId": self.archive_account,
                    "AWS::Region": self.region,
                    "AWS::Partition": "aws",
                    "AWS::StackName": STACK_NAME,
                }
                if argument in pseudo:
                    return pseudo[argument]
                if argument in self.parameters:
                    return self.parameters[argument]
                return self.resources[argument]
            if key == "Fn::GetAtt":
                return self.resources[f"{argument[0]}.{argument[1]}"]
            if key == "Fn::Join":
                separator, values = argument[0], self._resolve(argument[1], scope)
                return separator.join(values if isinstance(values, list) else [str(values)])
            if key == "Fn::Sub":
                # ${!Literal} is written as ${Literal}, unresolved (CloudFormation's escape).
                return re.sub(
                    r"\$\{([^}]+)\}",
                    lambda m: "${" + m.group(1)[1:] + "}" if m.group(1).startswith("!") else str(
                        self._resolve({"Ref": m.group(1)}, scope)
                        if "." not in m.group(1)
                        else self.resources[m.group(1)]
                    ),
                    argument,
                )  # fmt: skip
        if isinstance(value, dict):
            items = {key: self._resolve(item, scope) for key, item in value.items()}
            return {key: item for key, item in items.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self._resolve(item, scope) for item in value) if item is not _NO_VALUE]
        return value

    def _condition(self, name: str) -> bool:
        def holds(expression: Any) -> bool:
            ((key, argument),) = expression.items()
            if key == "Fn::Not":
                return not holds(argument[0])
            if key == "Fn::Equals":
                return str(self._resolve(argument[0])) == str(self._resolve(argument[1]))
            if key == "Condition":
                return self._condition(argument)
            raise NotImplementedError(f"condition function {key}")

        return holds(self.template["Conditions"][name])

    def _deploy_archive_stack(self) -> None:
        iam, s3 = self.client("iam"), self.client("s3")
        bucket = f"{STACK_NAME}-archive-{self.archive_account}-{self.region}"
        # S3 takes no location constraint for us-east-1, and refuses one.
        location = (
            {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        )
        s3.create_bucket(Bucket=bucket, **location)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        self.resources["ArchiveBucket"] = bucket
        self.resources["ArchiveBucket.Arn"] = f"arn:aws:s3:::{bucket}"
        self._protect_archive_bucket(bucket)
        resources = self.template["Resources"]
        template_roles = [logical_id for logical_id, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
        for role in (*template_roles, "StateMachineRole"):
            trust = resources.get(role, {}).get("Properties", {}).get("AssumeRolePolicyDocument")
            document = self._resolve(trust) if trust else LAMBDA_TRUST
            arn = iam.create_role(
                RoleName=f"{self.physical_prefix}-{role}", AssumeRolePolicyDocument=json.dumps(document)
            )["Role"]["Arn"]
            self.resources[f"{role}.Arn"] = arn
        boundary = iam.create_policy(
            PolicyName=f"{self.physical_prefix}-DestinationRoleBoundary",
            PolicyDocument=json.dumps(
                self._resolve(self.template["Resources"]["DestinationRoleBoundary"]["Properties"]["PolicyDocument"])
            ),
        )["Policy"]["Arn"]
        self.resources["DestinationRoleBoundary"] = boundary
        self._create_tables()
        self._create_glue_catalog()

        machines = {k: r for k, r in self.template["Resources"].items() if r["Type"] == "AWS::Serverless::StateMachine"}
        for logical_id, resource in machines.items():  # ARNs are known before creation, as in CloudFormation
            name = self._resolve(resource["Properties"]["Name"])
            self.resources[logical_id] = f"arn:aws:states:{self.region}:{self.archive_account}:stateMachine:{name}"
        functions = archive_functions(self.template)
        for spec in functions:
            name = f"{self.physical_prefix}-{spec.logical_id}"[:64]
            self.resources[spec.logical_id] = name
            self.resources[f"{spec.logical_id}.Arn"] = (
                f"arn:aws:lambda:{self.region}:{self.archive_account}:function:{name}"
            )
        # Not emulated, but named in the roles' policies.
        self.resources["ClusterEventDeadLetters.Arn"] = (
            f"arn:aws:sqs:{self.region}:{self.archive_account}:{STACK_NAME}-ClusterEventDeadLetters"
        )
        for role in template_roles:
            self._put_role_policies(f"{self.physical_prefix}-{role}", resources[role]["Properties"])
        function_roles = {spec.logical_id: self._function_role(spec.logical_id) for spec in functions}
        lambda_client = self.client("lambda")
        for spec in functions:
            environment = {key: str(self._resolve(value)) for key, value in spec.environment.items()}
            environment.update(
                {
                    "AWS_REGION": self.region,
                    "AWS_DEFAULT_REGION": self.region,
                    "AWS_LAMBDA_FUNCTION_NAME": self.resources[spec.logical_id],
                    "POWERTOOLS_TRACE_DISABLED": "true",
                }
            )
            lambda_client.create_function(
                FunctionName=self.resources[spec.logical_id],
                Runtime="python3.13",
                Handler=spec.handler,
                Role=function_roles[spec.logical_id],
                Code={"ZipFile": _placeholder_zip()},
            )
            self.lambdas.register(
                self.resources[spec.logical_id],
                self.resources[f"{spec.logical_id}.Arn"],
                spec.module,
                spec.function_name,
                environment,
            )

        for logical_id, resource in machines.items():
            properties = resource["Properties"]
            definition = (ROOT / properties["DefinitionUri"]).read_text()
            substitutions = {
                key: self._resolve(value)
                for key, value in state_machine_substitutions(self.template, logical_id).items()
            }
            definition = re.sub(r"\$\{(\w+)\}", lambda m, values=substitutions: str(values[m.group(1)]), definition)
            created = self.client("stepfunctions").create_state_machine(
                name=self._resolve(properties["Name"]),
                definition=definition,
                roleArn=self.resources["StateMachineRole.Arn"],
            )["stateMachineArn"]
            if created != self.resources[logical_id]:
                raise RuntimeError(f"{logical_id}: expected {self.resources[logical_id]}, moto made {created}")

    def _protect_archive_bucket(self, bucket: str) -> None:
        """The archive bucket's policy and default encryption as template.yaml sets them: local/iam.py evaluates the
        policy, and the key's policy, with every write into the bucket."""
        s3, resources = self.client("s3"), self.template["Resources"]
        policy = self._resolve(resources["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"])
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        encryption = self._resolve(resources["ArchiveBucket"]["Properties"]["BucketEncryption"])
        rules = [  # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
             "BucketKeyEnabled": rule.get("BucketKeyEnabled", False)}
            for rule in encryption["ServerSideEncryptionConfiguration"]
        ]  # fmt: skip
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})

    def _put_role_policies(self, role_name: str, properties: dict[str, Any]) -> None:
        """A template role's inline policies and managed policy ARNs, as CloudFormation attaches them."""
        iam = self.client("iam")
        for policy in properties.get("Policies", []):
            iam.put_role_policy(
                RoleName=role_name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(self._resolve(policy["PolicyDocument"])),
            )
        self._attach_managed(role_name, [self._resolve(arn) for arn in properties.get("ManagedPolicyArns", [])])

    def _attach_managed(self, role_name: str, arns: list[str]) -> None:
        for arn in arns:
            if ":iam::aws:policy/" in arn and self.iam is not None:  # AWS managed: local/iam.py keeps their text
                self.iam.aws_managed_attachments.setdefault((self.archive_account, role_name), []).append(arn)
            elif ":iam::aws:policy/" not in arn:
                self.client("iam").attach_role_policy(RoleName=role_name, PolicyArn=arn)

    def _function_role(self, logical_id: str) -> str:
        """The function's role: `Role: !GetAtt X.Arn`, or the one SAM generates from its `Policies`."""
        properties = self.template["Resources"][logical_id]["Properties"]
        if "Role" in properties:
            arn = str(self._resolve(properties["Role"]))
        else:
            iam = self.client("iam")
            name = f"{self.physical_prefix}-{logical_id}Role"[:64]
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
            self.resources[f"{logical_id}Role.Arn"] = arn  # SAM names a function's own role <Function>Role
            for index, policy in enumerate(properties.get("Policies", [])):
                if not (isinstance(policy, dict) and set(policy) == {"Statement"}):
                    raise NotImplementedError(f"{logical_id}: SAM policy {policy} is not emulated")
                document = {"Version": "2012-10-17", "Statement": self._resolve(policy["Statement"])}
                iam.put_role_policy(
                    RoleName=name, PolicyName=f"{logical_id}RolePolicy{index}", PolicyDocument=json.dumps(document)
                )
            tracing = properties.get("Tracing", self.template.get("Globals", {}).get("Function", {}).get("Tracing"))
            self._attach_managed(
                name, [*SAM_FUNCTION_MANAGED_POLICIES, *([SAM_TRACING_POLICY] * (tracing == "Active"))]
            )
        if self.iam is not None:
            self.iam.function_roles[self.resources[logical_id]] = (self.archive_account, arn.rsplit("/", 1)[-1])
        return arn

    def _create_glue_catalog(self) -> None:
        """The template's Glue database and tables (their partitions are registered as objects arrive, or projected)."""
        glue, resources = self.client("glue"), self.template["Resources"]
        for logical_id in (k for k, r in resources.items() if r["Type"] == "AWS::Glue::Database"):
            name = self._resolve(resources[logical_id]["Properties"]["DatabaseInput"]["Name"])
            glue.create_database(DatabaseInput={"Name": name})
            self.resources[logical_id] = name
        for logical_id in (k for k, r in resources.items() if r["Type"] == "AWS::Glue::Table"):
            properties = self._resolve(resources[logical_id]["Properties"])
            glue.create_table(DatabaseName=properties["DatabaseName"], TableInput=properties["TableInput"])

    def _create_tables(self) -> None:
        dynamodb = self.client("dynamodb")
        for logical_id, resource in self.template["Resources"].items():
            if resource["Type"] != "AWS::DynamoDB::Table":
                continue
            properties = resource["Properties"]
            name = f"{STACK_NAME}-{logical_id}"
            options = {key: properties[key] for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")
                       if key in properties}  # fmt: skip
            arn = dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **options)["TableDescription"][
                "TableArn"
            ]
            self.resources[logical_id] = name
            self.resources[f"{logical_id}.Arn"] = arn

    def _source_stack_scope(self, account: str) -> dict[str, Any]:
        """source-account/template.yaml's references in `account`: its role trusts the archive's roles of every
        region the archive stack is deployed in (ArchiveRoleArns lists them all)."""
        return {
            "AWS::Partition": "aws",
            "AWS::AccountId": account,
            "AWS::Region": self.region,
            "ArchiveAccountId": self.archive_account,
            "ArchiveRoleArns": [
                world.resources[f"{role}.Arn"]
                for world in (self, *self.regions.values())
                for role in ("SourceAccessRole", "AutoOnboardRole", "ApiFunctionRole")
            ],
            "ExternalId": str(self.parameters["ExternalId"]),
            "RoleName": str(self.parameters["SourceRoleName"]),
            "Regions": [world.region for world in self.regions.values()],
        }

    def in_region(self, region: str) -> World:
        """The archive stack deployed in `region` too (`sam deploy` there), and each source account's stack
        updated so that its one, global, role trusts that region's archive roles as well (ArchiveRoleArns). The
        world returned shares this one's accounts, IAM, functions and emulation; it acts in `region`."""
        if region not in self.regions:
            other = copy.copy(self)
            other.region, other.resources, other._clients, other.regions = region, {}, {}, {}
            other.physical_prefix = f"{STACK_NAME}-{region}"
            other._deploy_archive_stack()
            self.regions[region] = other
            for account in self.source_accounts:
                role = load_template(SOURCE_TEMPLATE)["Resources"]["SourceRole"]["Properties"]
                scope, iam = self._source_stack_scope(account), self.client("iam", account)
                name = str(self._resolve(role["RoleName"], scope))
                iam.update_assume_role_policy(
                    RoleName=name, PolicyDocument=json.dumps(self._resolve(role["AssumeRolePolicyDocument"], scope))
                )
                for policy in role["Policies"]:  # Regions: the role may act in this region too
                    iam.put_role_policy(
                        RoleName=name,
                        PolicyName=policy["PolicyName"],
                        PolicyDocument=json.dumps(self._resolve(policy["PolicyDocument"], scope)),
                    )
        return self.regions[region]

    def _deploy_source_stack(self, account: str) -> None:
        """source-account/template.yaml's SourceRole, as CloudFormation creates it with this world's values."""
        role = load_template(SOURCE_TEMPLATE)["Resources"]["SourceRole"]["Properties"]
        scope = self._source_stack_scope(account)
        iam = self.client("iam", account)
        name = str(self._resolve(role["RoleName"], scope))
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(self._resolve(role["AssumeRolePolicyDocument"], scope))
        )
        for policy in role["Policies"]:
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(self._resolve(policy["PolicyDocument"], scope)),
            )

    def create_organization(self, members: tuple[str, ...]) -> str:
        """An AWS Organization of `members` and the archive account, the archive account its delegated
        administrator for StackSets; a member without the source stack has no source role. Its id."""
        return create_emulated_organization(
            lambda account: self.client("organizations", account), members, self.archive_account
        )

    # ------------------------------------------------------------------ clusters
    def create_cluster(
        self,
        cluster_id: str,
        *,
        account: str | None = None,
        engine: str = "aurora-postgresql",
        engine_version: str = "15.4",
        instances: int = 2,
        parameter_group: str | None = None,
        data_api: bool = True,
        managed_secret: bool = True,
        exports: tuple[str, ...] = (),
        tags: dict[str, str] | None = None,
        database_user: bool = True,
        consent: bool | None = None,
        real_postgres: bool = True,
        instance_class: str = "db.r6g.large",
        cluster_options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An Aurora PostgreSQL cluster (with a real PostgreSQL behind it in World(postgres=True) unless
        `real_postgres` is false: a fleet's many clusters cannot each have a server); with
        `database_user`, its owner has also created the database user and tagged secret of docs/deploy.md (step 4); with
        `consent` (by default: when no tags are given) the owner has granted consent (grant_consent);
        `cluster_options`: further CreateDBCluster parameters (ServerlessV2ScalingConfiguration, StorageType)."""
        rds = self.client("rds", account or self.source_accounts[0])
        consent = tags is None if consent is None else consent
        tags = ({CONSENT_TAG_KEY: CONSENT_TAG_VALUE} if consent else {}) | (tags or {})
        options: dict[str, Any] = (
            {
                "DBClusterIdentifier": cluster_id,
                "Engine": engine,
                "EngineVersion": engine_version,
                "MasterUsername": "postgres",
                "DatabaseName": "appdb",
                "EnableHttpEndpoint": data_api,
            }
            | _owner_choices(managed_secret, exports, tags)
            | (cluster_options or {})
        )
        if parameter_group:
            options["DBClusterParameterGroupName"] = parameter_group
        rds.create_db_cluster(**options)
        for index in range(instances):
            rds.create_db_instance(
                DBInstanceIdentifier=f"{cluster_id}-instance-{index + 1}",
                DBClusterIdentifier=cluster_id,
                Engine=engine,
                DBInstanceClass=instance_class,
            )
        if consented(tags):
            self.grant_consent(cluster_id, account=account)
        cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        if self.postgres is not None and real_postgres and engine == "aurora-postgresql":
            account_id = account or self.source_accounts[0]
            backend = rds_backends[account_id][self.region]
            parameters = Fidelity.parameter_values(backend, cluster["DBClusterParameterGroup"])
            self.postgres.attach(account_id, cluster_id, f"{cluster_id}-instance-1", "appdb", parameters)
        if database_user and engine == "aurora-postgresql":
            self.create_database_user(cluster_id, account=account)
        return cluster

    def grant_consent(self, cluster_id: str, *, account: str | None = None, kind: str = AURORA_CLUSTER) -> None:
        """What the owner runs (docs/deploy.md, step 3), with their own credentials: the tag pgaudit-archiver=enabled on
        the database (a cluster and each of its instances, or a DB instance) and its postgresql log group (created
        when missing). `cluster_id`: the cluster's or, for a DB instance, the instance's identifier."""
        account = account or self.source_accounts[0]
        rds, logs = self.client("rds", account), self.client("logs", account)
        consent = [{"Key": CONSENT_TAG_KEY, "Value": CONSENT_TAG_VALUE}]
        for arn in self._database_arns(kind, cluster_id, account):
            rds.add_tags_to_resource(ResourceName=arn, Tags=consent)
        group = database_log_group(kind, cluster_id)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
        arn = f"arn:aws:logs:{self.region}:{account}:log-group:{group}"
        logs.tag_resource(resourceArn=arn, tags={CONSENT_TAG_KEY: CONSENT_TAG_VALUE})

    def grant_instance_consent(self, instance_id: str, *, account: str | None = None) -> None:
        self.grant_consent(instance_id, account=account, kind=DB_INSTANCE)

    def _database_arns(self, kind: str, database_id: str, account: str) -> list[str]:
        """The database's ARN, then its DB instances' (a cluster's members)."""
        rds = self.client("rds", account)
        if namespace_of(kind) == "instance":
            return [rds.describe_db_instances(DBInstanceIdentifier=database_id)["DBInstances"][0]["DBInstanceArn"]]
        cluster = rds.describe_db_clusters(DBClusterIdentifier=database_id)["DBClusters"][0]
        # A DB instance's ARN: arn:aws:rds:<region>:<account>:db:<identifier> (RDS User Guide, "Amazon RDS ARNs").
        prefix = cluster["DBClusterArn"].rsplit(":cluster:", 1)[0] + ":db:"
        members = [prefix + member["DBInstanceIdentifier"] for member in cluster["DBClusterMembers"]]
        return [cluster["DBClusterArn"], *members]

    def withdraw_consent(
        self, cluster_id: str, *, account: str | None = None, log_group: bool = False, kind: str = AURORA_CLUSTER
    ) -> None:
        """The owner takes consent back: from the database (a cluster or a DB instance), or from its log group only."""
        account = account or self.source_accounts[0]
        if log_group:
            arn = f"arn:aws:logs:{self.region}:{account}:log-group:{database_log_group(kind, cluster_id)}"
            self.client("logs", account).untag_resource(resourceArn=arn, tagKeys=[CONSENT_TAG_KEY])
            return
        database_arn = self._database_arns(kind, cluster_id, account)[0]
        self.client("rds", account).remove_tags_from_resource(ResourceName=database_arn, TagKeys=[CONSENT_TAG_KEY])

    def create_database_user(
        self,
        cluster_id: str,
        *,
        account: str | None = None,
        user: str = DATABASE_USER,
        rds_superuser: bool = True,
        tags: dict[str, str] | None = None,
        kind: str = AURORA_CLUSTER,
    ) -> str:
        """What docs/deploy.md (step 4) asks a cluster's owner to do: a database user with LOGIN (and rds_superuser,
        which CREATE EXTENSION pgaudit needs) and its secret, tagged for pgaudit-archiver and this cluster. Returns the
        secret's ARN. `tags` replaces the two tags (a test's wrong or missing tag)."""
        account_id = account or self.source_accounts[0]
        password = secrets.token_urlsafe(24)
        if self.postgres is not None:
            self.sql(cluster_id, f"CREATE ROLE {user} WITH LOGIN PASSWORD '{password}'", account=account_id, kind=kind)
            if rds_superuser:
                self.sql(cluster_id, f"GRANT rds_superuser TO {user}", account=account_id, kind=kind)
        identifier = "dbInstanceIdentifier" if namespace_of(kind) == "instance" else "dbClusterIdentifier"
        value = {"engine": "postgres", "username": user, "password": password, identifier: cluster_id}
        chosen = {PURPOSE_TAG: "true", CLUSTER_TAG: cluster_id} if tags is None else tags
        response = self.client("secretsmanager", account_id).create_secret(
            Name=f"pgaudit-archiver/{cluster_id}/{user}",
            SecretString=json.dumps(value),
            Tags=[{"Key": key, "Value": tag_value} for key, tag_value in chosen.items()],
        )
        return str(response["ARN"])

    def sql(
        self,
        cluster_id: str,
        statement: str,
        *,
        user: str = "postgres",
        database: str = "appdb",
        account: str | None = None,
        kind: str = AURORA_CLUSTER,
        region: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """Run SQL on the real PostgreSQL behind a database (a cluster, or a DB instance with kind=DB_INSTANCE), as a
        client of the database would."""
        if self.postgres is None:
            raise RuntimeError("this world has no real PostgreSQL: World(postgres=True)")
        account_id = account or self.source_accounts[0]
        if namespace_of(kind) == "instance":
            server = self.postgres.instance_server(account_id, cluster_id, region)
        else:
            server = self.postgres.server(account_id, cluster_id, region)
        with server.connect(database, user) as connection, connection.cursor() as cursor:
            cursor.execute(statement.encode())
            return cursor.fetchall() if cursor.description else []

    def flush_logs(self) -> None:
        """Ship every log line written so far (what RDS does within seconds)."""
        if self.postgres is not None:
            self.postgres.flush_logs()

    def create_parameter_group(
        self,
        name: str,
        *,
        account: str | None = None,
        family: str = "aurora-postgresql15",
        values: dict[str, str] | None = None,
    ) -> None:
        rds = self.client("rds", account or self.source_accounts[0])
        rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=name, DBParameterGroupFamily=family, Description=f"{name} (owner's)"
        )
        parameters = {"shared_preload_libraries": "pg_stat_statements", **(values or {})}
        rds.modify_db_cluster_parameter_group(
            DBClusterParameterGroupName=name,
            Parameters=[
                {"ParameterName": key, "ParameterValue": value, "ApplyMethod": "pending-reboot"}
                for key, value in parameters.items()
            ],
        )

    def create_db_parameter_group(
        self,
        name: str,
        *,
        account: str | None = None,
        family: str = "postgres16",
        values: dict[str, str] | None = None,
    ) -> None:
        """An owner's DB parameter group (of an RDS for PostgreSQL family: it starts with the engine's defaults)."""
        rds = self.client("rds", account or self.source_accounts[0])
        rds.create_db_parameter_group(
            DBParameterGroupName=name, DBParameterGroupFamily=family, Description=f"{name} (owner's)"
        )
        if values:
            rds.modify_db_parameter_group(
                DBParameterGroupName=name,
                Parameters=[
                    {"ParameterName": key, "ParameterValue": value, "ApplyMethod": "pending-reboot"}
                    for key, value in values.items()
                ],
            )

    # ------------------------------------------------------------------ other kinds of database
    def _owner_tags(self, tags: dict[str, str] | None, consent: bool | None) -> dict[str, str]:
        consent = tags is None if consent is None else consent
        return ({CONSENT_TAG_KEY: CONSENT_TAG_VALUE} if consent else {}) | (tags or {})

    def create_instance(
        self,
        instance_id: str,
        *,
        account: str | None = None,
        engine_version: str = "16.3",
        instance_class: str = "db.t4g.micro",
        parameter_group: str | None = None,
        managed_secret: bool = True,
        exports: tuple[str, ...] = (),
        tags: dict[str, str] | None = None,
        database_user: bool = True,
        consent: bool | None = None,
    ) -> dict[str, Any]:
        """An RDS for PostgreSQL DB instance (engine postgres, no cluster), with a real PostgreSQL behind it in
        World(postgres=True); `database_user` and `consent` as for create_cluster."""
        account_id = account or self.source_accounts[0]
        rds = self.client("rds", account_id)
        tags = self._owner_tags(tags, consent)
        options: dict[str, Any] = {
            "DBInstanceIdentifier": instance_id,
            "Engine": "postgres",
            "EngineVersion": engine_version,
            "DBInstanceClass": instance_class,
            "AllocatedStorage": 20,
            "MasterUsername": "postgres",
            "DBName": "appdb",
        } | _owner_choices(managed_secret, exports, tags)
        if parameter_group:
            options["DBParameterGroupName"] = parameter_group
        rds.create_db_instance(**options)
        if consented(tags):
            self.grant_consent(instance_id, account=account_id, kind=DB_INSTANCE)
        if self.postgres is not None:
            instance = rds_backends[account_id][self.region].databases[instance_id]
            self.postgres.attach_instance(account_id, instance_id, "appdb", Fidelity.instance_parameters(instance))
        if database_user:
            self.create_database_user(instance_id, account=account_id, kind=DB_INSTANCE)
        return dict(rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0])

    def create_multi_az_cluster(
        self,
        cluster_id: str,
        *,
        account: str | None = None,
        engine_version: str = "16.3",
        instance_class: str = "db.m6gd.large",
        parameter_group: str | None = None,
        managed_secret: bool = True,
        exports: tuple[str, ...] = (),
        tags: dict[str, str] | None = None,
        database_user: bool = True,
        consent: bool | None = None,
    ) -> dict[str, Any]:
        """A Multi-AZ DB cluster (engine postgres, DBClusterInstanceClass: RDS creates its three DB instances), with
        one real PostgreSQL behind it (its writer's; the two readable standbys share it) in World(postgres=True)."""
        account_id = account or self.source_accounts[0]
        rds = self.client("rds", account_id)
        tags = self._owner_tags(tags, consent)
        options: dict[str, Any] = {
            "DBClusterIdentifier": cluster_id,
            "Engine": "postgres",
            "EngineVersion": engine_version,
            "DBClusterInstanceClass": instance_class,
            "AllocatedStorage": 100,
            "StorageType": "io1",
            "Iops": 1000,
            "MasterUsername": "postgres",
            "DatabaseName": "appdb",
        } | _owner_choices(managed_secret, exports, tags)
        if parameter_group:
            options["DBClusterParameterGroupName"] = parameter_group
        rds.create_db_cluster(**options)
        if consented(tags):
            self.grant_consent(cluster_id, account=account_id, kind=MULTI_AZ_CLUSTER)
        if self.postgres is not None:
            backend = rds_backends[account_id][self.region]
            parameters = Fidelity.effective_parameters(backend, backend.clusters[cluster_id])
            self.postgres.attach(account_id, cluster_id, f"{cluster_id}-instance-1", "appdb", parameters)
        if database_user:
            self.create_database_user(cluster_id, account=account_id, kind=MULTI_AZ_CLUSTER)
        return dict(rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0])

    def write_audit_line(
        self,
        kind: str,
        database_id: str,
        sql: str,
        *,
        account: str | None = None,
        user: str = "postgres",
        region: str | None = None,
    ) -> None:
        """Run `sql` on the database's real PostgreSQL (pgaudit logs it when loaded and configured), then ship the log
        as RDS would."""
        self.sql(database_id, sql, account=account, user=user, kind=kind, region=region)
        self.flush_logs()

    # ------------------------------------------------------------------ life events
    def rename_database(self, kind: str, database_id: str, new_id: str, *, account: str | None = None) -> str:
        """ModifyDBCluster NewDBClusterIdentifier / ModifyDBInstance NewDBInstanceIdentifier, ApplyImmediately: the
        resource id stays; new log lines go to the new name's log group; the old group and its subscription filters
        stay where they are. Returns the resource id."""
        rds = self.client("rds", account or self.source_accounts[0])
        if namespace_of(kind) == "instance":
            answer = rds.modify_db_instance(
                DBInstanceIdentifier=database_id, NewDBInstanceIdentifier=new_id, ApplyImmediately=True
            )
            return str(answer["DBInstance"]["DbiResourceId"])
        answer = rds.modify_db_cluster(DBClusterIdentifier=database_id, NewDBClusterIdentifier=new_id,
                                       ApplyImmediately=True)  # fmt: skip
        return str(answer["DBCluster"]["DbClusterResourceId"])

    def delete_database(self, kind: str, database_id: str, *, account: str | None = None) -> None:
        """DeleteDBInstance / DeleteDBCluster (an Aurora cluster's instances first, as its owner must; a Multi-AZ DB
        cluster's go with it), no final snapshot. The log group stays."""
        rds = self.client("rds", account or self.source_accounts[0])
        if namespace_of(kind) == "instance":
            rds.delete_db_instance(DBInstanceIdentifier=database_id, SkipFinalSnapshot=True)
            return
        if kind == AURORA_CLUSTER:
            cluster = rds.describe_db_clusters(DBClusterIdentifier=database_id)["DBClusters"][0]
            for member in cluster.get("DBClusterMembers", []):
                rds.delete_db_instance(DBInstanceIdentifier=member["DBInstanceIdentifier"], SkipFinalSnapshot=True)
        rds.delete_db_cluster(DBClusterIdentifier=database_id, SkipFinalSnapshot=True)

    def restore_database(
        self,
        kind: str,
        source_id: str,
        new_id: str,
        *,
        account: str | None = None,
        point_in_time: bool = False,
        exports: tuple[str, ...] = (),
        parameter_group: str | None = None,
    ) -> dict[str, Any]:
        """A database restored from a snapshot of `source_id` (or to a point in time): a new resource id, the exports
        and parameter group the request names (the engine's default when none), the source's data. A restored Aurora
        cluster gets a writer, <new_id>-instance-1, as its owner must add one; a Multi-AZ DB cluster comes with its
        three DB instances. Returns the new database as described."""
        rds = self.client("rds", account or self.source_accounts[0])
        options: dict[str, Any] = {"EnableCloudwatchLogsExports": list(exports)} if exports else {}
        if kind != DB_INSTANCE:
            return self._restore_cluster(rds, kind, source_id, new_id, point_in_time, options, parameter_group)
        if parameter_group:
            options["DBParameterGroupName"] = parameter_group
        if point_in_time:
            answer = rds.restore_db_instance_to_point_in_time(
                SourceDBInstanceIdentifier=source_id, TargetDBInstanceIdentifier=new_id, UseLatestRestorableTime=True,
                **options,
            )  # fmt: skip
        else:
            snapshot = f"{source_id}-{uuid.uuid4().hex[:8]}"
            rds.create_db_snapshot(DBInstanceIdentifier=source_id, DBSnapshotIdentifier=snapshot)
            answer = rds.restore_db_instance_from_db_snapshot(
                DBInstanceIdentifier=new_id, DBSnapshotIdentifier=snapshot, **options
            )
        return dict(answer["DBInstance"])

    def _restore_cluster(
        self,
        rds: Any,
        kind: str,
        source_id: str,
        new_id: str,
        point_in_time: bool,
        options: dict[str, Any],
        parameter_group: str | None,
    ) -> dict[str, Any]:
        source = rds.describe_db_clusters(DBClusterIdentifier=source_id)["DBClusters"][0]
        if parameter_group:
            options["DBClusterParameterGroupName"] = parameter_group
        if kind == MULTI_AZ_CLUSTER:
            options["DBClusterInstanceClass"] = source["DBClusterInstanceClass"]
        if point_in_time:
            rds.restore_db_cluster_to_point_in_time(
                DBClusterIdentifier=new_id, SourceDBClusterIdentifier=source_id, UseLatestRestorableTime=True, **options
            )
        else:
            snapshot = f"{source_id}-{uuid.uuid4().hex[:8]}"
            rds.create_db_cluster_snapshot(DBClusterIdentifier=source_id, DBClusterSnapshotIdentifier=snapshot)
            rds.restore_db_cluster_from_snapshot(
                DBClusterIdentifier=new_id, SnapshotIdentifier=snapshot, Engine=source["Engine"], **options
            )
        if kind == AURORA_CLUSTER:
            rds.create_db_instance(DBInstanceIdentifier=f"{new_id}-instance-1", DBClusterIdentifier=new_id,
                                   Engine=source["Engine"], DBInstanceClass="db.r6g.large")  # fmt: skip
        return dict(rds.describe_db_clusters(DBClusterIdentifier=new_id)["DBClusters"][0])

    def create_global_secondary(
        self,
        global_id: str,
        primary_id: str,
        region: str,
        secondary_id: str,
        *,
        account: str | None = None,
        exports: tuple[str, ...] = ("postgresql",),
    ) -> dict[str, Any]:
        """An Aurora global database: CreateGlobalCluster from the primary cluster (created when missing), then a
        secondary cluster in `region` with one DB instance, <secondary_id>-instance-1 (Aurora User Guide, "Adding an
        AWS Region to an Amazon Aurora global database"). The secondary has its own real PostgreSQL, a copy of the
        primary's, whose log goes to /aws/rds/cluster/<secondary_id>/postgresql in `region`. (The emulated secondary
        accepts writes; on AWS it is read-only.) Returns the secondary cluster as described in its region."""
        account_id = account or self.source_accounts[0]
        rds, remote = self.client("rds", account_id), self.client("rds", account_id, region)
        primary = rds.describe_db_clusters(DBClusterIdentifier=primary_id)["DBClusters"][0]
        existing = [
            g for g in rds.describe_global_clusters()["GlobalClusters"] if g["GlobalClusterIdentifier"] == global_id
        ]
        if not existing:
            rds.create_global_cluster(
                GlobalClusterIdentifier=global_id, SourceDBClusterIdentifier=primary["DBClusterArn"]
            )
        options: dict[str, Any] = {"EnableCloudwatchLogsExports": list(exports)} if exports else {}
        remote.create_db_cluster(DBClusterIdentifier=secondary_id, Engine=primary["Engine"],
                                 EngineVersion=primary["EngineVersion"], GlobalClusterIdentifier=global_id,
                                 **options)  # fmt: skip
        remote.create_db_instance(DBInstanceIdentifier=f"{secondary_id}-instance-1", DBClusterIdentifier=secondary_id,
                                  Engine=primary["Engine"], DBInstanceClass="db.r6g.large")  # fmt: skip
        if self.postgres is not None:
            backend = rds_backends[account_id][region]
            secondary = backend.clusters[secondary_id]
            source = rds_backends[account_id][self.region].clusters[primary_id]
            self.postgres.copied(source, secondary, Fidelity.effective_parameters(backend, secondary))
        return dict(remote.describe_db_clusters(DBClusterIdentifier=secondary_id)["DBClusters"][0])

    def start_blue_green(
        self,
        kind: str,
        database_id: str,
        *,
        account: str | None = None,
        name: str | None = None,
        target_engine_version: str | None = None,
        target_parameter_group: str | None = None,
    ) -> dict[str, Any]:
        """CreateBlueGreenDeployment of a DB instance or an Aurora cluster: the green, named <name>-green-<6 letters>,
        starts as a copy of the blue (its data, tags and exports). `target_parameter_group`: the green's DB parameter
        group (a DB instance) or DB cluster parameter group (a cluster). Returns the deployment."""
        rds = self.client("rds", account or self.source_accounts[0])
        arn = self._database_arns(kind, database_id, account or self.source_accounts[0])[0]
        options: dict[str, Any] = {"TargetEngineVersion": target_engine_version} if target_engine_version else {}
        if target_parameter_group:
            key = "TargetDBParameterGroupName" if kind == DB_INSTANCE else "TargetDBClusterParameterGroupName"
            options[key] = target_parameter_group
        answer = rds.create_blue_green_deployment(
            BlueGreenDeploymentName=name or f"{database_id}-bg-{uuid.uuid4().hex[:6]}", Source=arn, **options
        )
        return dict(answer["BlueGreenDeployment"])

    def switchover(self, deployment_id: str, *, account: str | None = None) -> dict[str, Any]:
        """SwitchoverBlueGreenDeployment: the green takes the blue's names, the blue becomes <name>-old1; resource ids
        follow the resources. Returns the deployment as DescribeBlueGreenDeployments shows it afterwards."""
        rds = self.client("rds", account or self.source_accounts[0])
        rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=deployment_id)
        described = rds.describe_blue_green_deployments(BlueGreenDeploymentIdentifier=deployment_id)
        return dict(described["BlueGreenDeployments"][0])

    # ------------------------------------------------------------------ onboarding
    def request(self, cluster_id: str, account: str | None = None, **options: Any) -> dict[str, Any]:
        return {
            "account_id": account or self.source_accounts[0],
            "region": self.region,
            "cluster_id": cluster_id,
            **options,
        }

    def start_onboarding(self, request: Any) -> str:
        """Start the onboarding workflow with `request` as its input, as sent (a malformed one too: Validate Request
        is there to refuse it), named as the API names it: after the source the request asks for, of either kind."""
        name = execution_name(_requested_source(request, self.region), uuid.uuid4().hex[:8])
        return self.client("stepfunctions").start_execution(
            stateMachineArn=self.resources["OnboardStateMachine"], name=name, input=json.dumps(request)
        )["executionArn"]

    def wait(self, execution_arn: str, timeout: float = 120) -> Execution:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still running after {timeout}s")
            time.sleep(0.02)
        return Execution(
            arn=execution_arn,
            status=described["status"],
            output=json.loads(described["output"]) if described.get("output") else None,
            error=described.get("error"),
            cause=described.get("cause"),
            history=lambda: self.states_of(execution_arn),
        )

    def onboard(self, request: Any, timeout: float = 120) -> Execution:
        return self.wait(self.start_onboarding(request), timeout)

    def offboard(
        self, cluster_id: str, account: str | None = None, restore: bool = False, timeout: float = 120
    ) -> Execution:
        request = {"account_id": account or self.source_accounts[0], "region": self.region, "cluster_id": cluster_id,
                   "restore": restore}  # fmt: skip
        arn = self.client("stepfunctions").start_execution(
            stateMachineArn=self.resources["OffboardStateMachine"],
            name=execution_name(Source(account_id=request["account_id"], region=self.region, cluster_id=cluster_id),
                                "off-" + uuid.uuid4().hex[:8]),
            input=json.dumps(request),
        )["executionArn"]  # fmt: skip
        return self.wait(arn, timeout)

    def reconcile(self, cluster_id: str | None = None, account: str | None = None, timeout: float = 120) -> Execution:
        """Run the reconciliation workflow, for one cluster or for every onboarded one."""
        source = {"account_id": account or self.source_accounts[0], "region": self.region, "cluster_id": cluster_id}
        arn = self.client("stepfunctions").start_execution(
            stateMachineArn=self.resources["ReconcileStateMachine"],
            name=f"reconcile-{uuid.uuid4().hex[:12]}",
            input=json.dumps({"source": source} if cluster_id else {}),
        )["executionArn"]
        return self.wait(arn, timeout)

    def adopt(self, account: str | None = None, timeout: float = 600, **options: Any) -> Execution:
        """POST /accounts/{account}/adopt as that account, then wait for the adoption (options: mode, dry_run)."""
        account = account or self.source_accounts[0]
        answer = self.api("POST", f"/accounts/{account}/adopt", caller_account=account, body=options)
        if answer.status != 202:
            raise RuntimeError(f"adoption of {account} refused: {answer.status} {answer.body}")
        return self.wait(answer.body["execution_arn"], timeout=timeout)

    def registry_item(self, cluster_id: str, account: str | None = None) -> dict[str, Any] | None:
        key = f"{account or self.source_accounts[0]}#{self.region}#{cluster_id}"
        item = self.client("dynamodb").get_item(
            TableName=self.resources["RegistryTable"], Key={"source_id": {"S": key}}
        )
        return _plain_item(item["Item"]) if "Item" in item else None

    def states_of(self, execution_arn: str) -> list[dict[str, Any]]:
        """Each state entered, as the Step Functions console lists them: name, type, status, duration."""
        events = self.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)[
            "events"
        ]
        states: list[dict[str, Any]] = []
        for event in events:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                states.append(
                    {
                        "name": event["stateEnteredEventDetails"]["name"],
                        "type": kind.removesuffix("StateEntered"),
                        "status": "Running",
                        "started": event["timestamp"],
                    }
                )
            elif kind.endswith("StateExited") and states:
                states[-1].update(status="Succeeded", ended=event["timestamp"])
            elif kind.endswith("Failed") and states:
                states[-1].update(
                    status="Caught error" if states[-1]["type"] == "Task" else "Failed", ended=event["timestamp"]
                )
            elif kind == "ExecutionFailed" and states:
                states[-1].update(status="Failed", ended=event["timestamp"])
        for state in states:
            ended = state.pop("ended", state["started"])
            state["duration_ms"] = int((ended - state.pop("started")).total_seconds() * 1000)
        return states

    # ------------------------------------------------------------------ events
    def emit_rds_event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """An event RDS puts on the source account's default bus: forwarded to the archive bus when a rule of the
        source stack (source-account/template.yaml) matches it, as EventBridge does; then as send_cluster_event.
        None when no rule forwards it."""
        resources = load_template(SOURCE_TEMPLATE)["Resources"]
        rules = [r["Properties"]["EventPattern"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
        if not any(event_matches(pattern, event) for pattern in rules):
            return None
        return self.send_cluster_event(event)

    def send_cluster_event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """An event put on the archive bus (forwarded by a source account, or put there by anyone the bus policy
        admits): refused (None) unless the bus policy allows the account, not delivered (None) unless the pattern of
        the function's rule (template.yaml) matches it; then the rule's target function runs as EventBridge would
        invoke it."""
        allowed = self._allowed_accounts()
        if event["account"] not in allowed:
            return None
        function = self.template["Resources"]["NewClusterEventFunction"]["Properties"]
        if not event_matches(function["Events"]["ClusterEvents"]["Properties"]["Pattern"], event):
            return None
        payload, errored = self.lambdas.call(self.resources["NewClusterEventFunction"], event)
        if errored:
            raise RuntimeError(f"NewClusterEventFunction failed: {payload}")
        return payload

    def _allowed_accounts(self) -> set[str]:
        """Who the API's resource policy and the event bus policy admit (organizations are not emulated)."""
        return {self.archive_account, *filter(None, str(self.parameters["AllowedAccountIds"]).split(","))}

    def cluster_created_event(self, cluster_id: str, account: str | None = None) -> dict[str, Any]:
        return self.database_created_event(AURORA_CLUSTER, cluster_id, account)

    def database_created_event(self, kind: str, database_id: str, account: str | None = None) -> dict[str, Any]:
        """RDS-EVENT-0170 "DB cluster created" for a DB cluster, RDS-EVENT-0005 "DB instance created" for a DB
        instance."""
        return self.rds_event(kind, database_id, "RDS-EVENT-0005" if kind == DB_INSTANCE else "RDS-EVENT-0170", account)

    def database_deleted_event(self, kind: str, database_id: str, account: str | None = None) -> dict[str, Any]:
        """RDS-EVENT-0171 "DB cluster deleted" (the Aurora User Guide's DB cluster events), RDS-EVENT-0003 "The DB
        instance has been deleted"."""
        return self.rds_event(kind, database_id, "RDS-EVENT-0003" if kind == DB_INSTANCE else "RDS-EVENT-0171", account)

    def database_restored_event(
        self, kind: str, database_id: str, account: str | None = None, *, point_in_time: bool = False
    ) -> dict[str, Any]:
        """A DB instance's restoration event: RDS-EVENT-0019 (point in time) or RDS-EVENT-0043 (snapshot). The DB
        cluster events have no restoration category: a restored or cloned DB cluster's event is "DB cluster created"
        (RDS-EVENT-0170), its only creation event."""
        if kind != DB_INSTANCE:
            return self.database_created_event(kind, database_id, account)
        return self.rds_event(kind, database_id, "RDS-EVENT-0019" if point_in_time else "RDS-EVENT-0043", account)

    def rds_event(self, kind: str, database_id: str, event_id: str, account: str | None = None) -> dict[str, Any]:
        """The event RDS sends to EventBridge about a DB cluster ("RDS DB Cluster Event") or a DB instance ("RDS DB
        Instance Event"), with the category and message of "Amazon RDS event categories and event messages" (RDS
        User Guide)."""
        account = account or self.source_accounts[0]
        instance = kind == DB_INSTANCE
        arn = f"arn:aws:rds:{self.region}:{account}:{'db' if instance else 'cluster'}:{database_id}"
        category, message = RDS_EVENTS[event_id]
        detail_type, source_type = ("RDS DB Instance Event", "DB_INSTANCE") if instance else ("RDS DB Cluster Event",
                                                                                               "CLUSTER")  # fmt: skip
        return {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": "aws.rds",
            "account": account, "time": "2026-11-25T10:00:00Z", "region": self.region, "resources": [arn],
            "detail": {"EventCategories": [category], "SourceType": source_type, "SourceArn": arn,
                       "Date": "2026-11-25T10:00:00.000Z", "Message": message,
                       "SourceIdentifier": database_id, "EventID": event_id},
        }  # fmt: skip

    def tag_change_event(self, cluster_id: str, tags: dict[str, str], account: str | None = None) -> dict[str, Any]:
        account = account or self.source_accounts[0]
        return {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Tag Change on Resource", "source": "aws.tag",
            "account": account, "time": "2026-11-25T10:00:00Z", "region": self.region,
            "resources": [f"arn:aws:rds:{self.region}:{account}:cluster:{cluster_id}"],
            "detail": {"changed-tag-keys": list(tags), "service": "rds", "resource-type": "cluster", "version": 2,
                       "tags": tags},
        }  # fmt: skip

    # ------------------------------------------------------------------ API
    def api(
        self,
        method: str,
        path: str,
        *,
        caller_account: str,
        caller_arn: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> ApiResponse:
        """Call the API as API Gateway would deliver it: resource policy, routing, then ApiFunction with the
        signed caller in requestContext.identity (SigV4 itself is API Gateway's to check, not emulated)."""
        allowed = self._allowed_accounts()
        if caller_account not in allowed:
            message = f"User: {caller_arn or caller_account} is not authorized to perform: execute-api:Invoke"
            return ApiResponse(403, {"Message": message}, {})
        route = _route_of(method, path, self._api_routes())
        if route is None:
            return ApiResponse(403, {"message": "Missing Authentication Token"}, {})  # API Gateway's unknown route
        resource, parameters = route
        caller = caller_arn or f"arn:aws:iam::{caller_account}:user/caller"
        event = rest_api_event(method, path, resource, parameters, body, headers, query, caller_account, caller)
        name = self.resources["ApiFunction"]
        payload, errored = self.lambdas.call(name, event)
        if errored:
            return ApiResponse(502, {"message": "Internal server error", "function_error": payload}, {})
        response_body = payload.get("body")
        try:
            parsed = json.loads(response_body) if response_body else None
        except ValueError:
            parsed = response_body
        # API Gateway answers with both of a proxy integration's header maps, multiValueHeaders' values taking a
        # key's place (Powertools fills only multiValueHeaders for a REST API).
        headers = {**(payload.get("headers") or {})}
        for header, values in (payload.get("multiValueHeaders") or {}).items():
            headers[header] = ", ".join(values)
        return ApiResponse(payload["statusCode"], parsed, headers)

    def _api_routes(self) -> list[tuple[str, str]]:
        function = self.template["Resources"]["ApiFunction"]["Properties"]
        return [(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in function["Events"].values()]

    # ------------------------------------------------------------------ archive
    def archived_objects(self, prefix: str = "") -> Iterator[tuple[str, bytes]]:
        s3 = self.client("s3")
        bucket = self.resources["ArchiveBucket"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()

    def archived_records(self, prefix: str = "pgaudit/") -> list[dict[str, Any]]:
        """The archived JSON lines in the order the events happened: object names are only to the second."""
        records = []
        for key, body in self.archived_objects(prefix):
            text = gzip.decompress(body).decode() if key.endswith(".gz") else body.decode()
            records += [{"_key": key, **json.loads(line)} for line in text.splitlines() if line]
        return sorted(records, key=lambda record: (record.get("event_timestamp", 0), record.get("event_id") or ""))


@dataclass
class _Deployment:
    """A deployed world: moto's backends (every service, account and region) and what the emulation registered."""

    backends: dict[Any, dict[str, Any]]
    # What the deployment added to the registries' own maps (S3's bucket -> account): moto's reset takes it out.
    registry_entries: dict[tuple[Any, str], dict[Any, Any]]
    resources: dict[str, str]
    functions: list[tuple[str, str, str, str, dict[str, str]]]  # InProcessLambdas.register's arguments
    function_roles: dict[str, tuple[str, str]]
    aws_managed_attachments: dict[tuple[str, str], list[str]]

    @staticmethod
    def _kept(registries: Any) -> dict[int, Any]:
        """A deepcopy memo keeping each BackendDict itself: they are moto's process-wide registries."""
        return {id(registry): registry for registry in registries}

    @staticmethod
    def registries() -> dict[tuple[Any, str], dict[Any, Any]]:
        """The maps each BackendDict keeps besides its backends (a shallow copy)."""
        plain = set(vars(BackendDict(BaseBackend, "plain")))
        maps = {}
        for registry in {*BackendDict._instances, *_REGISTRIES_WITH_MAPS}:
            for name, value in vars(registry).items():
                if name not in plain:
                    if not isinstance(value, dict):
                        raise NotImplementedError(f"{registry.service_name} keeps {name}, which is not a map")
                    maps[(registry, name)] = dict(value)
        return maps

    @classmethod
    def of(cls, world: World, before: dict[tuple[Any, str], dict[Any, Any]]) -> _Deployment:
        with _BACKEND_LOCK:
            backends = copy.deepcopy({bd: dict(bd) for bd in BackendDict._instances}, cls._kept(BackendDict._instances))
            after = cls.registries()
        return cls(
            backends=backends,
            registry_entries={
                key: {k: copy.deepcopy(v) for k, v in entries.items() if before.get(key, {}).get(k, _NO_VALUE) != v}
                for key, entries in after.items()
            },
            resources=dict(world.resources),
            functions=[
                (f.name, f.arn, spec.module, spec.function_name, dict(f.environment))
                for spec in archive_functions(world.template)
                for f in [world.lambdas.functions[world.resources[spec.logical_id]]]
            ],
            function_roles=dict(world.iam.function_roles) if world.iam else {},
            aws_managed_attachments=copy.deepcopy(world.iam.aws_managed_attachments) if world.iam else {},
        )

    def restore(self, world: World) -> None:
        with _BACKEND_LOCK:
            for registry, accounts in copy.deepcopy(self.backends, self._kept(self.backends)).items():
                for account, backend in accounts.items():
                    dict.__setitem__(registry, account, backend)
                if registry not in BackendDict._instances:
                    BackendDict._instances.append(registry)
            for (registry, name), entries in self.registry_entries.items():
                getattr(registry, name).update(copy.deepcopy(entries))
        world.resources.update(self.resources)
        for name, arn, module, function, environment in self.functions:
            world.lambdas.register(name, arn, module, function, dict(environment))
        if world.iam is not None:
            world.iam.function_roles.update(self.function_roles)
            world.iam.aws_managed_attachments.update(copy.deepcopy(self.aws_managed_attachments))


_DEPLOYMENTS: dict[str, _Deployment] = {}  # deployment key -> the deployment
_REGISTRIES_WITH_MAPS = (s3_backends, organizations_backends)  # reset drops them from BackendDict._instances


def rest_api_event(
    method: str,
    path: str,
    resource: str,
    parameters: dict[str, str],
    body: Any,
    headers: dict[str, str] | None,
    query: dict[str, str] | None,
    caller_account: str,
    caller_arn: str,
) -> dict[str, Any]:
    """An API Gateway REST proxy event with IAM authorization, as ApiFunction receives it."""
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers or {},
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": parameters or None, "stageVariables": None,
        "body": body if isinstance(body, str | None) else json.dumps(body), "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": resource, "httpMethod": method, "path": f"/v1{path}", "stage": "v1",
            "requestId": str(uuid.uuid4()), "accountId": ARCHIVE_ACCOUNT,
            "identity": {"accountId": caller_account, "userArn": caller_arn, "caller": caller_arn,
                         "sourceIp": "127.0.0.1"},
        },
    }  # fmt: skip


def _requested_source(request: Any, region: str) -> Source:
    """The source an onboarding request asks for, read by the product's request models as Validate Request reads it
    (instance_id asks for a DB instance); one they refuse is named `invalid-request`."""
    model = InstanceOnboardRequest if names_a_db_instance(request) else OnboardRequest
    try:
        return model.model_validate(request).source
    except ValidationError:
        return Source(account_id="invalid", region=region, cluster_id="request")


def _route_of(method: str, path: str, routes: list[tuple[str, str]]) -> tuple[str, dict[str, str]] | None:
    """API Gateway routing: a {param} matches one path segment, which it hands over URL-decoded."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    for route_method, resource in routes:
        pattern = resource.strip("/").split("/")
        if route_method != method or len(pattern) != len(segments):
            continue
        parameters = {}
        for expected, actual in zip(pattern, segments, strict=True):
            if expected.startswith("{"):
                if not actual:
                    break
                parameters[expected.strip("{}")] = unquote(actual)
            elif expected != actual:
                break
        else:
            return resource, parameters
    return None


def _plain_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as JSON values (numbers as int or float, as the API returns them)."""
    deserializer = TypeDeserializer()
    values = {key: deserializer.deserialize(value) for key, value in item.items()}
    return json.loads(json.dumps(values, default=float), parse_float=_number)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _placeholder_zip() -> bytes:
    # moto stores the code; the emulation runs the handler from the repository instead.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    raise NotImplementedError\n")
    return buffer.getvalue()
