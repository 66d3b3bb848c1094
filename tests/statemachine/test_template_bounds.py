"""Parameter bounds taken from AWS's documented quotas: a value past one is refused at deployment (the template's
MaxValue) and by the function's settings, never accepted and then silently not honoured."""

import pytest

from local.template import ARCHIVE_TEMPLATE, load_template, stack_defaults
from pgaudit_archiver.errors import ConfigurationError
from pgaudit_archiver.handlers import clear_container_caches
from pgaudit_archiver.settings import ReconcilePlanSettings, get_settings, variables_of

PARAMETERS = load_template(ARCHIVE_TEMPLATE)["Parameters"]

# Step Functions quotas: "an inline Map state ... up to 40 concurrent iterations"; MaxConcurrency above it runs 40.
INLINE_MAP_CONCURRENCY = 40


@pytest.fixture
def plan_settings(monkeypatch):
    """Plan Run's settings as the function reads them, with RECONCILE_SEGMENTS set to the given value."""
    clear_container_caches()

    def read(segments):
        for name in variables_of(ReconcilePlanSettings):
            monkeypatch.setenv(name, stack_defaults().get(name, "eu-west-1"))
        monkeypatch.setenv("RECONCILE_SEGMENTS", str(segments))
        return get_settings(ReconcilePlanSettings)

    yield read
    clear_container_caches()


def test_reconcile_segments_template_bound_is_the_inline_map_concurrency():
    assert PARAMETERS["ReconcileSegments"]["MaxValue"] == INLINE_MAP_CONCURRENCY
    assert PARAMETERS["ReconcileSegments"]["MinValue"] == 1


def test_reconcile_segments_settings_take_the_inline_map_concurrency(plan_settings):
    assert plan_settings(INLINE_MAP_CONCURRENCY).reconcile_segments == INLINE_MAP_CONCURRENCY


def test_reconcile_segments_settings_past_the_inline_map_concurrency_are_refused_by_name(plan_settings):
    with pytest.raises(ConfigurationError, match="RECONCILE_SEGMENTS='41' is invalid"):
        plan_settings(INLINE_MAP_CONCURRENCY + 1)


def test_adoption_concurrency_template_bound_is_the_inline_map_concurrency():
    assert PARAMETERS["AdoptionConcurrency"]["MaxValue"] == INLINE_MAP_CONCURRENCY
