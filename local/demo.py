"""`make demo`: the real onboarding workflow on the emulated archive and source accounts, told step by step."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO
from unittest import mock
from urllib.parse import quote

from local.world import DATABASE_USER, SOURCE_ACCOUNT, Execution, World
from pgaudit_archiver.models import Source
from pgaudit_archiver.naming import log_group_name
from pgaudit_archiver.steps.delivery_stream import archive_prefix
from pgaudit_archiver.steps.register import console_url

CLUSTER = "orders-db"
APP_STATEMENTS = [  # (user, statement): what an application and an administrator do after onboarding
    ("app", "CREATE TABLE shop.orders (id int PRIMARY KEY, customer text, total numeric(10, 2))"),
    ("app", "INSERT INTO shop.orders VALUES (1, 'Ada, Lovelace', 42.00), (2, 'Zoë \"Z\" Ortiz', 7.50)"),
    ("app", "SELECT customer, total\nFROM shop.orders\nWHERE total > 10"),
    ("postgres", "CREATE ROLE auditor LOGIN PASSWORD 'not-this-one'"),
    ("postgres", "GRANT SELECT ON shop.orders TO auditor"),
]
# The demo's own look at the database after onboarding (step 5): audited like any other statement, so its record
# in the archive is labelled as the demo's, not shown as the application's.
DEMO_LOOK = "SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'"
REQUEST_OPTIONS = {"reboot": "immediate", "pgaudit_log": "ddl,role,write,read", "canary": True}
ARCHIVE_WAIT_SECONDS = 20
TITLES = 10  # the story's parts, each a Story.title


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


@dataclass
class StateCalls:
    """The accounts each state's AWS calls went to, measured while the demo runs.

    world.calls records (account, service, operation) but not the state: every Task passes its state's name in
    its payload (`"state.$": "$$.State.Name"`), and a handler's AWS calls are recorded in the thread that runs it.
    """

    calls: list[tuple[str, str]] = field(default_factory=list)  # (state, account)
    _running: threading.local = field(default_factory=threading.local)

    @contextmanager
    def observing(self, world: World) -> Iterator[StateCalls]:
        invoke, record = world.lambdas.call, world.calls.record

        def call(name_or_arn: str, event: Any) -> tuple[Any, bool]:
            self._running.state = event.get("state") if isinstance(event, dict) else None
            try:
                return invoke(name_or_arn, event)
            finally:
                self._running.state = None

        def recorded(account: str, service: str, operation: str) -> None:
            state = getattr(self._running, "state", None)
            if state:
                self.calls.append((state, account))
            record(account, service, operation)

        with mock.patch.object(world.lambdas, "call", call), mock.patch.object(world.calls, "record", recorded):
            yield self

    def mark(self) -> int:
        return len(self.calls)

    def account_of_states(self, world: World, since: int = 0) -> dict[str, str]:
        """Per state that made AWS calls: the source account if any call reached it (the archive's STS AssumeRole
        is only the way in), else the archive account."""
        accounts: dict[str, str] = {}
        for state, account in self.calls[since:]:
            if accounts.get(state) in world.source_accounts:
                continue
            accounts[state] = account
        return accounts


def _with_accounts(execution: Execution, world: World, accounts: dict[str, str]) -> None:
    """Each state gets the account it acts in; a state without AWS calls (Choice, Wait, Pass, or a Task that only
    computes) runs in the archive account, where the state machine and its functions are."""
    for state in execution.states:
        state["account"] = accounts.get(state["name"], world.archive_account)


def _account_label(world: World, account: str) -> str:
    return f"{'source' if account in world.source_accounts else 'archive'} {account}"


def _states_table(world: World, execution: Execution) -> list[str]:
    rows = [f"  {'State':<32} {'Type':<8} {'Account':<21} {'Status':<13} {'Duration':>9}"]
    rows += [
        f"  {s['name']:<32} {s['type']:<8} {_account_label(world, s['account']):<21} {s['status']:<13} "
        f"{s['duration_ms']:>6} ms"
        for s in execution.states
    ]
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
    """What the cluster's owner does before onboarding (docs/deploy.md, steps 3 and 4)."""
    story.title("The cluster's owner consents: the archive may change only what is tagged (docs/deploy.md, step 3)")
    world.grant_consent(CLUSTER)
    story.say(
        f"  aws rds add-tags-to-resource --resource-name {cluster['DBClusterArn']} "
        "--tags Key=pgaudit-archiver,Value=enabled   (and each instance)"
    )
    story.say(
        f"  aws logs create-log-group --log-group-name /aws/rds/cluster/{CLUSTER}/postgresql "
        "--tags pgaudit-archiver=enabled"
    )

    story.title("The cluster's owner creates a database user for pgaudit-archiver (docs/deploy.md, step 4)")
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
        execution, first_calls = _first_onboarding(world, story, request)
        secret_reads = [arn for _, arn in world.calls.secret_reads]
        if execution.status != "SUCCEEDED":
            where = _where_to_look(world, execution, [])
            return _finish(as_json, world, execution, first_calls, [], None, None, story, started, {}, secret_reads,
                           where)  # fmt: skip

        story.title("What the execution created and changed")
        _show_changes(world, story, execution, first_calls)

        story.title(f"Statements on {CLUSTER} (database appdb)")
        for user, statement in APP_STATEMENTS:
            world.sql(CLUSTER, statement, user=user)
            story.say(f"  {user:>8}> " + statement.replace("\n", " "))

        story.title("Delivery canary: reconciliation checks the pipeline and times a marked SELECT end to end")
        canary = _run_canary(world, story)

        story.title("Audit records in the archive bucket")
        records = _labelled(_wait_for_records(world, story))
        _show_records(world, story, records)

        story.title("The same onboarding again (idempotent)")
        mark = world.calls.mark()
        rerun = _run_onboarding(world, story, request)
        rerun_calls = _calls(world, mark)
        story.say(f"  status {rerun.status}, changes: {rerun.output['changes'] if rerun.output else None}")
        _show_calls(story, rerun_calls)

        story.title("Where to look on AWS (the same names and links in a real deployment of this stack)")
        where = _where_to_look(world, execution, records)
        _show_where(story, where)

        secret_reads = [arn for _, arn in world.calls.secret_reads]
        return _finish(as_json, world, execution, first_calls, records, rerun, rerun_calls, story, started, canary,
                       secret_reads, where)  # fmt: skip


def _first_onboarding(
    world: World, story: Story, request: dict[str, Any]
) -> tuple[Execution, dict[str, dict[str, int]]]:
    """The onboarding, its AWS calls per account, and its states table with the account each state acts in."""
    state_calls = StateCalls()
    with state_calls.observing(world):
        mark = world.calls.mark()
        execution = _run_onboarding(world, story, request)
    _with_accounts(execution, world, state_calls.account_of_states(world))
    for row in _states_table(world, execution):
        story.say(row)
    story.say("  Account: where the state's AWS calls went (every function runs in the archive account and reaches the")
    story.say("  source through the source account's role; a state without calls runs in the state machine)")
    story.say(f"  status {execution.status}" + (f": {execution.error}: {execution.cause}" if execution.error else ""))
    return execution, _calls(world, mark)


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
    version = world.sql(CLUSTER, DEMO_LOOK)
    preload = world.sql(CLUSTER, "SHOW shared_preload_libraries")[0][0]
    story.say(f"  on the database: shared_preload_libraries = {preload}; pgaudit extension {version[0][0]}")


def _issuer(record: dict[str, Any]) -> str:
    """Who ran the audited statement: the archive itself (its database user, through the Data API: the extension
    check, the canary), this demo's own look at the database, or the application."""
    if record.get("user") == DATABASE_USER:
        return "archive"
    if record.get("statement") == DEMO_LOOK:
        return "demo"
    return "application"


def _labelled(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**record, "by_archive": _issuer(record) == "archive", "by_demo": _issuer(record) == "demo"}
            for record in records]  # fmt: skip


def _show_records(world: World, story: Story, records: list[dict[str, Any]]) -> None:
    bucket = world.resources["ArchiveBucket"]
    for key in sorted({record["_key"] for record in records}):
        story.say(f"  s3://{bucket}/{key}")
    story.say(f"  {'time':<12} {'by':<11} {'user':<16} {'class':<6} {'command':<13} {'object':<18} statement")
    for record in records:
        statement = record["statement"].replace("\n", " ")
        story.say(
            f"  {record['event_time'][11:23]:<12} {_issuer(record):<11} {record['user']:<16} {record['class']:<6} "
            f"{record['command']:<13} {record['object_name'] or '':<18} {statement}"
        )
    story.say(
        f"  by archive: the archive's own checks, as the owner's database user {DATABASE_USER} (never the master "
        "user); by demo: this demo's look in step 5"
    )
    application = [record for record in records if _issuer(record) == "application"]
    if application:
        story.say("  one application record in full:")
        story.say("  " + json.dumps({k: v for k, v in application[-1].items() if k != "_key"}, ensure_ascii=False))


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
    """Whether the application's statement has its record (the archive's and the demo's own do not count)."""
    first_line = statement.split("\n", 1)[0]
    return any(first_line[:24] in record["statement"] for record in records if _issuer(record) == "application")


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


def _log_group_console_url(region: str, name: str) -> str:
    # The CloudWatch console's fragment encodes a log group name twice, with "$" in place of "%".
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
        + quote(quote(name, safe=""), safe="").replace("%", "$")
    )


def _where_to_look(world: World, execution: Execution, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Where each part of this onboarding is on AWS, named as this stack names it (template.yaml) and as the
    product records it (the registry item's console_url)."""
    region, template = world.region, world.template["Resources"]
    source = Source(account_id=SOURCE_ACCOUNT, region=region, cluster_id=CLUSTER)
    bucket, prefix = world.resources["ArchiveBucket"], archive_prefix(source)
    workflow_log_group = world._resolve(template["OnboardStateMachineLogGroup"]["Properties"]["LogGroupName"])
    workgroup = world._resolve(template["ArchiveWorkGroup"]["Properties"]["Name"])
    database = world.parameters["GlueDatabaseName"]
    registry_table = world.resources["RegistryTable"]
    registry_key = {"source_id": {"S": f"{SOURCE_ACCOUNT}#{region}#{CLUSTER}"}}
    dates = sorted({record["event_time"][:10] for record in records}) or [time.strftime("%Y-%m-%d", time.gmtime())]
    # The application's activity, without the archive's own checks (db_user: see the table's SerDe mapping).
    query = (
        f"SELECT event_time, db_user, class, command, object_name, statement FROM {database}.records "
        f"WHERE account = '{SOURCE_ACCOUNT}' AND region = '{region}' AND cluster = '{CLUSTER}' "
        f"AND event_date BETWEEN '{dates[0]}' AND '{dates[-1]}' AND db_user <> '{DATABASE_USER}' ORDER BY event_time"
    )
    return {
        "execution": {
            "account": world.archive_account,
            "arn": execution.arn,
            "console_url": console_url(execution.arn),  # the link the product keeps in the registry item
        },
        "log_groups": {
            "audit": {
                "account": SOURCE_ACCOUNT,
                "name": log_group_name(CLUSTER),
                "console_url": _log_group_console_url(region, log_group_name(CLUSTER)),
            },
            "workflow": {
                "account": world.archive_account,
                "name": workflow_log_group,
                "console_url": _log_group_console_url(region, workflow_log_group),
            },
        },
        "archive": {
            "account": world.archive_account,
            "prefix": f"s3://{bucket}/{prefix}",
            "console_url": f"https://s3.console.aws.amazon.com/s3/buckets/{bucket}?region={region}"
            f"&prefix={quote(prefix, safe='')}",
        },
        "athena": {
            "account": world.archive_account,
            "workgroup": workgroup,
            "table": f"{database}.records",
            "query": query,
            "console_url": f"https://{region}.console.aws.amazon.com/athena/home?region={region}#/query-editor",
            "command": f"aws athena start-query-execution --work-group {workgroup} "
            f'--query-execution-context Database={database} --query-string "{query}"',
        },
        "registry_item": {
            "account": world.archive_account,
            "table": registry_table,
            "key": registry_key,
            "command": f"aws dynamodb get-item --table-name {registry_table} --key '{json.dumps(registry_key)}'",
        },
    }


def _show_where(story: Story, where: dict[str, Any]) -> None:
    execution, logs = where["execution"], where["log_groups"]
    archive, athena, registry = where["archive"], where["athena"], where["registry_item"]
    story.say(f"  the execution (account {execution['account']}): {execution['console_url']}")
    for label, group in (("pgaudit lines", logs["audit"]), ("workflow log", logs["workflow"])):
        story.say(f"  {label} (account {group['account']}): log group {group['name']}")
        story.say(f"    {group['console_url']}")
    story.say(f"  the archive (account {archive['account']}): {archive['prefix']}")
    story.say(f"    {archive['console_url']}")
    story.say(f"  Athena (account {athena['account']}): workgroup {athena['workgroup']}, table {athena['table']}")
    story.say(f"    {athena['query']}")
    story.say(f"  the registry item (account {registry['account']}): {registry['command']}")


def _finish(
    as_json: bool,
    world: World,
    execution: Execution,
    calls: dict[str, Any],
    records: list[dict[str, Any]],
    rerun: Execution | None,
    rerun_calls: dict[str, Any] | None,
    story: Story,
    started: float,
    canary: dict[str, Any],
    secret_reads: list[str],
    where_to_look: dict[str, Any],
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
            "accounts": {"archive": world.archive_account, "source": SOURCE_ACCOUNT},
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
            "where_to_look": where_to_look,
        }
        print(json.dumps(document, indent=2, default=str, ensure_ascii=False))
    else:
        story.say(f"\n{'Done' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s.")
    return 0 if ok else 1
