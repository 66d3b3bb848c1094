"""pgaudit settings outside parameter groups: `ALTER DATABASE ... SET pgaudit.log` and `ALTER ROLE ... SET`.

PostgreSQL applies a per-database or per-role setting at connection start, over the server's (the parameter
groups'), so an owner with rds_superuser can turn auditing off for one database or role and no parameter group
shows it. These settings live in the shared catalog pg_db_role_setting (one row per database and role pair, 0 for
"any"; readable by every user, as psql's \\drds shows), so one query from any database sees the whole cluster.
Reconciliation reads them with the owner's database user through the Data API and reports each one that audits
less than the source's pgaudit.log, with the RESET that removes it; it never runs the RESET: the setting is the
owner's, as an instance's DB parameter group is.
"""

from __future__ import annotations

from pgaudit_archiver.audit_policy import missing_classes
from pgaudit_archiver.aws.rds_data import SourceRdsData
from pgaudit_archiver.models import Drift, Model

# quote_ident: the RESET is printed for the owner to paste, so names are quoted the way PostgreSQL itself would.
# setconfig holds "name=value" strings; the value may itself contain '=' only after the first one.
OVERRIDES_SQL = (
    "SELECT coalesce(quote_ident(d.datname), ''), coalesce(quote_ident(r.rolname), ''), "
    "split_part(c.setting, '=', 1), substr(c.setting, strpos(c.setting, '=') + 1) "
    "FROM pg_db_role_setting AS s "
    "LEFT JOIN pg_database AS d ON d.oid = s.setdatabase "
    "LEFT JOIN pg_roles AS r ON r.oid = s.setrole "
    "CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting) "
    "WHERE c.setting LIKE 'pgaudit.log=%' "
    "ORDER BY 1, 2"
)


class PgauditOverride(Model):
    """One pgaudit.log set with ALTER DATABASE / ALTER ROLE; '' stands for "every" database or role."""

    database: str
    role: str
    value: str

    @property
    def where(self) -> str:
        if self.role and self.database:
            return f"role {self.role} in database {self.database}"
        if self.role:
            return f"role {self.role}"
        return f"database {self.database}" if self.database else "every role in every database"

    @property
    def reset_sql(self) -> str:
        # ALTER ROLE ALL IN DATABASE d SET is stored as ALTER DATABASE d SET is (role 0): one RESET removes either.
        if not self.role and self.database:
            return f"ALTER DATABASE {self.database} RESET pgaudit.log;"
        in_database = f" IN DATABASE {self.database}" if self.database else ""
        return f"ALTER ROLE {self.role or 'ALL'}{in_database} RESET pgaudit.log;"


def read_overrides(rds_data: SourceRdsData, cluster_arn: str, secret_arn: str, database: str) -> list[PgauditOverride]:
    """Every pgaudit.log set per database or role in the cluster (one Data API call)."""
    rows = rds_data.execute(cluster_arn, secret_arn, database, OVERRIDES_SQL)
    overrides = []
    for row in rows:
        database_name, role_name, _, value = (str(field.get("stringValue", "")) for field in row)
        overrides.append(PgauditOverride(database=database_name, role=role_name, value=value))
    return overrides


def override_drift(overrides: list[PgauditOverride], expected: str) -> list[Drift]:
    """The overrides that audit less than `expected` (the source's pgaudit.log, held to the minimum policy)."""
    drift = []
    for override in overrides:
        try:
            lacking = missing_classes(override.value, expected)
        except ValueError:  # a value pgaudit refuses at connection start leaves the server's: not a reduction
            continue
        if lacking:
            where, reset = override.where, override.reset_sql
            drift.append(Drift(kind="pgaudit-override", resource=where, expected=reset, actual=override.value))
    return drift
