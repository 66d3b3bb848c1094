"""Logger, tracer and metrics, created once; configured by POWERTOOLS_* environment variables."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
