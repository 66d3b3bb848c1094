"""The archive's minimum audit policy, and which requests reduce a source's auditing.

A request *below the minimum* (pgaudit classes the minimum audits switched off, or a filter pattern the archive does
not allow) is an admin's exception, recorded in the registry with who granted it. A request that *reduces* auditing
(an immediate reboot, fewer classes or another filter pattern than the source has now, offboarding) needs an admin or
a role the source account designates. Reconciliation holds each source to the policy, not to whatever was asked.

pgaudit.log is read the way pgaudit's check_pgaudit_log reads it: tokens left to right from nothing, a class adds its
bits, `-class` removes them, `all` is every class, `none` adds nothing (so `none,ddl` is ddl), and `misc` covers
`misc_set` (pgaudit sets both bits for it). So `all,-ddl` audits everything but ddl.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pgaudit_archiver.models import Drift, Model, normalize_pgaudit_log

# One bit per pgaudit class, as in pgaudit.c (LOG_DDL ... LOG_MISC_SET).
_DDL, _FUNCTION, _MISC, _READ, _ROLE, _WRITE, _MISC_SET = (1 << bit for bit in range(7))
ALL = _DDL | _FUNCTION | _MISC | _READ | _ROLE | _WRITE | _MISC_SET
CLASS_BITS = {
    "none": 0, "all": ALL, "ddl": _DDL, "function": _FUNCTION, "misc": _MISC | _MISC_SET, "misc_set": _MISC_SET,
    "read": _READ, "role": _ROLE, "write": _WRITE,
}  # fmt: skip
# How a set of bits is written back, in pgaudit's documented order; misc_set alone when misc's own bit is off.
_NAMED = (("ddl", _DDL), ("function", _FUNCTION), ("misc", _MISC | _MISC_SET), ("misc_set", _MISC_SET),
          ("read", _READ), ("role", _ROLE), ("write", _WRITE))  # fmt: skip
EXCEPTION_FIELD = "audit_policy_exception"  # the registry attribute of an admin's exception
Rule = Literal["MinimumPgauditLog", "AllowedFilterPatterns", "AuditReducerRoleNames"]
# An IAM role name character ([\w+=,.@-]) or the pattern's wildcard; no comma: it separates the patterns.
ROLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_+=.@*-]{1,64}", re.ASCII)
_ASSUMED_ROLE = re.compile(r"arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role/(?P<role>[^/]+)/[^/]+", re.ASCII)


def audited(pgaudit_log: str) -> int:
    """The classes a pgaudit.log value audits, as pgaudit's bits; ValueError for a value pgaudit would refuse."""
    bits = 0
    for token in normalize_pgaudit_log(pgaudit_log).split(","):
        name = token.removeprefix("-")
        bits = bits & ~CLASS_BITS[name] if token.startswith("-") else bits | CLASS_BITS[name]
    return bits


def class_list(bits: int) -> str:
    """A pgaudit.log value auditing exactly `bits`."""
    if bits == ALL:
        return "all"
    names, left = [], bits
    for name, mask in _NAMED:
        if (left & mask) == mask:
            names.append(name)
            left &= ~mask
    if bits & _MISC and not bits & _MISC_SET:  # misc without misc_set is only written by subtracting it
        names += ["misc", "-misc_set"]
    return ",".join(names) or "none"


def missing_classes(pgaudit_log: str, minimum: str) -> str:
    """What `minimum` audits that `pgaudit_log` does not, written as pgaudit.log classes ('' when nothing)."""
    lacking = audited(minimum) & ~audited(pgaudit_log)
    return "" if not lacking else class_list(lacking)


def _audited_or_nothing(pgaudit_log: str) -> int:
    """A recorded value pgaudit would refuse (edited by hand, say) audits nothing: pgaudit keeps none of it."""
    try:
        return audited(pgaudit_log)
    except ValueError:
        return 0


def same_classes(actual: str | None, expected: str) -> bool:
    """Whether a cluster's pgaudit.log audits exactly what is expected (order and spelling aside)."""
    try:
        return actual is not None and audited(actual) == audited(expected)
    except ValueError:  # not a value pgaudit takes: it audits nothing
        return False


def role_name_of(principal_arn: str) -> str | None:
    """The role of an assumed-role session (arn:aws:sts::A:assumed-role/ROLE/SESSION); None for anyone else."""
    match = _ASSUMED_ROLE.fullmatch(principal_arn)
    return match["role"] if match else None


def _role_pattern(pattern: str) -> re.Pattern[str]:
    # `*` stands for any run of IAM name characters; IAM role names are unique whatever their case.
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.compile(r"[\w+=,.@-]*".join(parts), re.ASCII | re.IGNORECASE)


class Breach(Model):
    """One rule of the policy a request breaks: the template parameter that states it, and how."""

    rule: Rule
    message: str


class Audit(Model):
    """What a request asks of a cluster's auditing, the deployment's defaults filled in."""

    pgaudit_log: str
    filter_pattern: str
    reboot: str


class AuditPolicy(Model):
    minimum_pgaudit_log: str
    allowed_filter_patterns: tuple[str, ...]  # the deployment's default pattern is always among them
    default_pgaudit_log: str
    default_filter_pattern: str
    default_reboot: str
    reducer_role_names: tuple[str, ...] = ()

    def resolve(self, request: Mapping[str, Any]) -> Audit:
        """The auditing a request (or a registry item's request) amounts to once the defaults are filled in."""
        return Audit(
            pgaudit_log=request.get("pgaudit_log") or self.default_pgaudit_log,
            filter_pattern=request.get("filter_pattern") or self.default_filter_pattern,
            reboot=request.get("reboot") or self.default_reboot,
        )

    def breaches(self, audit: Audit) -> list[Breach]:
        """The rules of the minimum a request breaks (an admin may grant them as an exception)."""
        found = []
        lacking_bits = audited(self.minimum_pgaudit_log) & ~_audited_or_nothing(audit.pgaudit_log)
        if lacking_bits:
            lacking = class_list(lacking_bits)
            found.append(Breach(rule="MinimumPgauditLog", message=(
                f"pgaudit_log {audit.pgaudit_log!r} does not audit {lacking}, which the archive's minimum audit "
                f"policy keeps on (MinimumPgauditLog {self.minimum_pgaudit_log!r})"
            )))  # fmt: skip
        if audit.filter_pattern not in self.allowed_filter_patterns:
            allowed = ", ".join(repr(pattern) for pattern in self.allowed_filter_patterns)
            found.append(Breach(rule="AllowedFilterPatterns", message=(
                f"filter_pattern {audit.filter_pattern!r} is not one the archive's minimum audit policy allows "
                f"(AllowedFilterPatterns: {allowed}); another pattern may keep pgaudit lines out of the archive"
            )))  # fmt: skip
        return found

    def reductions(self, audit: Audit, current: Audit | None) -> list[str]:
        """How a request reduces auditing: against the source's current request when it is onboarded."""
        found = []
        if audit.reboot == "immediate" and self.default_reboot != "immediate":
            found.append("an immediate reboot (no audit lines while the instances restart)")
        if current is not None:
            dropped_bits = _audited_or_nothing(current.pgaudit_log) & ~audited(audit.pgaudit_log)
            if dropped_bits:
                dropped = class_list(dropped_bits)
                found.append(f"pgaudit_log {audit.pgaudit_log!r} drops {dropped} from the current "
                             f"{current.pgaudit_log!r}")  # fmt: skip
            # Leaving a pattern the policy does not allow (an exception, an old request) for another is no reduction.
            if (
                audit.filter_pattern != current.filter_pattern
                and current.filter_pattern in self.allowed_filter_patterns
            ):
                found.append(f"filter_pattern {audit.filter_pattern!r} replaces the current "
                             f"{current.filter_pattern!r}")  # fmt: skip
        return found

    def is_reducer(self, principal_arn: str) -> bool:
        """A session of a role whose name the deployment designates (AuditReducerRoleNames); the caller's account
        is checked by authorization (a caller acts on its own account's clusters)."""
        role = role_name_of(principal_arn)
        return role is not None and any(_role_pattern(p).fullmatch(role) for p in self.reducer_role_names)

    def desired(
        self, request: Mapping[str, Any], exception: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], list[Drift]]:
        """What reconciliation holds a source to: its request, unless that is below the minimum without an admin's
        exception for exactly it; then the request raised to the minimum (classes added, the default pattern)."""
        audit = self.resolve(request)
        desired = {**request, "pgaudit_log": audit.pgaudit_log, "filter_pattern": audit.filter_pattern}
        if exception and (exception.get("pgaudit_log"), exception.get("filter_pattern")) == (
            audit.pgaudit_log,
            audit.filter_pattern,
        ):
            return desired, []
        drift = []
        for breach in self.breaches(audit):
            if breach.rule == "MinimumPgauditLog":
                raised = class_list(_audited_or_nothing(audit.pgaudit_log) | audited(self.minimum_pgaudit_log))
                drift.append(Drift(kind="audit-policy", resource="pgaudit_log", expected=raised,
                                   actual=audit.pgaudit_log))  # fmt: skip
                desired["pgaudit_log"] = raised
            else:
                drift.append(Drift(kind="audit-policy", resource="filter_pattern",
                                   expected=self.default_filter_pattern, actual=audit.filter_pattern))  # fmt: skip
                desired["filter_pattern"] = self.default_filter_pattern
        return desired, drift
