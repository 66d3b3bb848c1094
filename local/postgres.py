"""A real PostgreSQL 15 server with the real pgaudit behind each emulated database (an Aurora or Multi-AZ DB cluster,
an RDS for PostgreSQL DB instance).

The server runs from a temporary directory on 127.0.0.1 (as the `postgres` user when we are root: PostgreSQL
refuses to run as root), with RDS's log_line_prefix. A shipper thread turns its log into CloudWatch Logs
events of the database's log group while the database exports that log, as RDS does.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
RDS_LOG_LINE_PREFIX = "%t:%r:%u@%d:[%p]:"
ENTRY_START = re.compile(rb"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC:", re.MULTILINE)
# The cluster parameters a restart passes to the server; the rest of RDS's parameters mean nothing here.
PASSED_PARAMETERS = re.compile(r"^(shared_preload_libraries|pgaudit\.[a-z_]+)$")
MASTER_USER = "postgres"
RDS_SUPERUSER = "rds_superuser"  # RDS's administrative role (not a PostgreSQL superuser); the master user is a member
TEMPLATE_DATABASE = "appdb"  # the database the emulated owners create (World.create_cluster's DatabaseName)

_servers: list[PostgresServer] = []


def available() -> str | None:
    """None when a server can be started here, else what is missing."""
    if not (BIN / "postgres").exists():
        return "postgresql-15 (Debian package) is not installed"
    if not (BIN.parent / "lib" / "pgaudit.so").exists():
        return "postgresql-15-pgaudit (Debian package) is not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs a 'postgres' user to run the server"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop_all(*_: object) -> None:
    for server in list(_servers):
        server.stop()


atexit.register(_stop_all)


_template_lock = threading.Lock()
_template: Path | None = None


def _initialized_data_directory(run: Callable[..., None]) -> Path:
    """An initdb'd data directory the servers of this process start from (as copies); removed at exit."""
    global _template  # noqa: PLW0603
    with _template_lock:
        if _template is None:
            root = Path(tempfile.mkdtemp(prefix="pgaudit-archiver-initdb-"))
            os.chmod(root, 0o755)
            if os.geteuid() == 0:
                shutil.chown(root, "postgres", "postgres")
            run(str(BIN / "initdb"), "-D", str(root / "data"), "-U", MASTER_USER, "--auth=trust", "-E", "UTF8",
                "--no-locale", "--no-instructions", "--no-sync")  # fmt: skip
            atexit.register(shutil.rmtree, root, True)
            _prepare_template(run, root)
            _template = root / "data"
        return _template


def _prepare_template(run: Callable[..., None], root: Path) -> None:
    """What every emulated database has, made once in the template (CREATE DATABASE copies a database block by
    block, a second a server): RDS's rds_superuser role and the owners' database."""
    options = f"-c listen_addresses='' -k {root} -c fsync=off"
    run(str(BIN / "pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", str(root / "template.log"), "-w", "start")
    try:
        with psycopg.connect(host=str(root), dbname="postgres", user=MASTER_USER, autocommit=True) as connection:
            connection.execute(f"CREATE ROLE {RDS_SUPERUSER} NOLOGIN")
            connection.execute(f'CREATE DATABASE "{TEMPLATE_DATABASE}"')
    finally:
        run(str(BIN / "pg_ctl"), "-D", str(root / "data"), "-w", "-m", "fast", "stop")


class PostgresServer:
    def __init__(self, name: str, databases: tuple[str, ...] = ()) -> None:
        self.name = name
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"pgaudit-archiver-{name}-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgresql.log"
        self.databases = databases
        self._as_postgres = os.geteuid() == 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ process
    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, cwd="/")

    def start(self, parameters: dict[str, str | None], copy_of: PostgresServer | None = None) -> None:
        """Start from a fresh cluster, or from a copy of `copy_of`'s data (a snapshot, a restore, a blue/green green:
        a checkpoint, then a file copy that starts with crash recovery, as a storage snapshot would)."""
        os.chmod(self.root, 0o755)
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        if copy_of is not None:
            with copy_of.connect("postgres") as connection:
                connection.execute("CHECKPOINT")
            self._run("cp", "-a", str(copy_of.data), str(self.data))
            (self.data / "postmaster.pid").unlink(missing_ok=True)
        else:
            # A copy of one initdb per process: initdb takes seconds, a copy a fraction of one.
            self._run("cp", "-a", str(_initialized_data_directory(self._run)), str(self.data))
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write("include_if_exists = 'emulation.conf'\n")
        self.log_path.touch()
        if self._as_postgres:
            shutil.chown(self.log_path, "postgres", "postgres")
        self._write_settings(parameters)
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-w", "start")
        _servers.append(self)
        if copy_of is not None:
            return  # its roles and databases came with the copy
        with self.connect("postgres") as connection:  # rds_superuser, as every RDS and Aurora PostgreSQL has, is there
            for database in self.databases:
                if database != TEMPLATE_DATABASE:
                    connection.execute(f'CREATE DATABASE "{database}"')

    def member_of(self, user: str, role: str) -> bool:
        with self.connect("postgres") as connection:
            row = connection.execute(
                "SELECT pg_has_role(%s, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s", (user, role, user)
            ).fetchone()
            return bool(row and row[0])

    def restart(self, parameters: dict[str, str | None]) -> None:
        with self._lock:
            self._write_settings(parameters)
            self._run(
                str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-w", "-m", "fast", "restart"
            )

    def reload(self, parameters: dict[str, str | None]) -> None:
        with self._lock:
            self._write_settings(parameters, merge=True)
            self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "reload")

    def stop(self) -> None:
        if self in _servers:
            with contextlib.suppress(ValueError):  # stopped at once by another thread
                _servers.remove(self)
            with contextlib.suppress(subprocess.CalledProcessError):  # already gone
                self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _write_settings(self, parameters: dict[str, str | None], merge: bool = False) -> None:
        path = self.data / "emulation.conf"
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "log_line_prefix": f"'{RDS_LOG_LINE_PREFIX}'",
            "log_timezone": "'UTC'",
            "lc_messages": "'C'",
            "log_connections": "off",
            # An emulated database's data need not survive a machine crash: no waiting on the disk.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        if merge and path.exists():
            for line in path.read_text().splitlines():
                key, _, value = line.partition(" = ")
                settings.setdefault(key, value)
        for name, value in parameters.items():
            if PASSED_PARAMETERS.match(name) and value is not None:
                settings[name] = "'" + value.replace("'", "''") + "'"
        path.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        if self._as_postgres:
            shutil.chown(path, "postgres", "postgres")

    # ------------------------------------------------------------------ SQL
    def connect(self, database: str, user: str = MASTER_USER) -> psycopg.Connection[Any]:
        return psycopg.connect(host="127.0.0.1", port=self.port, dbname=database, user=user, autocommit=True)

    def execute(self, database: str, sql: str, user: str = MASTER_USER) -> tuple[list[tuple[Any, ...]], int]:
        """Run one statement as `user`: (rows, rows affected)."""
        with self.connect(database, user) as connection, connection.cursor() as cursor:
            cursor.execute(sql.encode())
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.rowcount


class LogShipper:
    """Tails a server's log: each entry (a first line and its TAB-indented continuation lines) becomes one event."""

    def __init__(self, path: Path, deliver: Callable[[list[dict[str, Any]]], None], interval: float = 0.1) -> None:
        self.path = path
        self.deliver = deliver
        self.interval = interval
        self.enabled = False
        self._offset = 0
        self._pending = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"log-shipper-{path.parent.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def flush(self) -> None:
        """Ship what the log holds now, including an entry that nothing has followed yet."""
        self._poll(final=True)

    def set_export(self, enabled: bool) -> None:
        """The cluster's postgresql export changed: RDS ships only what is logged while it is on."""
        if enabled == self.enabled:
            return
        if enabled:
            with self._lock:
                self._offset = self.path.stat().st_size
                self._pending = b""
                self.enabled = True
        else:
            self.flush()
            self.enabled = False

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._poll(final=False)
            except Exception:
                continue

    def _poll(self, final: bool) -> None:
        with self._lock:
            self._read_and_ship(final)

    def _read_and_ship(self, final: bool) -> None:
        with self.path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
        self._offset += len(chunk)
        if not self.enabled:
            self._pending = b""  # RDS exports only what is logged while the export is on
            return
        data = self._pending + chunk
        starts = [match.start() for match in ENTRY_START.finditer(data)]
        if not starts:
            self._pending = data
            return
        # The last entry may still be growing: keep it until another starts, or until nothing new arrived.
        cut = len(data) if final or not chunk else starts[-1]
        entries = [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True) if a < cut]
        self._pending = data[cut:]
        events = [self._event(entry) for entry in entries if entry.strip()]
        if events:
            self.deliver(events)

    @staticmethod
    def _event(entry: bytes) -> dict[str, Any]:
        message = entry.decode("utf-8", errors="replace").rstrip("\n")
        logged_at = datetime.strptime(message[:23], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
        return {"timestamp": int(logged_at.timestamp() * 1000), "message": message}
