"""`python -m local fleet`: the product at fleet size on the emulation, on real time, with AWS's rate limits enforced.

M databases spread over N source accounts (Aurora PostgreSQL clusters, Multi-AZ DB clusters and RDS for PostgreSQL DB
instances, in turn; `clusters` in the figures counts them all, `by_kind` each kind) are adopted (one adoption per
account, all at once), while another tool calls Firehose's control plane in the archive account (2 calls a second by
default, one more than the product leaves it: the product meets throttling it must absorb); then every source is
reconciled; then K registered sources whose resources do not exist are seeded (each is checked and found drifted; repair
is off for that run) and everything is reconciled again. The figures say whether the product stays within Step
Functions' limits (256 KB per state payload, 25,000 events per execution history) and AWS's rate limits.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.world import ARCHIVE_ACCOUNT, AURORA_CLUSTER, DB_INSTANCE, MULTI_AZ_CLUSTER, World

PAYLOAD_LIMIT_BYTES = 256 * 1024  # Step Functions: a state's input or output
HISTORY_LIMIT_EVENTS = 25_000  # Step Functions: a standard execution's history
_PAYLOAD_FIELDS = ("input", "output")
FLEET_KINDS = (AURORA_CLUSTER, MULTI_AZ_CLUSTER, DB_INSTANCE)  # the fleet's databases take each kind in turn
ONBOARDED = ("active", "pending-reboot")


def source_accounts(count: int) -> tuple[str, ...]:
    return tuple(f"{200000000000 + index:012d}" for index in range(count))


def history_figures(world: World, execution_arn: str) -> tuple[int, int]:
    """(events in the execution's history, the largest state input or output in it, in bytes)."""
    sfn = world.client("stepfunctions")
    events, largest, token = 0, 0, None
    while True:
        page = sfn.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        for event in page["events"]:
            events += 1
            for key, details in event.items():
                if key.endswith("EventDetails") and isinstance(details, dict):
                    for field in _PAYLOAD_FIELDS:
                        if isinstance(details.get(field), str):
                            largest = max(largest, len(details[field].encode()))
        token = page.get("nextToken")
        if not token:
            return events, largest


def seed_sources(world: World, accounts: tuple[str, ...], count: int) -> None:
    """Registered sources whose clusters do not exist: a run must still check each one."""
    table = world.client("dynamodb")
    name = world.resources["RegistryTable"]
    for index in range(count):
        account = accounts[index % len(accounts)]
        cluster = f"seeded-{index:05d}"
        source_id = f"{account}#{world.region}#{cluster}"
        table.put_item(TableName=name, Item={
            "source_id": {"S": source_id}, "account_id": {"S": account}, "region": {"S": world.region},
            "cluster_id": {"S": cluster}, "status": {"S": "active"},
            "request": {"M": {"account_id": {"S": account}, "region": {"S": world.region},
                              "cluster_id": {"S": cluster}}},
        })  # fmt: skip


def create_database(world: World, index: int, account: str) -> tuple[str, str, str]:
    """The fleet's index-th database, consented, as (kind, account, source key). No database user: only an Aurora
    cluster's would be used (the Data API), and no PostgreSQL runs behind a fleet's databases."""
    kind, name = FLEET_KINDS[index % len(FLEET_KINDS)], f"fleet-{index:04d}"
    if kind == AURORA_CLUSTER:
        world.create_cluster(name, account=account, instances=1)
    elif kind == MULTI_AZ_CLUSTER:
        world.create_multi_az_cluster(name, account=account, database_user=False)
    else:
        world.create_instance(name, account=account, database_user=False)
        return kind, account, f"instance--{name}"
    return kind, account, name


def by_kind(world: World, databases: list[tuple[str, str, str]]) -> dict[str, dict[str, int]]:
    """Per kind: databases, adopted (an onboarding started: in the registry), onboarded, skipped (not started)."""
    counts = {kind: {"databases": 0, "adopted": 0, "onboarded": 0, "skipped": 0} for kind in FLEET_KINDS}
    for kind, account, key in databases:
        item = world.registry_item(key, account=account)
        counts[kind]["databases"] += 1
        counts[kind]["adopted" if item else "skipped"] += 1
        counts[kind]["onboarded"] += bool(item and item.get("status") in ONBOARDED)
    return counts


def reconcile_figures(world: World) -> dict[str, Any]:
    started = time.perf_counter()
    execution = world.reconcile(timeout=3600)
    wall = time.perf_counter() - started
    if execution.status != "SUCCEEDED":
        raise RuntimeError(f"reconciliation {execution.status}: {execution.error}: {execution.cause}")
    events, largest = history_figures(world, execution.arn)
    output = execution.output or {}
    return {
        "registered": output.get("registered"),
        "checked": output.get("checked"),
        "drifted": output.get("drifted"),
        "unverified": output.get("unverified"),
        "coverage": output.get("coverage"),
        "max_state_payload_bytes": largest,
        "max_history_events": events,
        "wall_seconds": round(wall, 1),
    }


class OutsideTraffic:
    """Another tool's Firehose control-plane calls in the archive account (a console, an IaC plan, a monitoring
    script), taking tokens from the same bucket AWS meters the product's calls with: the product's budget keeps 1
    call a second of the 5 for them; more than that and the product meets ThrottlingException, and must absorb it."""

    def __init__(self, world: World, calls_per_second: float) -> None:
        self.world, self.interval = world, 1 / calls_per_second if calls_per_second else 0.0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while self.interval and not self.stopped.wait(self.interval):
            limits = self.world.limits
            limits.refusal(self.world.archive_account, self.world.region, "firehose", "DescribeDeliveryStream",
                           product=False)  # fmt: skip

    def __enter__(self) -> OutsideTraffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def run_fleet(
    accounts: int, clusters: int, reconcile_sources: int, concurrency: int = 10, outside_firehose_rps: float = 2.0
) -> dict[str, Any]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    names = source_accounts(accounts)
    parameters = {"AdoptionConcurrency": concurrency, "AutoOnboard": "all"}
    # retry_sleep_scale 1: real time, so AWS's rate limits (local/limits.py) bind as they would on AWS.
    with World(source_accounts=names, parameters=parameters, retry_sleep_scale=1.0) as world:
        databases = [create_database(world, index, names[index % accounts]) for index in range(clusters)]

        started = time.perf_counter()
        with OutsideTraffic(world, outside_firehose_rps), ThreadPoolExecutor(max_workers=accounts) as pool:
            adoptions = list(pool.map(lambda account: world.adopt(account, timeout=3600), names))
        adoption_wall = time.perf_counter() - started
        totals = [a.output["totals"] if a.output else {} for a in adoptions]
        adoption_history = [history_figures(world, a.arn) for a in adoptions]
        throttled = world.limits.throttled_calls
        result: dict[str, Any] = {
            "accounts": accounts,
            "outside_firehose_calls_per_second": outside_firehose_rps,
            "adoption": {
                "clusters": sum(t.get("clusters", 0) + t.get("instances", 0) for t in totals),  # databases
                "onboarded": sum(t.get("onboarded", 0) for t in totals),
                "failed": sum(t.get("failed", 0) for t in totals) + sum(a.status != "SUCCEEDED" for a in adoptions),
                "throttled_calls": throttled,
                "throttled_by_operation": dict(world.limits.throttled),
                "wall_seconds": round(adoption_wall, 1),
                "wall_seconds_per_cluster": round(adoption_wall / max(clusters, 1), 3),
                "max_state_payload_bytes": max((h[1] for h in adoption_history), default=0),
                "max_history_events": max((h[0] for h in adoption_history), default=0),
                "by_kind": by_kind(world, databases),
            },
            "reconcile": reconcile_figures(world),
        }

        seed_sources(world, names, reconcile_sources)
        world.lambdas.functions[world.resources["VerifySourcesFunction"]].environment["AUTO_REPAIR"] = "false"
        result["reconcile_large"] = reconcile_figures(world)
        registered = result["reconcile_large"]["registered"] or 0
        seconds = result["reconcile_large"]["wall_seconds"]
        result["reconcile_large"]["seconds_per_1000_sources"] = round(1000 * seconds / max(registered, 1), 1)
        result["throttled_calls_total"] = world.limits.throttled_calls
        result["limits"] = {
            "state_payload_bytes": PAYLOAD_LIMIT_BYTES,
            "history_events": HISTORY_LIMIT_EVENTS,
        }
        result["archive_account"] = ARCHIVE_ACCOUNT
    return result


def print_fleet(result: dict[str, Any]) -> None:
    adoption, small, large = result["adoption"], result["reconcile"], result["reconcile_large"]
    print(f"fleet: {adoption['clusters']} clusters in {result['accounts']} accounts (real time, AWS's rate limits on; "
          f"another tool's Firehose calls: {result['outside_firehose_calls_per_second']} a second)")  # fmt: skip
    print(f"  adoption:        {adoption['onboarded']} onboarded, {adoption['failed']} failed, "
          f"{adoption['throttled_calls']} throttled calls absorbed, {adoption['wall_seconds']} s "
          f"({adoption['wall_seconds_per_cluster']} s per cluster)")  # fmt: skip
    kinds = adoption["by_kind"].items()
    print("  by kind:         " + "; ".join(f"{kind} {c['onboarded']} of {c['databases']} onboarded, {c['skipped']} "
                                           "skipped" for kind, c in kinds))  # fmt: skip
    print(f"  reconciliation:  {small['checked']} of {small['registered']} checked in {small['wall_seconds']} s")
    print(f"  reconciliation:  {large['checked']} of {large['registered']} checked in {large['wall_seconds']} s "
          f"({large['seconds_per_1000_sources']} s per 1,000); largest state payload "
          f"{large['max_state_payload_bytes']} bytes of {PAYLOAD_LIMIT_BYTES}; "
          f"{large['max_history_events']} history events of {HISTORY_LIMIT_EVENTS}")  # fmt: skip


def print_real_sources(result: dict[str, Any]) -> None:
    real, silent = result["reconcile_real"], result["silent"]
    bound = real["rate_bound_seconds_at_10000"]
    print(f"  real pipelines:  {real['checked']} of {real['registered']} checked, {real['calls_per_source']} AWS calls "
          f"a source ({real['archive_calls_per_source']} in the archive account), {result['iam_roles_used']} "
          f"destination roles")  # fmt: skip
    for name, figures in real["rate_bound_by_limit"].items():
        print(f"    {name}: {figures['calls_per_source']} a source at {figures['budget_per_second']} a second "
              f"= {figures['seconds_at_10000']} s at 10,000 sources")  # fmt: skip
    verdict = "within" if bound <= real["target_seconds"] else "OVER"
    print(f"  rate_bound_seconds_at_10000: {bound} s, {verdict} the {real['target_seconds']} s target")
    print(f"  silent sources:  {silent['detected']} of {silent['seeded']} detected in this run "
          f"{silent['detected_by_way']} of {silent['seeded_by_way']}; "
          f"{silent['drifted_not_silenced']} sources not silenced drifted")  # fmt: skip
    if silent["alter_database_not_seeded"]:
        print(f"    pgaudit.log = none by ALTER DATABASE not seeded: {silent['alter_database_not_seeded']}")
    else:
        print(f"    pgaudit.log = none by ALTER DATABASE on the {silent['postgres_backed_sources']} sources with a "
              f"real PostgreSQL behind them (a server each: a bounded number, not every source)")  # fmt: skip


def main(
    accounts: int, clusters: int, reconcile_sources: int, as_json: bool, outside_rps: float = 2.0,
    real_sources: int = 0, silent: int = 0,
) -> int:  # fmt: skip
    result = run_fleet(accounts, clusters, reconcile_sources, outside_firehose_rps=outside_rps)
    if real_sources:
        from local.fleet_real import run_real_sources  # noqa: PLC0415

        result |= run_real_sources(source_accounts(accounts), real_sources, silent)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print_fleet(result)
        if real_sources:
            print_real_sources(result)
    adoption, large = result["adoption"], result["reconcile_large"]
    ok = (
        adoption["failed"] == 0
        and adoption["onboarded"] == clusters
        and result["reconcile"]["checked"] == result["reconcile"]["registered"]
        and large["checked"] == large["registered"]
        and large["max_state_payload_bytes"] < PAYLOAD_LIMIT_BYTES
        and large["max_history_events"] < HISTORY_LIMIT_EVENTS
        and (not real_sources or result["reconcile_real"]["checked"] == result["reconcile_real"]["registered"])
    )
    return 0 if ok else 1
