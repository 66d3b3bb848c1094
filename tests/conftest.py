"""Fake credentials and region before any handler import; nothing here reaches AWS."""

import gc
import os
import sys

from hypothesis import settings

from local import collect_garbage_less_often

collect_garbage_less_often()

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


_MATRIX_MODULE = "tests.integration.test_fault_matrix"
_worker_matrix_results: list[list[str | bool]] = []  # what pytest-xdist workers report to the controller


def pytest_collection_finish(session):
    """What collection imported (moto, botocore's models, the product) lives until the end: frozen, the garbage
    collector stops walking it on every full collection (a fifth of an emulated world's CPU time)."""
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session):
    matrix = sys.modules.get(_MATRIX_MODULE)
    if matrix is not None and hasattr(session.config, "workeroutput"):  # an xdist worker
        session.config.workeroutput["fault_matrix"] = [list(result) for result in matrix.RESULTS]


def pytest_testnodedown(node, error):
    _worker_matrix_results.extend(getattr(node, "workeroutput", {}).get("fault_matrix", []))


def pytest_terminal_summary(terminalreporter):
    """Print the fault-injection matrix's size and how many cases held (tests/integration/test_fault_matrix.py)."""
    matrix = sys.modules.get(_MATRIX_MODULE)
    results = [tuple(result) for result in _worker_matrix_results] or (matrix.RESULTS if matrix else [])
    if results:
        held = sum(1 for _, _, ok in results if ok)
        faults = sum(1 for _, kind, _ in results if kind != "crash")
        calls = len({name for name, kind, _ in results if kind != "crash"})
        terminalreporter.write_line(
            f"fault matrix: {calls} workflow calls, {faults} call x fault cases + {len(results) - faults} function "
            f"crashes = {len(results)} cases; {held} held"
        )


# Hypothesis: modest by default; HYPOTHESIS_PROFILE=deep for many more examples.
settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
