"""The registry records a source's database by its resource id, and never mixes two databases under one name."""

from pgaudit_archiver.steps.summary import OnboardingState, record_summary, summarize
from tests.unit.fakes import SOURCE, FakeRegistry
from tests.unit.test_steps_summary import state


def onboarded_state(resource_id: str, original_group: str) -> OnboardingState:
    base = state()
    return base.model_copy(
        update={
            "cluster": base.cluster.model_copy(update={"resource_id": resource_id, "identifier": "orders"}),
            "parameter_group": base.parameter_group.model_copy(update={"original_parameter_group": original_group}),
        }
    )


def test_onboarding_records_the_databases_resource_id_and_name() -> None:
    registry = FakeRegistry()
    first = onboarded_state("cluster-ORDERS", "default.aurora-postgresql16")

    record_summary(registry, first, summarize(first))

    item = registry.get(SOURCE)
    assert item is not None
    assert (item["resource_id"], item["identifier"]) == ("cluster-ORDERS", "orders")


def test_a_new_database_under_a_registered_name_gets_its_own_original_settings() -> None:
    registry = FakeRegistry()
    deleted = onboarded_state("cluster-ORDERS", "owners-group")
    record_summary(registry, deleted, summarize(deleted))
    registry.finish(SOURCE, "deleted", {"deleted_at": "2026-01-01T00:00:00+00:00"})  # type: ignore[arg-type]
    restored = onboarded_state("cluster-RESTORED", "default.aurora-postgresql16")

    record_summary(registry, restored, summarize(restored))

    item = registry.get(SOURCE)
    assert item is not None
    assert item["resource_id"] == "cluster-RESTORED"
    assert item["previous_resource_id"] == "cluster-ORDERS"
    assert item["original"]["parameter_group"] == "default.aurora-postgresql16"  # not the deleted one's
    assert (item["status"], item["deleted_at"]) == ("active", None)
