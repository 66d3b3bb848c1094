"""`make demo`: the real onboarding workflow on the emulated archive and source accounts, told step by step."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from local.world import DATABASE_USER, SOURCE_ACCOUNT, Execution, World

CLUSTER = "orders-db"
APP_STATEMENTS = [  # (user, statement): what an application and an administrator do after onboarding
    ("app", "CREATE TABLE shop.orders (id int PRIMARY KEY, customer text, total numeric(10, 2))"),
    ("app", "INSERT INTO shop.orders VALUES (1, 'Ada, Lovelace', 42.00), (2, 'Zoë \"Z\" Ortiz', 7.50)"),
    ("app", "SELECT customer, total\nFROM shop.orders\nWHERE total > 10"),
    ("postgres", "CREATE ROLE auditor LOGIN PASSWORD 'not-this-one'"),
    ("postgres", "GRANT SELECT ON shop.orders TO auditor"),
]
REQUEST_OPTIONS = {"reboot": "immediate", "pgaudit_log": "ddl,role,write,read", "canary": True}
ARCHIVE_WAIT_SECONDS = 20
TITLES = 8  # the story's parts, each a Story.title


class Story:
    """Prints the demo for a person (or nothing, with --json)."""

    def __init__(self, out: TextIO | None) -> None:
        self.out = out
        self.step = 0

    def title(self, text: str) -> None:
        self.step += 1
        self.say(f"\n[{self.step}/{TITLES}] {text}")

    def say(self, text: str = "") -> None:
        if self.out:
            print(text, file=self.out, flush=True)

    @contextmanager
    def progress(self, label: str, current: Any = None) -> Iterator[None]:
        """A spinner with the current activity while something runs (terminal only)."""
        if not self.out or not self.out.isatty():
            yield
            return
        done = threading.Event()

        def spin() -> None:
            frames, index = "|/-\\", 0
            while not done.wait(0.1):
                detail = current() if current else ""
                self.out.write(f"\r  {frames[index % 4]} {label} {detail}".ljust(78)[:78])  # type: ignore[union-attr]
                self.out.flush()  # type: ignore[union-attr]
                index += 1
            self.out.write("\r" + " " * 78 + "\r")  # type: ignore[union-attr]

        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        try:
            yield
        finally:
            done.set()
            spinner.join()


def _states_table(execution: Execution) -> list[str]:
    rows = [f"  {'State':<32} {'Type':<8} {'Status':<13} {'Duration':>9}"]
    rows += [f"  {s['name']:<32} {s['type']:<8} {s['status']:<13} {s['duration_ms']:>6} ms" for s in execution.states]
    return rows


def _calls(world: World, since: int) -> dict[str, dict[str, int]]:
    summary = world.calls.summary(since)
    names = {world.archive_account: "archive", SOURCE_ACCOUNT: "source"}
    return {
        names.get(account, account): summary.get(account, {"mutating": 0, "read": 0, "bookkeeping": 0})
        for account in (world.archive_account, SOURCE_ACCOUNT)
    }


def _run_onboarding(world: World, story: Story, request: dict[str, Any]) -> Execution:
    arn = world.start_onboarding(request)
    story.say(f"  execution {arn.rsplit(':', 1)[1]}")
    latest: list[str] = [""]

    def current() -> str:
        try:
            states = world.states_of(arn)
        except Exception:
            return latest[0]
        latest[0] = states[-1]["name"] if states else ""
        return latest[0]

    with story.progress("running", current):
        return world.wait(arn, timeout=300)


def _owner_prepares(story: Story, world: World, cluster: dict[str, Any]) -> None:
    """What the cluster's owner does before onboarding (README: Deploy, steps 3 and 4)."""
    story.title("The cluster's owner consents: the archive may change only what is tagged (README: Deploy, step 3)")
    world.grant_consent(CLUSTER)
    story.say(
        f"  aws rds add-tags-to-resource --resource-name {cluster['DBClusterArn']} "
        "--tags Key=pgaudit-archiver,Value=enabled   (and each instance)"
    )
    story.say(
        f"  aws logs create-log-group --log-group-name /aws/rds/cluster/{CLUSTER}/postgresql "
        "--tags pgaudit-archiver=enabled"
    )

    story.title("The cluster's owner creates a database user for pgaudit-archiver (README: Deploy, step 4)")
    secret_arn = world.create_database_user(CLUSTER, user=DATABASE_USER)
    story.say(f"  postgres> CREATE ROLE {DATABASE_USER} WITH LOGIN PASSWORD '...'")
    story.say(f"  postgres> GRANT rds_superuser TO {DATABASE_USER}")
    story.say(f"  secret {secret_arn}")
    story.say(f"    tagged pgaudit-archiver:database-user=true, pgaudit-archiver:cluster={CLUSTER}")


def run_demo(as_json: bool) -> int:
    story = Story(None if as_json else sys.stdout)
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # the interpreter logs caught task errors
    started = time.monotonic()
    story.say("pgaudit-archiver demo: onboarding an Aurora PostgreSQL cluster on the local emulation")
    story.say("  archive account 123456789012 and source account 111122223333 (moto + AWS-fidelity extensions),")
    story.say("  the state machine from statemachine/onboard.asl.json, the real handlers, a real PostgreSQL + pgaudit")

    with World(postgres=True) as world:
        story.title(f"Source account {SOURCE_ACCOUNT}: an Aurora PostgreSQL cluster, {CLUSTER}, with 2 instances")
        with story.progress("starting PostgreSQL 15"):
            cluster = world.create_cluster(CLUSTER, instances=2, database_user=False, consent=False)
            world.sql(CLUSTER, "CREATE ROLE app LOGIN")
            world.sql(CLUSTER, "CREATE SCHEMA shop AUTHORIZATION app")
        preload = world.sql(CLUSTER, "SHOW shared_preload_libraries")[0][0]
        story.say(f"  parameter group {cluster['DBClusterParameterGroup']}, shared_preload_libraries = {preload}")
        story.say(f"  log exports: {cluster.get('EnabledCloudwatchLogsExports') or 'none'}; pgaudit: not loaded")
        story.say(f"  master user secret (managed by RDS): {cluster['MasterUserSecret']['SecretArn']}, never read")

        _owner_prepares(story, world, cluster)

        story.title("Archive account: the onboarding execution, as the Step Functions console shows it")
        request = world.request(CLUSTER, **REQUEST_OPTIONS)
        story.say(f"  input {json.dumps(request)}")
        mark = world.calls.mark()
        execution = _run_onboarding(world, story, request)
        first_calls = _calls(world, mark)
        secret_reads = [arn for _, arn in world.calls.secret_reads]
        for row in _states_table(execution):
            story.say(row)
        story.say(
            f"  status {execution.status}" + (f": {execution.error}: {execution.cause}" if execution.error else "")
        )
        if execution.status != "SUCCEEDED":
            return _finish(as_json, execution, first_calls, [], None, None, story, started, {}, secret_reads)

        story.title("What the execution created and changed")
        _show_changes(world, story, execution, first_calls)

        story.title(f"Statements on {CLUSTER} (database appdb)")
        for user, statement in APP_STATEMENTS:
            world.sql(CLUSTER, statement, user=user)
            story.say(f"  {user:>8}> " + statement.replace("\n", " "))

        story.title("Audit records in the archive bucket")
        records = _wait_for_records(world, story)
        _show_records(world, story, records)

        story.title("Delivery canary: reconciliation checks the pipeline and times a marked SELECT end to end")
        canary = _run_canary(world, story)

        story.title("The same onboarding again (idempotent)")
        mark = world.calls.mark()
        rerun = _run_onboarding(world, story, request)
        rerun_calls = _calls(world, mark)
        story.say(f"  status {rerun.status}, changes: {rerun.output['changes'] if rerun.output else None}")
        _show_calls(story, rerun_calls)

        secret_reads = [arn for _, arn in world.calls.secret_reads]
        return _finish(
            as_json, execution, first_calls, records, rerun, rerun_calls, story, started, canary, secret_reads
        )


def _show_calls(story: Story, calls: dict[str, dict[str, int]]) -> None:
    for account, counts in calls.items():
        story.say(
            f"  AWS calls in the {account} account: {counts['mutating']} changing, {counts['read']} read-only, "
            f"{counts['bookkeeping']} registry writes"
        )


def _show_changes(world: World, story: Story, execution: Execution, calls: dict[str, dict[str, int]]) -> None:
    for name, value in execution.output["resources"].items():
        story.say(f"  {name:<22} {value}")
    for change in execution.output["changes"]:
        story.say(f"  - {change}")
    _show_calls(story, calls)
    version = world.sql(CLUSTER, "SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'")
    preload = world.sql(CLUSTER, "SHOW shared_preload_libraries")[0][0]
    story.say(f"  on the database: shared_preload_libraries = {preload}; pgaudit extension {version[0][0]}")


def _show_records(world: World, story: Story, records: list[dict[str, Any]]) -> None:
    bucket = world.resources["ArchiveBucket"]
    for key in sorted({record["_key"] for record in records}):
        story.say(f"  s3://{bucket}/{key}")
    story.say(f"  {'time':<12} {'user':<9} {'class':<6} {'command':<13} {'object':<18} statement")
    for record in records:
        statement = record["statement"].replace("\n", " ")
        story.say(
            f"  {record['event_time'][11:23]:<12} {record['user']:<9} {record['class']:<6} {record['command']:<13} "
            f"{record['object_name'] or '':<18} {statement}"
        )
    if records:
        story.say("  one record in full:")
        story.say("  " + json.dumps({k: v for k, v in records[-1].items() if k != "_key"}, ensure_ascii=False))


def _run_canary(world: World, story: Story) -> dict[str, Any]:
    with story.progress("reconciling"):
        reconciliation = world.reconcile(CLUSTER)
        world.flush_logs()
    canary = (world.registry_item(CLUSTER) or {}).get("canary") or {}
    run = reconciliation.output or {}
    story.say(
        f"  reconciliation {reconciliation.status}: {run.get('checked')} of {run.get('registered')} source checked, "
        f"{run.get('drifted')} drifted, coverage {run.get('coverage')}%"
    )
    if canary.get("arrived_at"):
        story.say(
            f"  canary {canary['id']} sent {canary['sent_at']}, in the archive {canary['arrived_at']}: "
            f"{canary['delay_seconds']:.3f} s end to end"
        )
    else:
        story.say(f"  canary not arrived: {canary or 'not sent'}")
    return canary


def _audited(statement: str, records: list[dict[str, Any]]) -> bool:
    first_line = statement.split("\n", 1)[0]
    return any(first_line[:24] in record["statement"] for record in records)


def _wait_for_records(world: World, story: Story) -> list[dict[str, Any]]:
    """The archived audit records, once each statement the demo ran has one (or the wait is over)."""
    deadline = time.monotonic() + ARCHIVE_WAIT_SECONDS
    with story.progress("waiting for the audit lines: PostgreSQL log -> CloudWatch Logs -> Firehose -> S3"):
        while True:
            world.flush_logs()
            records = [record for record in world.archived_records() if "audit_type" in record]
            if all(_audited(statement, records) for _, statement in APP_STATEMENTS) or time.monotonic() > deadline:
                return records
            time.sleep(0.2)


def _finish(
    as_json: bool,
    execution: Execution,
    calls: dict[str, Any],
    records: list[dict[str, Any]],
    rerun: Execution | None,
    rerun_calls: dict[str, Any] | None,
    story: Story,
    started: float,
    canary: dict[str, Any],
    secret_reads: list[str],
) -> int:
    extension = (execution.output or {}).get("extension") or {}
    ok = (
        execution.status == "SUCCEEDED"
        and extension.get("status") in ("created", "present")
        and bool(secret_reads)
        and not any(":secret:rds!" in arn for arn in secret_reads)  # never the master user's credentials
        and all(_audited(statement, records) for _, statement in APP_STATEMENTS)
        and rerun is not None
        and rerun.status == "SUCCEEDED"
        and all(counts["mutating"] == 0 for counts in (rerun_calls or {}).values())
        and bool(canary.get("arrived_at"))
    )
    if as_json:
        document = {
            "ok": ok,
            "execution": {
                "arn": execution.arn,
                "status": execution.status,
                "error": execution.error,
                "cause": execution.cause,
                "output": execution.output,
                "states": execution.states,
            },
            "calls": calls,
            "secret_reads": secret_reads,
            "archived_records": records,
            "canary": canary,
            "rerun": {
                "execution": {"status": rerun.status, "output": rerun.output} if rerun else None,
                "calls": rerun_calls,
            },
        }
        print(json.dumps(document, indent=2, default=str, ensure_ascii=False))
    else:
        story.say(f"\n{'Done' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s.")
    return 0 if ok else 1
