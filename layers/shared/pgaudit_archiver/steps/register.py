"""Register Execution: the registry says which execution works on a source, and where to watch it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationError

from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.models import Model, Source
from pgaudit_archiver.naming import console_url

Operation = Literal["onboard", "offboard"]


class Registration(Model):
    registered: bool
    console_url: str | None = None


def source_of(raw_request: Any) -> Source | None:
    """The source a request names, if it names one well enough to key the registry (validation comes next)."""
    if not isinstance(raw_request, dict):
        return None
    try:
        source = Source.model_validate({key: raw_request.get(key) for key in ("account_id", "region", "cluster_id")})
    except ValidationError:
        return None
    valid = source.account_id.isdigit() and len(source.account_id) == 12 and source.cluster_id.strip()
    return source.model_copy(update={"cluster_id": source.cluster_id.lower()}) if valid else None


def register_execution(registry: Registry, raw_request: Any, operation: Operation, execution_arn: str) -> Registration:
    source = source_of(raw_request)
    if source is None:
        return Registration(registered=False)
    url = console_url(execution_arn)
    registry.record_execution(source, operation, execution_arn, url, raw_request)
    return Registration(registered=True, console_url=url)
