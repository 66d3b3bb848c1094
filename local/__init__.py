"""Local emulation of the archive and source accounts (moto plus fidelity patches, and a real PostgreSQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from local.accounts import ARCHIVE_ACCOUNT, REGION, SOURCE_ACCOUNT

if TYPE_CHECKING:
    from local.world import Execution, World

__all__ = ["ARCHIVE_ACCOUNT", "REGION", "SOURCE_ACCOUNT", "Execution", "World"]


def __getattr__(name: str) -> Any:
    # World and Execution on first use: importing the package (as every `python -m local` command does) stays cheap.
    if name in {"Execution", "World"}:
        from local import world  # noqa: PLC0415

        return getattr(world, name)
    raise AttributeError(f"module 'local' has no attribute {name!r}")
