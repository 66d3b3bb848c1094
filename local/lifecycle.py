"""`python -m local lifecycle`: each life event of an onboarded database, on the emulation, and whether its audit
lines still reach the archive afterwards (issue 19).

Every scenario creates a database of its own (one World for all: distinct names), has its owner consent, onboards it
through the onboarding workflow (reboot immediate), writes an audit line and finds it archived; then applies the life
event as its owner would (World's life-event helpers, or the RDS call) and runs what the product runs after it in
production: the RDS event the source account forwards (a new database's starts its automatic onboarding, a deletion's
marks the source deleted), then the scheduled reconciliation (and the repair it starts). Last, a fresh audit line must
reach the archive, as a record naming its database (for `delete`: the source is deleted at the event, reconciliation
keeps it so, and what was archived stays). Each step is a fact observed; `ok` is that every expected fact held. The
emulation emits no RDS events of its own: the scenario emits the one RDS would (World.database_created_event,
database_restored_event, database_deleted_event), through the source stack's forwarding rules.

The deployment audits the read class too (DefaultPgauditLog): a marker is a SELECT, which a global database's
read-only secondary also runs.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, TextIO

from local.world import AURORA_CLUSTER, DB_INSTANCE, KINDS, MULTI_AZ_CLUSTER, World, database_log_group
from pgaudit_archiver.kinds import DatabaseKind
from pgaudit_archiver.models import Source, onboard_input
from pgaudit_archiver.naming import SUBSCRIPTION_FILTER_NAME
from pgaudit_archiver.status import ONBOARDED_STATUSES, RUNNING_STATUSES, SourceStatus

REQUEST_OPTIONS = {"reboot": "immediate", "pgaudit_log": "ddl,role,write,read"}
WORLD_PARAMETERS = {"DefaultPgauditLog": "ddl,role,write,read"}
ARCHIVE_WAIT_SECONDS = 8.0  # the emulated pipeline delivers within a second of a flush
SECOND_REGION = "eu-central-1"
MARKS_TABLE = "lifecycle_marks"
# (from, minor, major) engine versions and the new major's parameter group family, per kind
VERSIONS = {
    AURORA_CLUSTER: ("15.4", "15.5", "16.4", "aurora-postgresql16"),
    MULTI_AZ_CLUSTER: ("16.3", "16.4", "17.2", "postgres17"),
    DB_INSTANCE: ("16.3", "16.4", "17.2", "postgres17"),
}


class ScenarioFailed(Exception):
    """A fact a later step depends on did not hold: the scenario stops there."""


@dataclass
class Outcome:
    """What one scenario observed: `steps` are short facts in order, `failures` those that were not as expected."""

    name: str
    kind: str
    steps: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def fact(self, text: str) -> None:
        self.steps.append(text)

    def expect(self, held: bool, text: str, *, needed: bool = False) -> bool:
        """Record `text`; when it is not what should be, as a failure too (and stop the scenario if `needed`)."""
        self.steps.append(text if held else f"NOT OK: {text}")
        if not held:
            self.failures.append(text)
            if needed:
                raise ScenarioFailed(text)
        return held

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ok": self.ok, "steps": self.steps, "failures": self.failures,
                "seconds": round(self.seconds, 2)}  # fmt: skip


def source_of(world: World, kind: str, database_id: str) -> Source:
    return Source(account_id=world.source_accounts[0], region=world.region, cluster_id=database_id,
                  kind=DatabaseKind(kind))  # fmt: skip


class Lab:
    """The steps scenarios share, on one World (and its second region, made when first needed)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.tag = uuid.uuid4().hex[:4]  # names differ from one run (or test) to the next in a shared World

    def name(self, scenario: str) -> str:
        return f"lc-{scenario}-{self.tag}"

    @property
    def regional(self) -> World:
        return self.world.in_region(SECOND_REGION)

    # ------------------------------------------------------------------ the owner
    def create(self, out: Outcome, kind: str, database_id: str, **options: Any) -> dict[str, Any]:
        """The database, its owner's consent and database user, and a table for the markers."""
        version = VERSIONS[kind][0]
        if kind == AURORA_CLUSTER:
            created = self.world.create_cluster(database_id, instances=1, engine_version=version, consent=True,
                                                **options)  # fmt: skip
        elif kind == MULTI_AZ_CLUSTER:
            created = self.world.create_multi_az_cluster(database_id, engine_version=version, consent=True, **options)
        else:
            created = self.world.create_instance(database_id, engine_version=version, consent=True, **options)
        self.world.sql(database_id, f"CREATE TABLE {MARKS_TABLE} (mark text)", kind=kind)
        out.fact(f"created {kind} {database_id} ({version}), owner consented")
        return created

    def reboot(self, world: World, kind: str, database_id: str) -> None:
        """The owner's reboot (or their maintenance window's) of the database's writer."""
        rds = world.client("rds", world.source_accounts[0])
        if kind == DB_INSTANCE:
            rds.reboot_db_instance(DBInstanceIdentifier=database_id)
        elif kind == MULTI_AZ_CLUSTER:
            rds.reboot_db_cluster(DBClusterIdentifier=database_id)
        else:
            members = rds.describe_db_clusters(DBClusterIdentifier=database_id)["DBClusters"][0]["DBClusterMembers"]
            writer = next(m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"])
            rds.reboot_db_instance(DBInstanceIdentifier=writer)

    # ------------------------------------------------------------------ the product
    def onboard(self, out: Outcome, kind: str, database_id: str) -> None:
        """The onboarding workflow, as the API starts it (reboot immediate); the owner runs the SQL it asks for."""
        source = source_of(self.world, kind, database_id)
        execution = self.world.onboard(onboard_input(source, REQUEST_OPTIONS), timeout=300)
        out.expect(execution.status == "SUCCEEDED",
                   f"onboarding {execution.status}" + (f": {execution.error}: {execution.cause}" if execution.error
                                                       else ""), needed=True)  # fmt: skip
        self.owner_follows_up(out, self.world, kind, database_id, execution.output or {})

    def owner_follows_up(self, out: Outcome, world: World, kind: str, database_id: str, output: dict[str, Any]) -> None:
        """What the owner does after an onboarding: the reboot it leaves owed, then the SQL it asks for."""
        item = self.item(world, kind, database_id) or {}
        if item.get("status") == "pending-reboot":
            self.reboot(world, kind, database_id)
            out.fact("status pending-reboot: the owner rebooted the writer")
        extension = output.get("extension") or {}
        if extension.get("status") == "manual":  # no Data API (or not loaded then): the owner runs its statement
            world.sql(database_id, str(extension["sql"]).split(";", 1)[0], kind=kind, region=world.region)
            out.fact(f"extension: manual ({extension.get('reason')}); the owner ran it")
        else:
            out.fact(f"extension: {extension.get('status')}")

    def item(self, world: World, kind: str, database_id: str) -> dict[str, Any] | None:
        return world.registry_item(source_of(world, kind, database_id).key)

    def reconcile(self, out: Outcome, world: World, kind: str, database_id: str) -> dict[str, Any]:
        """The scheduled reconciliation run (every registered source), then the workflow it started for this one (a
        repair, an onboarding or offboarding); returns the source's registry item (empty when there is none)."""
        run = world.reconcile(timeout=300)
        out.expect(run.status == "SUCCEEDED", f"reconciliation {run.status}" + (f": {run.cause}" if run.cause else ""))
        key = source_of(world, kind, database_id).key
        item = self.item(world, kind, database_id) or {}
        if not item:
            out.fact(f"reconciliation: no registry item for {key}")
            return item
        verification = item.get("last_verification") or {}
        out.fact(f"reconciliation of {key}: drift {verification.get('drift') or 'none'}")
        return self.settle(out, world, kind, database_id, item)

    def settle(
        self, out: Outcome, world: World, kind: str, database_id: str, item: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Wait for the workflow a source's registry item says is running on it; the owner follows an onboarding
        up. Returns the item as it is then."""
        item = item if item is not None else (self.item(world, kind, database_id) or {})
        status, arn = item.get("status"), item.get("execution_arn")
        if status not in RUNNING_STATUSES or not arn:
            return item
        repair = (item.get("last_verification") or {}).get("repair") == arn
        label = "repair onboarding" if repair else f"{status} of {source_of(world, kind, database_id).key}"
        execution = world.wait(arn, timeout=300)
        done = out.expect(execution.status == "SUCCEEDED",
                          f"{label} {execution.status}" + (f": {execution.error}: {execution.cause}" if execution.error
                                                           else ""))  # fmt: skip
        if done and status == SourceStatus.ONBOARDING:
            self.owner_follows_up(out, world, kind, database_id, execution.output or {})
        return self.item(world, kind, database_id) or {}

    def expect_onboarded(self, out: Outcome, item: dict[str, Any], key: str) -> None:
        status, error = item.get("status"), (item.get("last_error") or {}).get("message")
        out.expect(status in ONBOARDED_STATUSES,
                   f"registry {key}: status {status or 'no item'}" + (f" ({error})" if error else ""))  # fmt: skip

    def auto_onboard(
        self, out: Outcome, world: World, kind: str, database_id: str, event: dict[str, Any] | None = None
    ) -> None:
        """What the event RDS sends about a new database (its creation event unless `event`), forwarded by the
        source account's rules, starts: automatic onboarding."""
        event = event or world.database_created_event(kind, database_id)
        decision = world.emit_rds_event(event) or {}
        out.expect(
            decision.get("action") == "started",
            f"automatic onboarding on {event['detail']['EventID']}: {decision.get('action') or 'not delivered'}"
            f" ({decision.get('reason')})",
            needed=True,
        )
        execution = world.wait(decision["execution_arn"], timeout=300)
        out.expect(execution.status == "SUCCEEDED",
                   f"onboarding {execution.status}" + (f": {execution.error}: {execution.cause}" if execution.error
                                                       else ""), needed=True)  # fmt: skip
        self.owner_follows_up(out, world, kind, database_id, execution.output or {})

    # ------------------------------------------------------------------ the archive
    def mark(self, world: World, kind: str, database_id: str, label: str) -> str:
        """An audited statement on the database, its log shipped; returns its marker."""
        marker = f"{database_id}-{label}-{uuid.uuid4().hex[:6]}"
        world.write_audit_line(kind, database_id, f"SELECT count(*) FROM {MARKS_TABLE} WHERE mark = '{marker}'",
                               region=world.region)  # fmt: skip
        return marker

    def expect_archived(
        self, out: Outcome, world: World, kind: str, database_id: str, label: str, *, also: tuple[str, ...] = ()
    ) -> None:
        """A fresh audit line reaches the archive as a record naming its database (`also`: other names it may
        carry, a renamed database's former one)."""
        marker = self.mark(world, kind, database_id, label)
        record = archived_record(world, marker)
        keys = {source_of(world, kind, name).key for name in (database_id, *also)}
        if record is None:
            out.expect(False, f"audit line {label}: not in the archive after {ARCHIVE_WAIT_SECONDS:.0f} s")
            return
        names = record.get("cluster") in keys and record.get("account") == world.source_accounts[0]
        out.expect(names, f"audit line {label}: archived in {record['_key']} (cluster={record.get('cluster')})")

    def filters(self, world: World, kind: str, *names: str) -> str:
        """Which of the databases' log groups hold the product's subscription filter."""
        logs = world.client("logs", world.source_accounts[0])
        holding = []
        for name in names:
            group = database_log_group(kind, name)
            try:
                found = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
            except logs.exceptions.ResourceNotFoundException:
                continue
            if any(f["filterName"] == SUBSCRIPTION_FILTER_NAME for f in found):
                holding.append(group)
        return ", ".join(holding) or "no log group"


def archived_record(world: World, marker: str, timeout: float = ARCHIVE_WAIT_SECONDS) -> dict[str, Any] | None:
    """The archived audit record (World.archived_records) whose statement holds `marker`, once it is there."""
    deadline = time.monotonic() + timeout
    while True:
        world.flush_logs()
        for record in world.archived_records():
            if "audit_type" in record and marker in str(record.get("statement")):
                return record
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


# ---------------------------------------------------------------------- scenarios
def _onboarded(lab: Lab, out: Outcome, kind: str, database_id: str, **options: Any) -> dict[str, Any]:
    created = lab.create(out, kind, database_id, **options)
    lab.onboard(out, kind, database_id)
    lab.expect_archived(out, lab.world, kind, database_id, "before")
    return created


def minor_upgrade(lab: Lab, out: Outcome) -> None:
    kind, name = DB_INSTANCE, lab.name("minor")
    _onboarded(lab, out, kind, name)
    version = VERSIONS[kind][1]
    rds = lab.world.client("rds", lab.world.source_accounts[0])
    upgraded = rds.modify_db_instance(DBInstanceIdentifier=name, EngineVersion=version,
                                      ApplyImmediately=True)["DBInstance"]  # fmt: skip
    out.fact(f"minor upgrade to {upgraded['EngineVersion']}")
    item = lab.reconcile(out, lab.world, kind, name)
    lab.expect_onboarded(out, item, source_of(lab.world, kind, name).key)
    lab.expect_archived(out, lab.world, kind, name, "after")


def major_upgrade(kind: str) -> Callable[[Lab, Outcome], None]:
    def scenario(lab: Lab, out: Outcome) -> None:
        name = lab.name(f"major-{kind.split('-', maxsplit=1)[0]}")
        _onboarded(lab, out, kind, name)
        _, _, version, family = VERSIONS[kind]
        rds = lab.world.client("rds", lab.world.source_accounts[0])
        # RDS wants a parameter group of the new family for a database on a custom one (the archive's): the owner,
        # who does not know of the archive, makes one of their own without pgaudit.
        group = f"{name}-{family}"
        if kind == DB_INSTANCE:
            lab.world.create_db_parameter_group(group, family=family)
            rds.modify_db_instance(DBInstanceIdentifier=name, EngineVersion=version, AllowMajorVersionUpgrade=True,
                                   DBParameterGroupName=group, ApplyImmediately=True)  # fmt: skip
        else:
            lab.world.create_parameter_group(group, family=family)
            rds.modify_db_cluster(DBClusterIdentifier=name, EngineVersion=version, AllowMajorVersionUpgrade=True,
                                  DBClusterParameterGroupName=group, ApplyImmediately=True)  # fmt: skip
        out.fact(f"major upgrade to {version} with the owner's {group}")
        item = lab.reconcile(out, lab.world, kind, name)
        lab.expect_onboarded(out, item, source_of(lab.world, kind, name).key)
        lab.expect_archived(out, lab.world, kind, name, "after")

    return scenario


def blue_green(lab: Lab, out: Outcome) -> None:
    kind, name = DB_INSTANCE, lab.name("bg")
    # Blue/green deployments refuse Secrets Manager-managed master passwords (RDS User Guide, "Limitations for
    # blue/green deployments").
    blue = _onboarded(lab, out, kind, name, managed_secret=False)
    _, _, version, family = VERSIONS[kind]
    # A green of the next major needs a group of the new family (RDS User Guide, "Creating a blue/green deployment"):
    # the owner, who does not know of the archive, names one of their own without pgaudit.
    group = f"{name}-{family}"
    lab.world.create_db_parameter_group(group, family=family)
    deployment = lab.world.start_blue_green(kind, name, target_engine_version=version, target_parameter_group=group)
    green = str(deployment["Target"]).rsplit(":", 1)[-1]
    out.fact(f"blue/green deployment to {version}: the green {green} on the owner's {group}")
    lab.reconcile(out, lab.world, kind, name)
    rds = lab.world.client("rds", lab.world.source_accounts[0])
    given = rds.describe_db_instances(DBInstanceIdentifier=green)["DBInstances"][0]["DBParameterGroups"][0]
    group_name, apply_status = given["DBParameterGroupName"], given["ParameterApplyStatus"]
    out.expect(group_name == f"pgaudit-{name}-{family}", f"the product gave the green {group_name} ({apply_status})")
    # Onboarded with reboot immediate: the next run reboots the green (it serves no traffic before switchover).
    lab.reconcile(out, lab.world, kind, name)
    rebooted = rds.describe_db_instances(DBInstanceIdentifier=green)["DBInstances"][0]["DBParameterGroups"][0]
    out.expect(rebooted["ParameterApplyStatus"] == "in-sync",
               f"the product rebooted the green: its group {rebooted['ParameterApplyStatus']}")  # fmt: skip
    switched = lab.world.switchover(deployment["BlueGreenDeploymentIdentifier"])
    serving = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    out.fact(f"blue/green {switched['Status']}: {name} is now {serving['DbiResourceId']} (was "
             f"{blue['DbiResourceId']}), the blue is {name}-old1")  # fmt: skip
    item = lab.reconcile(out, lab.world, kind, name)
    key = source_of(lab.world, kind, name).key
    lab.expect_onboarded(out, item, key)
    out.fact(f"registry {key}: resource id {item.get('resource_id') or 'not recorded'}")
    out.fact(f"filter on {lab.filters(lab.world, kind, name, f'{name}-old1')}")
    lab.expect_archived(out, lab.world, kind, name, "after")


def rename(lab: Lab, out: Outcome) -> None:
    kind, old = AURORA_CLUSTER, lab.name("rename")
    new = f"{old}-new"
    _onboarded(lab, out, kind, old)
    lab.world.rename_database(kind, old, new)
    # RDS makes the new name's log group untagged: the owner's consent there is theirs to give (docs/operating.md).
    lab.world.grant_consent(new, kind=kind)
    out.fact(f"renamed {old} to {new}; the owner consented on the new name's log group")
    item = lab.reconcile(out, lab.world, kind, new)
    old_item = lab.settle(out, lab.world, kind, old)
    out.fact(f"registry {old}: status {old_item.get('status') or 'no item'}")
    lab.expect_onboarded(out, item, new)
    out.fact(f"filter on {lab.filters(lab.world, kind, old, new)}")
    lab.expect_archived(out, lab.world, kind, new, "after", also=(old,))


def delete(lab: Lab, out: Outcome) -> None:
    kind, name = DB_INSTANCE, lab.name("delete")
    _onboarded(lab, out, kind, name)
    before = len([r for r in lab.world.archived_records() if r.get("cluster") == source_of(lab.world, kind, name).key])
    # RDS's deletion event put on the archive bus by someone else while the database lives: RDS is asked, not believed.
    forged = lab.world.send_cluster_event(lab.world.database_deleted_event(kind, name)) or {}
    live = lab.item(lab.world, kind, name) or {}
    out.expect(forged.get("action") == "skipped" and live.get("status") in ONBOARDED_STATUSES,
               f"forged deletion event: {forged.get('action')} ({forged.get('reason')}), "
               f"status {live.get('status')}")  # fmt: skip
    lab.world.delete_database(kind, name)
    event = lab.world.database_deleted_event(kind, name)
    decision = lab.world.emit_rds_event(event) or {}
    marked = lab.item(lab.world, kind, name) or {}
    out.expect(decision.get("action") == "deleted" and marked.get("status") == "deleted",
               f"deleted {name}; {event['detail']['EventID']}: {decision.get('action') or 'not delivered'}, status "
               f"{marked.get('status')} at {marked.get('deleted_at')}")  # fmt: skip
    item = lab.reconcile(out, lab.world, kind, name)
    out.expect(item.get("status") == "deleted" and item.get("deleted_at") == marked.get("deleted_at"),
               f"registry: status {item.get('status') or 'no item'}, deleted_at {item.get('deleted_at')} kept (the "
               "grace period runs from the event)")  # fmt: skip
    after = len([r for r in lab.world.archived_records() if r.get("cluster") == source_of(lab.world, kind, name).key])
    out.expect(after >= before > 0, f"archive: {after} of its {before} records still there")


def restore(lab: Lab, out: Outcome) -> None:
    kind, name = AURORA_CLUSTER, lab.name("restore")
    restored = f"{name}-copy"
    _onboarded(lab, out, kind, name)
    rds = lab.world.client("rds", lab.world.source_accounts[0])
    group = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["DBClusterParameterGroup"]
    # The owner restores with the source's parameter group and log export, and consents for the new database.
    lab.world.restore_database(kind, name, restored, exports=("postgresql",), parameter_group=group)
    lab.world.grant_consent(restored)
    out.fact(f"restored {name} as {restored} (with {group}), owner consented")
    lab.auto_onboard(out, lab.world, kind, restored, lab.world.database_restored_event(kind, restored))
    item = lab.reconcile(out, lab.world, kind, restored)
    lab.expect_onboarded(out, item, restored)
    lab.expect_archived(out, lab.world, kind, restored, "after")
    lab.expect_archived(out, lab.world, kind, name, "source-after")


def global_secondary(lab: Lab, out: Outcome) -> None:
    kind, name = AURORA_CLUSTER, lab.name("global")
    secondary = f"{name}-fra"
    # Not for a global database member: Secrets Manager-managed master passwords (Aurora User Guide).
    _onboarded(lab, out, kind, name, managed_secret=False)
    lab.world.create_global_secondary(f"{name}-db", name, SECOND_REGION, secondary)
    regional = lab.regional
    regional.grant_consent(secondary)
    out.fact(f"secondary {secondary} in {SECOND_REGION} (archive stack deployed there too), owner consented")
    lab.auto_onboard(out, regional, kind, secondary)
    item = lab.reconcile(out, regional, kind, secondary)
    lab.expect_onboarded(out, item, f"{secondary} ({SECOND_REGION})")
    lab.expect_archived(out, regional, kind, secondary, "after")
    lab.expect_archived(out, lab.world, kind, name, "primary-after")


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    run: Callable[[Lab, Outcome], None]


SCENARIOS = (
    Scenario("minor-upgrade", DB_INSTANCE, minor_upgrade),
    *(Scenario(f"major-upgrade-{kind}", kind, major_upgrade(kind)) for kind in KINDS),
    Scenario("blue-green", DB_INSTANCE, blue_green),
    Scenario("rename", AURORA_CLUSTER, rename),
    Scenario("restore", AURORA_CLUSTER, restore),
    Scenario("global-secondary", AURORA_CLUSTER, global_secondary),
    Scenario("delete", DB_INSTANCE, delete),
)


def chosen(only: str | None) -> list[Scenario]:
    """The scenarios `--only` names (a name, or its first part: major-upgrade), in the order above."""
    if not only:
        return list(SCENARIOS)
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [n for n in names if not any(s.name == n or s.name.startswith(f"{n}-") for s in SCENARIOS)]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}; one of {', '.join(s.name for s in SCENARIOS)}")
    return [s for s in SCENARIOS if any(s.name == n or s.name.startswith(f"{n}-") for n in names)]


def run_scenarios(world: World, scenarios: list[Scenario]) -> Iterator[Outcome]:
    lab = Lab(world)
    for scenario in scenarios:
        out, started = Outcome(scenario.name, scenario.kind), time.monotonic()
        try:
            scenario.run(lab, out)
        except ScenarioFailed:
            pass
        except Exception as error:  # the scenario's failure, reported; the others still run
            out.failures.append(f"{type(error).__name__}: {error}")
            out.steps.append(f"NOT OK: stopped by {type(error).__name__}: {error}")
        out.seconds = time.monotonic() - started
        yield out


def main(as_json: bool, only: str | None, out: TextIO | None = None, world: World | None = None) -> int:
    """Run the scenarios on one World (`world`, or a new one); 0 when every one is ok, 1 otherwise (2: an unknown
    scenario)."""
    out = out or sys.stdout
    try:
        scenarios = chosen(only)
    except ValueError as error:
        print(f"python -m local lifecycle: error: --only: {error}", file=sys.stderr)
        return 2
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    started = time.monotonic()
    with ExitStack() as stack:
        if world is None:
            world = stack.enter_context(World(postgres=True, parameters=WORLD_PARAMETERS))
        world_seconds = time.monotonic() - started
        outcomes = []
        for outcome in run_scenarios(world, scenarios):
            outcomes.append(outcome)
            if not as_json:
                print(f"{'ok  ' if outcome.ok else 'FAIL'} {outcome.name} ({outcome.kind}, {outcome.seconds:.1f} s)",
                      file=out, flush=True)  # fmt: skip
                for step in outcome.steps:
                    print(f"     - {step}", file=out)
    ok = all(outcome.ok for outcome in outcomes)
    seconds = time.monotonic() - started
    if as_json:
        document = {"ok": ok, "seconds": round(seconds, 1), "world_seconds": round(world_seconds, 1),
                    "scenarios": [outcome.as_json() for outcome in outcomes]}  # fmt: skip
        print(json.dumps(document, indent=2), file=out)
    else:
        passed = sum(outcome.ok for outcome in outcomes)
        print(f"{passed} of {len(outcomes)} scenarios ok in {seconds:.1f} s", file=out)
    return 0 if ok else 1
