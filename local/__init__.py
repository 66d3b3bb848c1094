"""Local emulation of the archive and source accounts (moto plus fidelity patches, and a real PostgreSQL)."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from local.accounts import ARCHIVE_ACCOUNT, REGION, SOURCE_ACCOUNT

if TYPE_CHECKING:
    from local.world import Execution, World

__all__ = ["ARCHIVE_ACCOUNT", "REGION", "SOURCE_ACCOUNT", "Execution", "World", "collect_garbage_less_often"]

# An emulated world allocates millions of small objects a minute (moto's request parsing and serialization) and keeps
# a large heap alive: at Python's default (2,000 allocations) the collector walks it so often that it took a quarter of
# the test suite's CPU time. Cycles are still collected, a few hundred times less often.
GC_THRESHOLDS = (100_000, 50, 1000)


def collect_garbage_less_often() -> None:
    """For a process that runs emulated worlds: the test suite and the `python -m local` commands."""
    gc.set_threshold(*GC_THRESHOLDS)


def __getattr__(name: str) -> Any:
    # World and Execution on first use: importing the package (as every `python -m local` command does) stays cheap.
    if name in {"Execution", "World"}:
        from local import world  # noqa: PLC0415

        return getattr(world, name)
    raise AttributeError(f"module 'local' has no attribute {name!r}")
