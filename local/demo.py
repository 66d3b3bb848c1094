"""`make demo`: the real onboarding workflow on the emulated archive and source accounts, told step by step."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO
from unittest import mock
from urllib.parse import quote

from local.world import DATABASE_USER, SOURCE_ACCOUNT, Execution, World
from pgaudit_archiver.kinds import DatabaseKind, kind_of
from pgaudit_archiver.models import Source, onboard_input
from pgaudit_archiver.naming import execution_name, log_group_name
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
ARCHIVE_WAIT_SECONDS = 60  # returns as soon as the records are there; a loaded machine (CI) may need longer
# What the demo's PostgreSQL is for each kind (World.create_*: the engine version RDS would give it).
POSTGRES_VERSION = {DatabaseKind.AURORA_CLUSTER: "15", DatabaseKind.MULTI_AZ_CLUSTER: "16",
                    DatabaseKind.DB_INSTANCE: "16"}  # fmt: skip
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


@dataclass(frozen=True)
class DemoDatabase:
    """The demo's one database, of the kind asked for, and what its owner does with it."""

    source: Source

    @property
    def kind(self) -> DatabaseKind:
        return self.source.kind

    @property
    def data_api(self) -> bool:
        return kind_of(self.kind).data_api

    @property
    def noun(self) -> str:
        return kind_of(self.kind).noun

    def sql(self, world: World, statement: str, user: str = "postgres") -> list[tuple[Any, ...]]:
        return world.sql(CLUSTER, statement, user=user, kind=self.kind)

    def create(self, world: World) -> dict[str, Any]:
        """The database as RDS describes it, before its owner consented or made a database user."""
        if self.kind is DatabaseKind.AURORA_CLUSTER:
            return world.create_cluster(CLUSTER, instances=2, database_user=False, consent=False)
        if self.kind is DatabaseKind.MULTI_AZ_CLUSTER:
            return world.create_multi_az_cluster(CLUSTER, database_user=False, consent=False)
        return world.create_instance(CLUSTER, database_user=False, consent=False)

    def described(self) -> str:
        if self.kind is DatabaseKind.AURORA_CLUSTER:
            return f"an Aurora PostgreSQL cluster, {CLUSTER}, with 2 instances"
        if self.kind is DatabaseKind.MULTI_AZ_CLUSTER:
            return f"a Multi-AZ DB cluster, {CLUSTER} (a writer and two readable standbys)"
        return f"an RDS for PostgreSQL DB instance, {CLUSTER}"

    @staticmethod
    def parameter_group(description: dict[str, Any]) -> str:
        if "DBClusterParameterGroup" in description:
            return str(description["DBClusterParameterGroup"])
        return str(description["DBParameterGroups"][0]["DBParameterGroupName"])

    @staticmethod
    def arn(description: dict[str, Any]) -> str:
        return str(description.get("DBClusterArn") or description["DBInstanceArn"])


def _run_onboarding(world: World, story: Story, request: dict[str, Any], source: Source) -> Execution:
    # Named as the API names an onboarding (naming.execution_name), whichever field names the database.
    arn = world.client("stepfunctions").start_execution(
        stateMachineArn=world.resources["OnboardStateMachine"],
        name=execution_name(source, uuid.uuid4().hex[:8]),
        input=json.dumps(request),
    )["executionArn"]
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


def _owner_prepares(story: Story, world: World, database: DemoDatabase, description: dict[str, Any]) -> None:
    """What the database's owner does before onboarding (docs/deploy.md, steps 3 and 4)."""
    story.title("The owner consents: the archive may change only what is tagged (docs/deploy.md, step 3)")
    world.grant_consent(CLUSTER, kind=database.kind)
    story.say(
        f"  aws rds add-tags-to-resource --resource-name {database.arn(description)} "
        "--tags Key=pgaudit-archiver,Value=enabled"
        + ("   (and each instance)" if "DBClusterArn" in description else "")
    )
    story.say(
        f"  aws logs create-log-group --log-group-name {log_group_name(CLUSTER, database.kind)} "
        "--tags pgaudit-archiver=enabled"
    )

    if not database.data_api:
        story.title("No database user: the RDS Data API serves Aurora clusters only (docs/deploy.md, step 4)")
        story.say(f"  pgaudit-archiver cannot run SQL on a {database.noun}: onboarding asks its owner to run")
        story.say("  CREATE EXTENSION pgaudit, and verifies by the audit records that reach the archive")
        return
    story.title("The cluster's owner creates a database user for pgaudit-archiver (docs/deploy.md, step 4)")
    secret_arn = world.create_database_user(CLUSTER, user=DATABASE_USER)
    story.say(f"  postgres> CREATE ROLE {DATABASE_USER} WITH LOGIN PASSWORD '...'")
    story.say(f"  postgres> GRANT rds_superuser TO {DATABASE_USER}")
    story.say(f"  secret {secret_arn}")
    story.say(f"    tagged pgaudit-archiver:database-user=true, pgaudit-archiver:cluster={CLUSTER}")


def run_demo(as_json: bool, kind: str = DatabaseKind.AURORA_CLUSTER, world: World | None = None) -> int:
    """The demo in a world of its own, or in `world` (a test's, shared by demos of other kinds: each kind's database
    is a source of its own, and the demo reads only its source's records)."""
    if world is None:
        with World(postgres=True) as own:
            return run_demo(as_json, kind, own)
    database = DemoDatabase(Source(account_id=SOURCE_ACCOUNT, region=world.region, cluster_id=CLUSTER,
                                   kind=DatabaseKind(kind)))  # fmt: skip
    story = Story(None if as_json else sys.stdout)
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # the interpreter logs caught task errors
    started = time.monotonic()
    story.say(f"pgaudit-archiver demo: onboarding {database.described()} on the local emulation")
    story.say("  archive account 123456789012 and source account 111122223333 (moto + AWS-fidelity extensions),")
    story.say("  the state machine from statemachine/onboard.asl.json, the real handlers, a real PostgreSQL + pgaudit")
    story.title(f"Source account {SOURCE_ACCOUNT}: {database.described()}")
    with story.progress(f"starting PostgreSQL {POSTGRES_VERSION[database.kind]}"):
        description = database.create(world)
        database.sql(world, "CREATE ROLE app LOGIN")
        database.sql(world, "CREATE SCHEMA shop AUTHORIZATION app")
    preload = database.sql(world, "SHOW shared_preload_libraries")[0][0]
    story.say(f"  parameter group {database.parameter_group(description)}, shared_preload_libraries = {preload}")
    story.say(f"  log exports: {description.get('EnabledCloudwatchLogsExports') or 'none'}; pgaudit: not loaded")
    story.say(f"  master user secret (managed by RDS): {description['MasterUserSecret']['SecretArn']}, never read")

    _owner_prepares(story, world, database, description)

    story.title("Archive account: the onboarding execution, as the Step Functions console shows it")
    request = onboard_input(database.source, REQUEST_OPTIONS)
    story.say(f"  input {json.dumps(request)}")
    execution, first_calls = _first_onboarding(world, story, request, database.source)
    secret_reads = [arn for _, arn in world.calls.secret_reads]
    if execution.status != "SUCCEEDED":
        where = _where_to_look(world, database, execution, [])
        return _finish(as_json, world, database, execution, first_calls, [], None, None, story, started, {},
                       secret_reads, where, [], {})  # fmt: skip

    story.title("What the execution created and changed")
    owner_ran = _show_changes(world, story, database, execution, first_calls)

    story.title(f"Statements on {CLUSTER} (database appdb)")
    for user, statement in APP_STATEMENTS:
        database.sql(world, statement, user=user)
        story.say(f"  {user:>8}> " + statement.replace("\n", " "))

    records, canary, verification = _delivered_and_verified(world, story, database)
    _show_records(world, story, database, records)

    story.title("The same onboarding again (idempotent)")
    mark = world.calls.mark()
    rerun = _run_onboarding(world, story, request, database.source)
    rerun_calls = _calls(world, mark)
    story.say(f"  status {rerun.status}, changes: {rerun.output['changes'] if rerun.output else None}")
    _show_calls(story, rerun_calls)

    story.title("Where to look on AWS (the same names and links in a real deployment of this stack)")
    where = _where_to_look(world, database, execution, records)
    _show_where(story, where)

    secret_reads = [arn for _, arn in world.calls.secret_reads]
    return _finish(as_json, world, database, execution, first_calls, records, rerun, rerun_calls, story, started,
                   canary, secret_reads, where, owner_ran, verification)  # fmt: skip


def _delivered_and_verified(
    world: World, story: Story, database: DemoDatabase
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """(the archived records, the canary, the verification): the canary needs the Data API; a kind without it is
    verified by what it delivered."""
    if database.data_api:
        story.title("Delivery canary: reconciliation checks the pipeline and times a marked SELECT end to end")
        canary = _run_canary(world, story)
        story.title("Audit records in the archive bucket")
        return _labelled(_wait_for_records(world, story, database.source), database), canary, {}
    story.title("Verification: reconciliation sees the owner's database deliver (no Data API, no canary)")
    records = _labelled(_wait_for_records(world, story, database.source), database)
    verification = _verify_by_delivery(world, story, database, records)
    story.title("Audit records in the archive bucket")
    return records, {}, verification


def _reconcile(world: World, source: Source) -> Execution:
    """The reconciliation of one source, as the API's verify starts it."""
    arn = world.client("stepfunctions").start_execution(
        stateMachineArn=world.resources["ReconcileStateMachine"],
        name=f"reconcile-{uuid.uuid4().hex[:12]}",
        input=json.dumps({"source": source.model_dump(mode="json")}),
    )["executionArn"]
    return world.wait(arn, timeout=120)


def _verify_by_delivery(
    world: World, story: Story, database: DemoDatabase, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """The product's verification of a database it cannot read: reconciliation, after the audit records arrived
    (the registry item's last_delivery), and the archive's DDL records, which name the object's type only once the
    extension the owner created is there."""
    with story.progress("reconciling"):
        reconciliation = _reconcile(world, database.source)
    item = world.registry_item(database.source.key) or {}
    run = reconciliation.output or {}
    last = item.get("last_verification") or {}
    ddl = [record for record in records if record.get("class") == "DDL" and _issuer(record) == "application"]
    verification = {
        "reconciliation": {"status": reconciliation.status, **run},
        "status": item.get("status"),
        "last_delivery": item.get("last_delivery"),
        "drift": last.get("drift"),
        "extension_not_checked": last.get("extension_not_checked"),
        "ddl_records_name_their_object": bool(ddl) and all(record.get("object_type") for record in ddl),
    }
    verification["seen"] = (
        reconciliation.status == "SUCCEEDED"
        and run.get("drifted") == 0
        and run.get("silent") == 0
        and verification["status"] == "active"
        and bool(verification["last_delivery"])
        and verification["ddl_records_name_their_object"]
    )
    story.say(
        f"  reconciliation {reconciliation.status}: {run.get('checked')} of {run.get('registered')} source checked, "
        f"{run.get('drifted')} drifted, {run.get('silent')} silent; source {item.get('status')}, last delivery "
        f"{item.get('last_delivery')}"
    )
    story.say(f"  not checked (no Data API): {last.get('extension_not_checked')}")
    story.say(
        "  the application's DDL records name their object (pgaudit does so only with its extension): "
        + ("yes" if verification["ddl_records_name_their_object"] else "NO")
    )
    return verification


def _first_onboarding(
    world: World, story: Story, request: dict[str, Any], source: Source
) -> tuple[Execution, dict[str, dict[str, int]]]:
    """The onboarding, its AWS calls per account, and its states table with the account each state acts in."""
    state_calls = StateCalls()
    with state_calls.observing(world):
        mark = world.calls.mark()
        execution = _run_onboarding(world, story, request, source)
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


def _show_changes(
    world: World, story: Story, database: DemoDatabase, execution: Execution, calls: dict[str, dict[str, int]]
) -> list[str]:
    """The execution's changes; for a kind without the Data API, the owner then runs the SQL the execution asks for
    (as the master user, with the owner's own credentials). Returns the SQL the owner ran."""
    output = execution.output or {}
    for name, value in output["resources"].items():
        story.say(f"  {name:<22} {value}")
    for change in output["changes"]:
        story.say(f"  - {change}")
    _show_calls(story, calls)
    owner_ran = []
    extension = output.get("extension") or {}
    if extension.get("status") == "manual":
        for action in output.get("actions_required", []):
            story.say(f"  action required: {action}")
        if not database.data_api:
            story.say(f"  the owner does it, connected to {extension['database']} as the master user postgres:")
            database.sql(world, extension["sql"])
            owner_ran.append(extension["sql"])
            story.say(f"  postgres> {extension['sql']}")
    version = database.sql(world, DEMO_LOOK)
    preload = database.sql(world, "SHOW shared_preload_libraries")[0][0]
    installed = version[0][0] if version else "not created"
    story.say(f"  on the database: shared_preload_libraries = {preload}; pgaudit extension {installed}")
    return owner_ran


def _issuer(record: dict[str, Any]) -> str:
    """Who ran the audited statement: the archive itself (its database user, through the Data API: the extension
    check, the canary), this demo's own look at the database, the owner doing what onboarding asked (CREATE
    EXTENSION on a kind without the Data API), or the application."""
    if record.get("user") == DATABASE_USER:
        return "archive"
    if record.get("statement") == DEMO_LOOK:
        return "demo"
    if record.get("command") == "CREATE EXTENSION":
        return "owner"
    return "application"


# What the demo adds to each archived record (not in the archive): where it is, who ran it, the source's kind.
LABELS = ("_key", "by_archive", "by_demo", "by_owner", "source_kind")


def _labelled(records: list[dict[str, Any]], database: DemoDatabase) -> list[dict[str, Any]]:
    return [{**record, "by_archive": _issuer(record) == "archive", "by_demo": _issuer(record) == "demo",
             "by_owner": _issuer(record) == "owner", "source_kind": database.kind.value}
            for record in records]  # fmt: skip


def _show_records(world: World, story: Story, database: DemoDatabase, records: list[dict[str, Any]]) -> None:
    bucket = world.resources["ArchiveBucket"]
    story.say(f"  source {database.source.key} (the records' cluster field), a {database.noun}")
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
        "user); by demo: this demo's look in step 5; by owner: the SQL onboarding asked the owner to run"
    )
    application = [record for record in records if _issuer(record) == "application"]
    if application:
        story.say("  one application record in full:")
        story.say("  " + json.dumps({k: v for k, v in application[-1].items() if k not in LABELS}, ensure_ascii=False))


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


def _wait_for_records(world: World, story: Story, source: Source) -> list[dict[str, Any]]:
    """The source's archived audit records, once each statement the demo ran has one (or the wait is over)."""
    deadline = time.monotonic() + ARCHIVE_WAIT_SECONDS
    with story.progress("waiting for the audit lines: PostgreSQL log -> CloudWatch Logs -> Firehose -> S3"):
        while True:
            world.flush_logs()
            records = [record for record in world.archived_records(archive_prefix(source)) if "audit_type" in record]
            if all(_audited(statement, records) for _, statement in APP_STATEMENTS) or time.monotonic() > deadline:
                return records
            time.sleep(0.2)


def _log_group_console_url(region: str, name: str) -> str:
    # The CloudWatch console's fragment encodes a log group name twice, with "$" in place of "%".
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
        + quote(quote(name, safe=""), safe="").replace("%", "$")
    )


def _where_to_look(
    world: World, database: DemoDatabase, execution: Execution, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Where each part of this onboarding is on AWS, named as this stack names it (template.yaml) and as the
    product records it (the registry item's console_url)."""
    region, template = world.region, world.template["Resources"]
    source = database.source
    audit_log_group = log_group_name(CLUSTER, source.kind)
    bucket, prefix = world.resources["ArchiveBucket"], archive_prefix(source)
    workflow_log_group = world._resolve(template["OnboardStateMachineLogGroup"]["Properties"]["LogGroupName"])
    workgroup = world._resolve(template["ArchiveWorkGroup"]["Properties"]["Name"])
    database = world.parameters["GlueDatabaseName"]
    registry_table = world.resources["RegistryTable"]
    registry_key = {"source_id": {"S": f"{SOURCE_ACCOUNT}#{region}#{source.key}"}}
    dates = sorted({record["event_time"][:10] for record in records}) or [time.strftime("%Y-%m-%d", time.gmtime())]
    # The application's activity, without the archive's own checks (db_user: see the table's SerDe mapping).
    query = (
        f"SELECT event_time, db_user, class, command, object_name, statement FROM {database}.records "
        f"WHERE account = '{SOURCE_ACCOUNT}' AND region = '{region}' AND cluster = '{source.key}' "
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
                "name": audit_log_group,
                "console_url": _log_group_console_url(region, audit_log_group),
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
    database: DemoDatabase,
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
    owner_ran: list[str],
    verification: dict[str, Any],
) -> int:
    extension = (execution.output or {}).get("extension") or {}
    if database.data_api:  # the archive created the extension as the owner's database user, and its canary arrived
        extension_done = extension.get("status") in ("created", "present") and bool(secret_reads)
        verified = bool(canary.get("arrived_at"))
    else:  # the owner ran the SQL onboarding asked for; the product saw the database deliver
        extension_done = extension.get("status") == "manual" and extension.get("sql") in owner_ran
        verified = bool(verification.get("seen"))
    ok = (
        execution.status == "SUCCEEDED"
        and extension_done
        and not any(":secret:rds!" in arn for arn in secret_reads)  # never the master user's credentials
        and all(_audited(statement, records) for _, statement in APP_STATEMENTS)
        and all(record["cluster"] == database.source.key for record in records)
        and rerun is not None
        and rerun.status == "SUCCEEDED"
        and all(counts["mutating"] == 0 for counts in (rerun_calls or {}).values())
        and verified
    )
    if as_json:
        document = {
            "ok": ok,
            "accounts": {"archive": world.archive_account, "source": SOURCE_ACCOUNT},
            "database": {"kind": database.kind.value, "identifier": CLUSTER, "key": database.source.key},
            "owner_ran": owner_ran,
            "verification": verification,
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
