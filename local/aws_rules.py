"""AWS behaviour that both test doubles model: the unit tests' fakes (tests/unit/fakes.py) and the emulation's moto
patches (local/fidelity.py). Each rule is written once, here, from the AWS documentation it quotes.

The product has its own copy of some of these rules (steps/reboot.py decides the reboot order from the engine
version): the product's copy is its logic, this one is the oracle the tests hold it to. This module is written
from the documentation, never by importing the product, so that a wrong rule in the product fails its tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Aurora User Guide, "Rebooting an Aurora cluster without read availability": "Rebooting the writer DB instance also
# initiates a reboot for each reader DB instance in the cluster. [...] For Aurora PostgreSQL this behavior applies to
# the following versions: 14.6 and lower 14 versions, 13.9 and lower 13 versions, 12.13 and lower 12 versions, All
# PostgreSQL 11 versions." ("with read availability": 15.2 and higher 15, 14.7, 13.10, 12.14 and higher.)
_NEWEST_MINOR_WITHOUT_READ_AVAILABILITY = {12: 13, 13: 9, 14: 6}
_OLDEST_MAJOR_WITH_READ_AVAILABILITY = 12


def writer_reboots_readers(engine_version: str) -> bool:
    """Whether rebooting the writer of an Aurora PostgreSQL cluster of `engine_version` (e.g. "13.9") reboots every
    reader with it."""
    major, minor = (int(part) for part in [*engine_version.split("."), "0"][:2])
    if major < _OLDEST_MAJOR_WITH_READ_AVAILABILITY:
        return True
    return minor <= _NEWEST_MINOR_WITHOUT_READ_AVAILABILITY.get(major, -1)


# Aurora User Guide, "Modifying parameters in a DB cluster parameter group": "You can't change the parameter values
# in a default DB cluster parameter group"; default groups are named default.<family>, and RDS answers an attempt
# with InvalidParameterValue.
def parameter_group_family(engine: str, engine_version: str) -> str:
    """The parameter group family of an engine version, one per major: aurora-postgresql16 for 16.4. A group
    "can be applied only to a DB cluster running a version compatible with that family" (CreateDBClusterParameterGroup,
    RDS API reference)."""
    return f"{engine}{engine_version.split('.', maxsplit=1)[0]}"


DEFAULT_PARAMETER_GROUP_PREFIX = "default."
DEFAULT_GROUP_MODIFIED_CODE = "InvalidParameterValue"


def is_default_parameter_group(group_name: str) -> bool:
    return group_name.startswith(DEFAULT_PARAMETER_GROUP_PREFIX)


def default_group_refusal(group_name: str) -> str:
    """The message RDS gives with DEFAULT_GROUP_MODIFIED_CODE."""
    return f"The parameter group {group_name} is a default group and cannot be modified."


# Aurora User Guide, "Modifying parameters in a DB parameter group": "Changes to static parameters are applied only
# after the DB instance is rebooted. [...] the RDS console shows the DB parameter group with a status of
# pending-reboot." A change with ApplyMethod pending-reboot waits the same way; so does a newly attached cluster
# parameter group (the instances take it at their next reboot).
PENDING_REBOOT = "pending-reboot"
IN_SYNC = "in-sync"


def waits_for_reboot(apply_method: str | None, apply_type: str | None) -> bool:
    """Whether a parameter change waits for the members' reboot."""
    return apply_method == PENDING_REBOOT or apply_type == "static"


def exports_after(enabled: Iterable[str], configuration: Mapping[str, Iterable[str]]) -> list[str]:
    """EnabledCloudwatchLogsExports after ModifyDBCluster's CloudwatchLogsExportConfiguration (RDS API reference,
    CloudwatchLogsExportConfiguration: "EnableLogTypes: the list of log types to enable", "DisableLogTypes: [...]
    to disable"): the types named change; the others stay as they are."""
    disabled = set(configuration.get("DisableLogTypes", ()))
    exports = [log_type for log_type in enabled if log_type not in disabled]
    exports += [log_type for log_type in configuration.get("EnableLogTypes", ()) if log_type not in exports]
    return exports


# PutSubscriptionFilter (CloudWatch Logs API reference): "Each log group can have up to two subscription filters
# associated with it."
SUBSCRIPTION_FILTERS_PER_LOG_GROUP = 2
# Amazon Data Firehose quotas: "5,000 delivery streams per AWS Region" by default (adjustable).
FIREHOSE_STREAMS_PER_REGION = 5_000


# The error RDS gives when a parameter group of another family is attached (ModifyDBInstance, ModifyDBCluster):
# "InvalidParameterCombination: The Parameter Group error_pg with DBParameterGroupFamily aurora-postgresql12 cannot be
# used for this instance. Please use a Parameter Group with DBParameterGroupFamily aurora-postgresql15", as AWS
# returns it (quoted from a real response in a public test suite; the API reference lists the code only).
FAMILY_MISMATCH_CODE = "InvalidParameterCombination"


def family_refusal(group_name: str, family: str, wanted: str) -> str:
    """The message RDS gives with FAMILY_MISMATCH_CODE."""
    return (
        f"The Parameter Group {group_name} with DBParameterGroupFamily {family} cannot be used for this instance. "
        f"Please use a Parameter Group with DBParameterGroupFamily {wanted}"
    )


# RDS User Guide, "Publishing PostgreSQL logs to Amazon CloudWatch Logs": an RDS for PostgreSQL DB instance's log is
# in /aws/rds/instance/<instance>/postgresql; an Aurora cluster's, and a Multi-AZ DB cluster's ("Publishing logs for
# Multi-AZ DB clusters"), in /aws/rds/cluster/<cluster>/postgresql, one stream per DB instance.
def postgresql_log_group(namespace: str, identifier: str) -> str:
    """`namespace`: "cluster" or "instance", the identifier's namespace (cluster and instance names are separate)."""
    return f"/aws/rds/{namespace}/{identifier}/postgresql"


# RDS User Guide, "Switching a blue/green deployment" ("Switchover actions"): the green environment's DB instances and
# clusters take the blue's names; the blue's are renamed by appending -old1 ("For example, ... mydb1 is renamed
# mydb1-old1"); resource IDs do not change, so each follows its resource, not its name. The green copies are named
# <name>-green-<six random letters> ("Creating a blue/green deployment").
OLD_BLUE_SUFFIX = "-old1"
GREEN_INFIX = "-green-"


def old_blue_name(name: str) -> str:
    return f"{name}{OLD_BLUE_SUFFIX}"


# RestoreDBInstanceFromDBSnapshot and RestoreDBInstanceToPointInTime (RDS API reference): "EnableCloudwatchLogsExports:
# The list of logs that the restored DB instance is to export to CloudWatch logs"; "DBParameterGroupName: [...] If you
# don't specify a value for DBParameterGroupName, then RDS uses the default DBParameterGroup for the specified DB
# engine." The restored database is a new resource: a new DbiResourceId (DbClusterResourceId for a cluster).
def restored_exports(requested: Iterable[str] | None) -> list[str]:
    """What a restored database exports: what the restore request names, nothing carried over from the source."""
    return list(requested or [])


# EventBridge User Guide, "Event pattern syntax": "For an event pattern to match an event, the event must contain all
# the field names listed in the event pattern. The field names must also appear in the event with the same nesting
# structure." "Arrays in Amazon EventBridge event patterns": "An event pattern matches the event if any of the values
# in the array match the value in the event. If the value in the event is an array, then the event pattern matches if
# the intersection of the event pattern array and the event array is non-empty." Exact values only: the templates'
# patterns use no content filter (prefix, anything-but, ...), and one here is refused rather than misread.
def event_matches(pattern: Mapping[str, object], event: Mapping[str, object]) -> bool:
    for name, wanted in pattern.items():
        if name not in event:
            return False
        value = event[name]
        if isinstance(wanted, Mapping):
            if not (isinstance(value, Mapping) and event_matches(wanted, value)):
                return False
            continue
        if not isinstance(wanted, list) or any(isinstance(item, Mapping) for item in wanted):
            raise ValueError(f"event pattern field {name!r}: only arrays of exact values are emulated, not {wanted!r}")
        values = value if isinstance(value, list) else [value]
        if not any(item in wanted for item in values):
            return False
    return True


# RDS User Guide and Aurora User Guide, "Amazon RDS event categories and event messages": the events of a DB cluster
# or DB instance the emulation sends, with their category and description. The DB cluster events have no restoration
# category; "DB cluster deleted" is in the Aurora User Guide's table, not in the RDS User Guide's (Multi-AZ) one.
RDS_EVENTS = {
    "RDS-EVENT-0170": ("creation", "DB cluster created"),
    "RDS-EVENT-0171": ("deletion", "DB cluster deleted"),
    "RDS-EVENT-0005": ("creation", "DB instance created"),
    "RDS-EVENT-0003": ("deletion", "The DB instance has been deleted"),
    "RDS-EVENT-0019": ("restoration", "The DB instance has been restored from a point-in-time backup"),
    "RDS-EVENT-0043": ("restoration", "Restored from snapshot. The DB instance has been restored from a DB snapshot"),
}
