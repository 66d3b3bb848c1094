"""Fake credentials and region before any handler import; nothing here reaches AWS."""

import os
import sys

from hypothesis import settings

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_SERVICE_NAME": "pgaudit-archiver",
        "POWERTOOLS_METRICS_NAMESPACE": "PgauditArchiver",
    }
)


def pytest_terminal_summary(terminalreporter):
    """Print the fault-injection matrix's size and how many cases held (tests/integration/test_fault_matrix.py)."""
    matrix = sys.modules.get("tests.integration.test_fault_matrix")
    summary = matrix.matrix_summary() if matrix else None
    if summary:
        terminalreporter.write_line(summary)


# Hypothesis: modest by default; HYPOTHESIS_PROFILE=deep for many more examples.
settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
