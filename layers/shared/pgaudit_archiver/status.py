"""A source's status in the registry: the one list the workflows write, the API filters by, the OpenAPI document
enumerates and the command line reports.

Standard library only: the command line imports it without the layer's dependencies (pydantic, Powertools).
"""

from __future__ import annotations

from enum import StrEnum


class SourceStatus(StrEnum):
    """Where a source stands in the registry (listed in the order a report shows them)."""

    ACTIVE = "active"
    PENDING_REBOOT = "pending-reboot"  # archiving, with the pgaudit library loaded at the next reboot
    ONBOARDING = "onboarding"
    DRIFTED = "drifted"
    FAILED = "failed"
    OFFBOARDING = "offboarding"
    OFFBOARDED = "offboarded"
    # Neither its name nor its resource id is found: no drift, no repair; its stream and destination are kept until
    # an admin offboards it or DeletedSourceGraceDays pass (archived objects always stay).
    DELETED = "deleted"


# A workflow is working on the source.
RUNNING_STATUSES = frozenset({SourceStatus.ONBOARDING, SourceStatus.OFFBOARDING})
# The source is archived (a reboot may still be owed).
ONBOARDED_STATUSES = frozenset({SourceStatus.ACTIVE, SourceStatus.PENDING_REBOOT})
