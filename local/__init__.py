"""Local emulation of the archive and source accounts (moto plus fidelity patches, and a real PostgreSQL)."""

from local.world import ARCHIVE_ACCOUNT, REGION, SOURCE_ACCOUNT, Execution, World

__all__ = ["ARCHIVE_ACCOUNT", "REGION", "SOURCE_ACCOUNT", "Execution", "World"]
