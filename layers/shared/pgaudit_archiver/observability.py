"""Logger, tracer and metrics, created once; configured by POWERTOOLS_* environment variables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

Handler = Callable[[Any, Any], Any]


def observed(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """The Powertools decorators every handler wears: Lambda context (and correlation id) in each log line, the
    metrics flushed with the cold-start metric, the invocation traced."""

    def decorate(handler: Handler) -> Handler:
        traced = tracer.capture_lambda_handler(handler)
        measured = metrics.log_metrics(traced, capture_cold_start_metric=True)
        logged: Handler = logger.inject_lambda_context(measured, correlation_id_path=correlation_id_path)
        return logged

    return decorate
