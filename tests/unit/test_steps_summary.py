"""Summarize Onboarding against an in-memory registry: resources, changes, what is pending and what to do."""

from pgaudit_archiver.models import (
    ClusterFacts,
    ClusterMember,
    ExtensionResult,
    ParameterGroupResult,
    RebootResult,
    RoleResult,
    StepResult,
)
from pgaudit_archiver.steps.summary import OnboardingState, record_summary, renamed_with_its_secret_untagged, summarize
from tests.unit.fakes import SOURCE, FakeRegistry, resolved


def cluster(engine_version: str = "16.4") -> ClusterFacts:
    members = (
        ClusterMember(instance_id="orders-1", is_writer=True, parameter_group_status="pending-reboot"),
        ClusterMember(instance_id="orders-2", is_writer=False, parameter_group_status="pending-reboot"),
    )
    return ClusterFacts(
        arn="arn:aws:rds:eu-west-1:111122223333:cluster:orders", status="available", ready=True,
        engine_version=engine_version, parameter_group="default.aurora-postgresql16", http_endpoint_enabled=True,
        master_secret_arn=None, database_name="app", members=members, polls=1,
    )  # fmt: skip


def state(
    pending_reboot: tuple[str, ...] = (), extension: str = "created", engine_version: str = "16.4"
) -> OnboardingState:
    return OnboardingState(
        request=resolved(),
        cluster=cluster(engine_version),
        delivery_stream=StepResult(resources={"delivery_stream_arn": "arn:stream"}, changes=("created stream",)),
        destination_role=RoleResult(resources={"destination_role_arn": "arn:role"}),
        destination=StepResult(resources={"destination_arn": "arn:destination"}),
        parameter_group=ParameterGroupResult(
            parameter_group="pgaudit-orders",
            original_parameter_group="default.aurora-postgresql16",
            original_shared_preload_libraries="pg_stat_statements",
            pending_reboot=pending_reboot,
        ),
        reboot=RebootResult(rebooted=("orders-2",), pending_reboot=pending_reboot),
        extension=ExtensionResult(status=extension, database="app", reason="no Data API"),  # type: ignore[arg-type]
        log_export=StepResult(resources={"log_group": "/aws/rds/cluster/orders/postgresql"}),
        subscription_filter=StepResult(changes=("created filter",)),
    )


def test_summarize_everything_done_is_active_with_every_resource_and_change() -> None:
    summary = summarize(state())

    assert summary.status == "active"
    assert summary.resources["destination_arn"] == "arn:destination"
    assert summary.changes == ("created stream", "created filter", "rebooted orders-2")
    assert (summary.pending, summary.actions_required) == ((), ())


def test_summarize_deferred_reboot_and_manual_extension_say_what_the_user_must_do() -> None:
    summary = summarize(state(pending_reboot=("orders-1",), extension="manual"))

    assert summary.status == "pending-reboot"
    assert summary.pending == (
        "reboot of orders-1 (pgaudit loads at the next reboot)",
        "CREATE EXTENSION pgaudit in app: no Data API",
    )
    assert summary.actions_required[1].startswith(
        "run `CREATE EXTENSION IF NOT EXISTS pgaudit;` in database app as a member of rds_superuser"
    )
    assert "pgaudit-archiver:database-user=true and pgaudit-archiver:cluster=orders" in summary.actions_required[1]
    assert summary.extension == {
        "status": "manual",
        "database": "app",
        "sql": "CREATE EXTENSION IF NOT EXISTS pgaudit;",
        "reason": "no Data API",
        "secret_arn": None,
    }


def test_deferred_reboot_advice_reboots_no_instance_twice() -> None:
    both = ("orders-1", "orders-2")

    newer = summarize(state(pending_reboot=both, engine_version="14.7")).actions_required[0]
    older = summarize(state(pending_reboot=both, engine_version="14.6")).actions_required[0]

    assert newer.startswith("reboot orders-1, orders-2 in your maintenance window, readers first")
    assert older.startswith("reboot the writer orders-1 in your maintenance window")
    assert "its readers reboot with it" in older and "orders-2" not in older


def test_record_summary_keeps_the_first_original_settings_for_offboarding() -> None:
    registry = FakeRegistry()
    record_summary(registry, state(), summarize(state()))
    later = state().model_copy(
        update={"parameter_group": state().parameter_group.model_copy(update={"original_parameter_group": "ours"})}
    )
    record_summary(registry, later, summarize(later))

    item = registry.get(SOURCE)
    assert item is not None
    assert item["original"]["parameter_group"] == "default.aurora-postgresql16"
    assert item["status"] == "active"


def test_summarize_says_where_public_keeps_plpgsql_and_what_to_do() -> None:
    kept = state().model_copy(
        update={"extension": ExtensionResult(status="present", database="app", plpgsql_kept_by_public=("app",))}
    )

    summary = summarize(kept)

    assert summary.pending == ("PUBLIC keeps USAGE on plpgsql in app: the database user may not revoke it",)
    assert "REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC;" in summary.actions_required[0]
    assert "function class" in summary.actions_required[0]


def test_a_renamed_databases_secret_still_tagged_with_its_old_identifier_is_named_with_the_commands() -> None:
    registry, secret = FakeRegistry(), "arn:aws:secretsmanager:eu-west-1:111122223333:secret:pgaudit/orders-AbCdEf"
    registry.set_fields(SOURCE.model_copy(update={"cluster_id": "orders-old"}), {"extension": {"secret_arn": secret}})
    registry.set_fields(SOURCE, {"renamed_from": "orders-old"})
    untagged = state(extension="manual").model_copy(
        update={"extension": ExtensionResult(status="manual", database="app", reason="no secret", secret_untagged=True)}
    )

    summary = summarize(untagged, renamed_with_its_secret_untagged(registry, untagged))

    [action] = summary.actions_required
    assert "still tagged pgaudit-archiver:cluster=orders-old" in action
    assert (f"`aws secretsmanager tag-resource --region eu-west-1 --secret-id {secret} "
            "--tags Key=pgaudit-archiver:cluster,Value=orders`") in action  # fmt: skip
    assert "`pgaudit-archiver --region eu-west-1 onboard 111122223333 orders`" in action
    # Any other reason for a manual extension (here: no Data API) is not about a tag: no such advice.
    assert renamed_with_its_secret_untagged(registry, state(extension="manual")) is None
