"""`python -m local fleet --real-sources K --silent S`: reconciliation of K sources with real pipelines, its cost in
AWS calls per source, and the time AWS's rate limits bind it to at 10,000 sources.

The K sources are seeded directly (the emulation's clients, AWS's rate limits off), each as onboarding leaves it:
a cluster with pgaudit preloaded and the postgresql export on, its consented log group with our subscription filter,
the archive's stream, destination and the account's destination role (made by the product's own ensure steps),
and a registry item in steady state (checked clean an hour ago, archive side included; its last audit record
delivered minutes ago). S of them are then made silent, in turn in each of the ways of SILENCING, and one
reconciliation run follows, rate limits on; its calls are counted per rate limit, and a silenced source counts as
detected when the run recorded the drift its way causes (DETECTED_AS), found by the product, not by this module.

`pgaudit.log` set to none with ALTER DATABASE needs a database the Data API reaches: those sources (at most
POSTGRES_BACKED of them, a real PostgreSQL server each) have a real PostgreSQL with pgaudit behind their cluster, the
owner's database user and its secret, and the extension onboarding creates; the others have none, as a real
PostgreSQL per source would not fit 10,000 sources on one machine. Without PostgreSQL here, that way is left out
and the output says so.

rate_bound_seconds_at_10000 = max over the rate-limited APIs of (calls per source x sources / budget), where
calls per source is what the run made divided by the sources it checked, the budget is the calls a second the
product may make (Firehose: reconciliation's 3 of AWS's 5; the others AWS's rate, local/limits.py), and sources is
10,000 for a limit of the archive account, and the busiest source account's share of 10,000 (this fleet's spread)
for a limit of each source account (RDS).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto.firehose.models import DeliveryStream

from local.aws_rules import FIREHOSE_STREAMS_PER_REGION
from local.limits import limit_of
from local.postgres import available as postgres_available
from local.world import DATABASE_USER, World

if TYPE_CHECKING:
    from pgaudit_archiver.models import Source
    from pgaudit_archiver.settings import Settings

AT_SCALE = 10_000


class _Session:
    """What the product's data-access classes ask of a boto3 session, answered with the world's clients."""

    def __init__(self, world: World, account: str | None = None) -> None:
        self.world, self.account = world, account

    def client(self, service: str, **_: Any) -> Any:
        return self.world.client(service, self.account)

    def resource(self, service: str, **_: Any) -> Any:
        import boto3  # noqa: PLC0415

        return boto3.resource(service, region_name=self.world.region)


def stack_settings(world: World) -> Settings:
    from local.template import load_settings  # noqa: PLC0415 (after the world: see local/bench.py)

    environment: dict[str, str] = {"AWS_REGION": world.region}
    for function in world.lambdas.functions.values():
        environment |= function.environment
    return load_settings(environment)


def _log_export_off(world: World, source: Source) -> None:
    world.client("rds", source.account_id).modify_db_cluster(
        DBClusterIdentifier=source.cluster_id, CloudwatchLogsExportConfiguration={"DisableLogTypes": ["postgresql"]}
    )


def _filter_removed(world: World, source: Source) -> None:
    from pgaudit_archiver.naming import SUBSCRIPTION_FILTER_NAME, log_group_name  # noqa: PLC0415

    world.client("logs", source.account_id).delete_subscription_filter(
        logGroupName=log_group_name(source.cluster_id), filterName=SUBSCRIPTION_FILTER_NAME
    )


def _destination_policy_removed(world: World, source: Source) -> None:
    """CloudWatch Logs has no DeleteDestinationPolicy: the policy is replaced by one that grants no account."""
    from pgaudit_archiver.naming import destination_name  # noqa: PLC0415

    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": source.account_id},
              "Action": "logs:PutSubscriptionFilter", "Resource": "*"}]}  # fmt: skip
    world.client("logs").put_destination_policy(
        destinationName=destination_name(source), accessPolicy=json.dumps(policy)
    )


def _pgaudit_log_none(world: World, source: Source) -> None:
    """What an rds_superuser can run that no parameter group shows (a real PostgreSQL behind the cluster)."""
    world.sql(source.cluster_id, "ALTER DATABASE appdb SET pgaudit.log = 'none'", account=source.account_id)


def _stopped_writing(world: World, source: Source) -> None:
    """Nothing reached the archive since the transform last recorded a delivery, longer ago than SilentAfterMinutes:
    the registry holds what the transform left there; no record arrives afterwards (these clusters write none)."""
    silent_after = int(stack_settings(world).silent_after_minutes)
    last = datetime.now(tz=UTC) - timedelta(minutes=silent_after + 60)
    world.client("dynamodb").update_item(
        TableName=world.resources["RegistryTable"],
        Key={"source_id": {"S": f"{source.account_id}#{source.region}#{source.cluster_id}"}},
        UpdateExpression="SET last_delivery = :at",
        ExpressionAttributeValues={":at": {"S": last.isoformat(timespec="seconds")}},
    )


ALTER_DATABASE = "pgaudit-log-none-by-alter-database"
# The ways a source is made silent; reconciliation finds each as the drift of DETECTED_AS.
SILENCING: dict[str, Callable[[World, Source], None]] = {
    ALTER_DATABASE: _pgaudit_log_none,
    "log-export-off": _log_export_off,
    "subscription-filter-removed": _filter_removed,
    "destination-policy-removed": _destination_policy_removed,
    "stopped-writing-audit-lines": _stopped_writing,
}
DETECTED_AS = {
    ALTER_DATABASE: "pgaudit-override",
    "log-export-off": "log-export-off",
    "subscription-filter-removed": "subscription-filter-missing",
    "destination-policy-removed": "destination-policy",
    "stopped-writing-audit-lines": "silent",
}
POSTGRES_BACKED = 5  # sources with a real PostgreSQL server each (ALTER DATABASE needs one): bounded by this machine


def silencing_plan(count: int, postgres_backed: int) -> list[str]:
    """The way each of `count` silenced sources is made silent, in turn; ALTER DATABASE for at most
    `postgres_backed` of them (the others take the next way)."""
    plan: list[str] = []
    ways = list(SILENCING)
    turn = 0
    while len(plan) < count:
        way = ways[turn % len(ways)]
        turn += 1
        if way == ALTER_DATABASE and plan.count(ALTER_DATABASE) >= postgres_backed:
            continue
        plan.append(way)
    return plan


def _database_user_and_extension(world: World, source: Source) -> dict[str, Any]:
    """As onboarding leaves a cluster with the owner's database user (docs/deploy.md, step 4): the pgaudit extension
    created with it, rds_superuser then revoked (docs/security.md); the registry's `extension`, as DynamoDB holds it."""
    from pgaudit_archiver.steps.extension import CREATE_SQL  # noqa: PLC0415

    secret_arn = world.client("secretsmanager", source.account_id).describe_secret(
        SecretId=f"pgaudit-archiver/{source.cluster_id}/{DATABASE_USER}"
    )["ARN"]
    world.sql(source.cluster_id, CREATE_SQL, account=source.account_id)
    world.sql(source.cluster_id, f"REVOKE rds_superuser FROM {DATABASE_USER}", account=source.account_id)
    extension = {"status": "created", "database": "appdb", "secret_arn": secret_arn, "secret_found_by": "tag"}
    return {"M": {key: {"S": value} for key, value in extension.items()}}


def seed_real_sources(
    world: World, accounts: tuple[str, ...], count: int, postgres_backed: frozenset[int] = frozenset()
) -> list[Source]:
    """K sources as onboarding leaves them; those whose index is in `postgres_backed` with a real PostgreSQL (the
    world's) behind the cluster, the owner's database user and the extension, the others with none."""
    # The product's modules, imported once the world has imported them under a function's environment.
    from pgaudit_archiver.aws.firehose import ArchiveFirehose  # noqa: PLC0415
    from pgaudit_archiver.aws.iam import ArchiveIam  # noqa: PLC0415
    from pgaudit_archiver.aws.logs import ArchiveLogs, SourceLogs  # noqa: PLC0415
    from pgaudit_archiver.aws.role_holders import RoleHolders  # noqa: PLC0415
    from pgaudit_archiver.models import Source  # noqa: PLC0415
    from pgaudit_archiver.naming import SUBSCRIPTION_FILTER_NAME, log_group_name  # noqa: PLC0415
    from pgaudit_archiver.steps.check_cadence import FULL_CHECK_FIELD  # noqa: PLC0415
    from pgaudit_archiver.steps.delivery_stream import ensure_delivery_stream  # noqa: PLC0415
    from pgaudit_archiver.steps.destination import ensure_destination  # noqa: PLC0415
    from pgaudit_archiver.steps.destination_role import ensure_destination_role  # noqa: PLC0415

    settings = stack_settings(world)
    request_defaults = {"pgaudit_log": settings.default_pgaudit_log, "filter_pattern": settings.default_filter_pattern}
    archive = _Session(world)
    firehose, iam, logs = ArchiveFirehose(archive), ArchiveIam(archive), ArchiveLogs(archive)  # type: ignore[arg-type]
    holders = RoleHolders(archive, world.resources["RateBudgetTable"])  # type: ignore[arg-type]
    registry, checked_at = world.client("dynamodb"), (datetime.now(tz=UTC) - timedelta(hours=1))
    onboarded_at = (checked_at - timedelta(days=30)).isoformat(timespec="seconds")
    # Recorded by the transform at most every 30 minutes (steps/liveness.py): a delivering source's is that recent.
    delivered_at = (checked_at + timedelta(minutes=50)).isoformat(timespec="seconds")
    groups: set[str] = set()
    sources = []
    for index in range(count):
        account = accounts[index % len(accounts)]
        source = Source(account_id=account, region=world.region, cluster_id=f"real-{index:05d}")
        group = f"pgaudit-fleet-{account}"
        if group not in groups:  # pgaudit preloaded, the default classes: as Configure Parameter Group leaves it
            rds = world.client("rds", account)
            rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=group, Description="fleet",
                                                  DBParameterGroupFamily="aurora-postgresql15")  # fmt: skip
            preload = {"ParameterName": "shared_preload_libraries", "ParameterValue": "pgaudit",
                       "ApplyMethod": "pending-reboot"}  # fmt: skip
            classes = {"ParameterName": "pgaudit.log", "ParameterValue": settings.default_pgaudit_log,
                       "ApplyMethod": "immediate"}  # fmt: skip
            rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=group, Parameters=[preload, classes])
            groups.add(group)
        backed = index in postgres_backed and world.postgres is not None
        world.create_cluster(source.cluster_id, account=account, instances=1, parameter_group=group,
                             exports=("postgresql",), database_user=backed, real_postgres=backed)  # fmt: skip
        stream_arn = ensure_delivery_stream(firehose, settings, source, 0).resources["delivery_stream_arn"]
        role_arn = ensure_destination_role(iam, holders, settings, source, stream_arn).resources["destination_role_arn"]
        destination = ensure_destination(logs, settings, source, stream_arn, role_arn, False)
        SourceLogs(_Session(world, account)).put_subscription_filter(  # type: ignore[arg-type]
            log_group_name(source.cluster_id), SUBSCRIPTION_FILTER_NAME, settings.default_filter_pattern,
            destination.resources["destination_arn"],
        )  # fmt: skip
        request = {"account_id": account, "region": world.region, "cluster_id": source.cluster_id, **request_defaults}
        verification = {"drift": {"L": []}, FULL_CHECK_FIELD: {"S": checked_at.isoformat(timespec="seconds")}}
        registry.put_item(TableName=world.resources["RegistryTable"], Item={
            "source_id": {"S": f"{account}#{world.region}#{source.cluster_id}"}, "account_id": {"S": account},
            "region": {"S": world.region}, "cluster_id": {"S": source.cluster_id}, "status": {"S": "active"},
            "request": {"M": {key: {"S": value} for key, value in request.items()}},
            "last_verification": {"M": verification}, "created_at": {"S": onboarded_at},
            "last_delivery": {"S": delivered_at},
            **({"extension": _database_user_and_extension(world, source)} if backed else {}),
        })  # fmt: skip
        sources.append(source)
    return sources


def rate_bound(calls: Counter[tuple[str, str, str]], checked: int, accounts: int, budgets: dict[str, float],
               archive_account: str) -> dict[str, Any]:  # fmt: skip
    """Calls per source and the seconds each rate limit binds a run of AT_SCALE sources to (module docstring)."""
    per_limit: Counter[tuple[str, str, bool]] = Counter()
    for (account, service, operation), count in calls.items():
        found = limit_of(service, operation.removesuffix("(read-only)"))
        if found is not None:
            per_limit[(found[0].name, found[1] or service, account == archive_account)] += count
    busiest_share = AT_SCALE / max(accounts, 1)  # sources are spread round-robin over the accounts
    bounds = {}
    for (name, scope, in_archive), count in per_limit.items():
        per_source = count / max(checked, 1)
        sources = AT_SCALE if in_archive else busiest_share
        budget = budgets.get(name, 0.0)
        bounds[f"{name} ({scope}, {'archive' if in_archive else 'each source'} account)"] = {
            "calls_per_source": round(per_source, 3),
            "budget_per_second": budget,
            "seconds_at_10000": round(per_source * sources / budget, 1),
        }
    return bounds


def run_real_sources(
    accounts: tuple[str, ...], real_sources: int, silent: int, postgres_backed: int = POSTGRES_BACKED
) -> dict[str, Any]:
    """K real sources and S silent ones, one reconciliation; the figures of issue 21 part 4."""
    postgres_missing = postgres_available() if postgres_backed else "no source was to have one"
    plan = silencing_plan(min(silent, real_sources), 0 if postgres_missing else postgres_backed)
    backed = frozenset(index for index, way in enumerate(plan) if way == ALTER_DATABASE)
    # More streams than Firehose's default quota (5,000 a Region, adjustable: Amazon Data Firehose quotas) is a
    # deployment whose quota was raised in Service Quotas, and whose FirehoseStreamsQuota parameter says so.
    streams_quota = max(FIREHOSE_STREAMS_PER_REGION, real_sources)
    with (
        World(
            source_accounts=accounts, postgres=bool(backed), parameters={"FirehoseStreamsQuota": streams_quota}
        ) as world,
        mock.patch.object(DeliveryStream, "MAX_STREAMS_PER_REGION", streams_quota),
    ):
        world.limits.enabled = False  # seeded directly, not through the rate limits
        started = time.perf_counter()
        sources = seed_real_sources(world, accounts, real_sources, backed)
        silenced = dict(zip(sources, plan, strict=False))
        for source, way in silenced.items():
            SILENCING[way](world, source)
        world.flush_logs()  # what the real databases wrote so far reaches the archive before the run is counted
        seed_seconds = time.perf_counter() - started
        world.limits.enabled = True
        world.lambdas.functions[world.resources["VerifySourcesFunction"]].environment["AUTO_REPAIR"] = "false"
        mark = world.calls.mark()
        started = time.perf_counter()
        execution = world.reconcile(timeout=24 * 3600)
        wall = time.perf_counter() - started
        if execution.status != "SUCCEEDED":
            raise RuntimeError(f"reconciliation {execution.status}: {execution.error}: {execution.cause}")
        output = execution.output or {}
        calls = Counter(world.calls.calls[mark:])
        verify_environment = world.lambdas.functions[world.resources["VerifySourcesFunction"]].environment
        budgets = {
            "firehose control plane": float(verify_environment["FIREHOSE_CALLS_PER_SECOND"]),
            "rds api": 12.0, "logs mutating": 5.0, "iam mutating": 10.0,
        }  # fmt: skip
        checked = int(output.get("checked") or 0)
        bounds = rate_bound(calls, checked, len(accounts), budgets, world.archive_account)
        detected: Counter[str] = Counter()
        drifted_not_silenced = 0
        for source in sources:
            item = world.registry_item(source.cluster_id, account=source.account_id) or {}
            kinds = {entry["kind"] for entry in (item.get("last_verification") or {}).get("drift_details") or []}
            if source not in silenced:
                drifted_not_silenced += bool(kinds)
            elif DETECTED_AS[silenced[source]] in kinds:
                detected[silenced[source]] += 1
        roles = world.client("iam").list_roles(PathPrefix="/pgaudit-archiver/", MaxItems=1000)["Roles"]
        archive_calls = sum(n for (account, _, _), n in calls.items() if account == world.archive_account)
        return {
            "reconcile_real": {
                "registered": output.get("registered"),
                "checked": checked,
                "calls_per_source": round(sum(calls.values()) / max(checked, 1), 2),
                "archive_calls_per_source": round(archive_calls / max(checked, 1), 2),
                "calls_by_operation": dict(
                    sorted(Counter(f"{s}:{o}" for (_, s, o) in world.calls.calls[mark:]).items())
                ),
                "rate_bound_by_limit": bounds,
                "rate_bound_seconds_at_10000": max((b["seconds_at_10000"] for b in bounds.values()), default=0.0),
                "target_seconds": 1800,
                "firehose_streams_quota": streams_quota,
                "seed_wall_seconds": round(seed_seconds, 1),
                "wall_seconds": round(wall, 1),
            },
            "silent": {
                "seeded": len(silenced),
                "detected": sum(detected.values()),
                "seeded_by_way": dict(Counter(silenced.values())),
                "detected_by_way": dict(detected),
                "detected_as": {way: DETECTED_AS[way] for way in SILENCING},
                "postgres_backed_sources": len(backed),
                "alter_database_not_seeded": postgres_missing if not backed and silent else None,
                "drifted_not_silenced": drifted_not_silenced,
            },
            "iam_roles_used": len([r for r in roles if r["RoleName"].startswith("pgaudit-dest-")]),
        }
