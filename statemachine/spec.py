"""The five workflows, each said once: its states, the function each Task runs (a folder under functions/), and the
Retry and Catch policies by name. `python -m local workflows` writes statemachine/*.asl.json from this file;
`make validate` and tests/statemachine/test_spec.py fail when a committed file differs. Edit here, never the JSON.

Payloads and ResultSelectors come from the pydantic models (`forward`, `fields`), so a field added to a model
travels without an edit here; a field kept out of the state is dropped by name.
"""

from __future__ import annotations

from pgaudit_archiver.errors import (
    PERMANENT_ERRORS,
    AwsServiceUnavailableError,
    RoleNotReadyError,
    ThrottledError,
)
from pgaudit_archiver.events import DriftCountEvent, OffboardSummaryEvent
from pgaudit_archiver.models import (
    ExtensionResult,
    OnboardingSummary,
    ParameterGroupResult,
    RebootResult,
    RoleResult,
    StepResult,
    ValidationResult,
)
from pgaudit_archiver.steps.adopt import Claim
from pgaudit_archiver.steps.failure import FailureDescription
from pgaudit_archiver.steps.offboard import OffboardingSummary, OffboardPlan
from pgaudit_archiver.steps.organization_adoption import AccountStart
from pgaudit_archiver.steps.summary import OnboardingState
from statemachine.asl import (
    OMIT,
    Workflow,
    catch,
    choice,
    fail,
    fields,
    forward,
    inline_map,
    is_true,
    pass_,
    retry,
    service_task,
    succeed,
    task,
    wait,
)

# ---------------------------------------------------------------- policies
# Lambda's own failures to run the function, which Step Functions recommends retrying on every Lambda Task ("Handling
# transient Lambda service exceptions", Step Functions developer guide).
LAMBDA_SERVICE = retry(
    "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException", interval=2, attempts=6, backoff=2,
)  # fmt: skip
TRANSIENT = retry(ThrottledError, AwsServiceUnavailableError, interval=5, attempts=5, backoff=2, max_delay=60)
STANDARD = (LAMBDA_SERVICE, TRANSIENT)
# IAM is eventually consistent: a role created a moment ago may not be assumable by CloudWatch Logs yet.
ROLE_NOT_READY = retry(RoleNotReadyError, interval=10, attempts=8, backoff=1.5, max_delay=60)
UNAVAILABLE = retry(AwsServiceUnavailableError, interval=5, attempts=5, backoff=2, max_delay=60)
THROTTLED = retry(ThrottledError, interval=5, attempts=5, backoff=2, max_delay=60)
# The account's onboarding starts a minute are limited (ThrottledError): a big adoption waits its turn, patiently.
START_LIMITED = retry(ThrottledError, interval=15, attempts=20, backoff=1.5, max_delay=60)
# startExecution.sync's own errors (the service's, not the onboarding's: its failure is counted, never retried).
ONBOARDING_START = retry(
    "StepFunctions.ExecutionLimitExceededException", "StepFunctions.SdkClientException",
    "StepFunctions.AWSStepFunctionsException", "StepFunctions.StepFunctionsException",
    interval=5, attempts=6, backoff=2, max_delay=120,
)  # fmt: skip
EVERYTHING = ["States.ALL"]


def recorded(failure_state: str) -> list[dict[str, object]]:
    """A cluster workflow's Catch: permanent errors by name (the designed failure path, visible in the console),
    then anything else (a timeout, an unexpected exception); both go to the state that records the failure."""
    return [catch(PERMANENT_ERRORS, failure_state), catch(EVERYTHING, failure_state)]


# ---------------------------------------------------------------- shared states
INPUT = "$$.Execution.Input"
EXECUTION = "$$.Execution.Id"
POLL = "$.workflow.poll_interval_seconds"


def register(operation: str, then: str) -> tuple[str, dict[str, object]]:
    return task(
        "Register Execution", "register_execution", "Records this execution and its console link in the registry.",
        {"request": INPUT, "operation": operation, "execution_arn": EXECUTION}, into=None, then=then,
    )  # fmt: skip


def failure_path(workflow: str) -> list[tuple[str, dict[str, object]]]:
    """Record Failure, then the workflow's end with the step, cluster and AWS error code (or, when recording
    failed too, the original error)."""
    return [
        task(
            "Record Failure", "record_failure", "Names the failed step, the cluster and the AWS error code.",
            {"request": INPUT, "failure": "$.failure", "execution_arn": EXECUTION},
            result=fields(FailureDescription, drop=("source", "aws_error_code")), into="$.failure_description",
            catches=[catch(EVERYTHING, f"{workflow} Failed Unrecorded", into="$.record_failure_error")],
            then=f"{workflow} Failed",
        ),
        fail(
            f"{workflow} Failed", "Error and Cause name the step, the cluster and the AWS error code.",
            "$.failure_description.error", "$.failure_description.cause",
        ),
        fail(
            f"{workflow} Failed Unrecorded", "Record Failure itself failed: the original error as Lambda reported it.",
            "$.failure.Error", "$.failure.Cause",
        ),
    ]  # fmt: skip


# ---------------------------------------------------------------- onboarding
ONBOARD = Workflow(
    "onboard",
    "pgaudit-archiver onboarding: takes one Aurora PostgreSQL cluster of a source account from nothing configured "
    "to its pgaudit lines flowing into the archive bucket.",
    retries=STANDARD,
    catches=recorded("Record Failure"),
    states=[
        register("onboard", then="Validate Request"),
        task(
            "Validate Request", "validate_request",
            "Validates the request and reads the cluster through the source account's role.",
            {"request": INPUT}, result=fields(ValidationResult), then="Cluster Available?",
        ),
        choice(
            "Cluster Available?", is_true("$.cluster.ready", "Ensure Delivery Stream"), default="Wait For Cluster",
            comment="Waits while the cluster is creating or modifying.",
        ),
        wait("Wait For Cluster", "Polls the cluster status.", POLL, then="Check Cluster Status"),
        task(
            "Check Cluster Status", "validate_request", "Reads the cluster status again (bounded by MaxPolls).",
            {"request": INPUT, "polls": "$.cluster.polls"}, result=fields(ValidationResult), then="Cluster Available?",
        ),
        task(
            "Ensure Delivery Stream", "ensure_delivery_stream",
            "Creates or updates the source's Firehose stream into the archive bucket.",
            {"request": "$.request"}, result=fields(StepResult), into="$.delivery_stream",
            then="Delivery Stream Active?",
        ),
        choice(
            "Delivery Stream Active?", is_true("$.delivery_stream.ready", "Ensure Destination Role"),
            default="Wait For Delivery Stream", comment="A destination needs an ACTIVE stream.",
        ),
        wait("Wait For Delivery Stream", "Polls the stream status.", POLL, then="Check Delivery Stream"),
        task(
            "Check Delivery Stream", "ensure_delivery_stream", "Reads the stream status again (bounded by MaxPolls).",
            {"request": "$.request", "polls": "$.delivery_stream.polls"}, result=fields(StepResult),
            into="$.delivery_stream", then="Delivery Stream Active?",
        ),
        task(
            "Ensure Destination Role", "ensure_destination_role",
            "Creates or updates the account's role CloudWatch Logs uses to write into its streams (waits while an "
            "offboarding of the account's last source deletes it).",
            {"request": "$.request", "stream_arn": "$.delivery_stream.resources.delivery_stream_arn"},
            result=fields(RoleResult), into="$.destination_role", retries=(ROLE_NOT_READY, *STANDARD),
            then="Ensure Destination",
        ),
        task(
            "Ensure Destination", "ensure_destination",
            "Creates or updates the CloudWatch Logs destination and its access policy for the source account.",
            {
                "request": "$.request",
                "stream_arn": "$.delivery_stream.resources.delivery_stream_arn",
                "role_arn": "$.destination_role.resources.destination_role_arn",
                "role_fresh": "$.destination_role.fresh",
            },
            result=fields(StepResult), into="$.destination", retries=(ROLE_NOT_READY, *STANDARD),
            then="Configure Parameter Group",
        ),
        task(
            "Configure Parameter Group", "configure_parameter_group",
            "Adds pgaudit to shared_preload_libraries and sets pgaudit.log in a parameter group of the cluster's own.",
            {"request": "$.request", "cluster": "$.cluster"}, result=fields(ParameterGroupResult),
            into="$.parameter_group", then="Reboot Now?",
        ),
        choice(
            "Reboot Now?",
            {
                "And": [
                    {"Variable": "$.request.reboot", "StringEquals": "immediate"},
                    {"Variable": "$.parameter_group.reboot_required", "BooleanEquals": True},
                ],
                "Next": "Start Reboot",
            },
            default="Defer Reboot",
            comment="Reboots only when the request says immediate; deferred leaves it to the owner.",
        ),
        pass_(
            "Defer Reboot", "Records which instances still need a reboot.",
            Parameters={
                "ready": True, "resources": {}, "changes": [], "polls": 0, "rebooted": [],
                "pending_reboot": "$.parameter_group.pending_reboot",
            },
            ResultPath="$.reboot", then="Create Extension",
        ),
        pass_(
            "Start Reboot", "Starts the reboot loop with nothing rebooted yet.",
            Result={"ready": False, "resources": {}, "changes": [], "polls": 0, "rebooted": [], "pending_reboot": []},
            ResultPath="$.reboot", then="Reboot Instances",
        ),
        task(
            "Reboot Instances", "reboot_instances",
            "Reboots the next instance that needs it, readers before the writer, one at a time.",
            {
                "request": "$.request",
                "expected": "$.parameter_group.pending_reboot",
                "rebooted": "$.reboot.rebooted",
                "polls": "$.reboot.polls",
            },
            result=fields(RebootResult), into="$.reboot", then="Instances In Sync?",
        ),
        choice(
            "Instances In Sync?", is_true("$.reboot.ready", "Create Extension"), default="Wait For Reboot",
            comment="Done when every instance is available with the parameter group in sync.",
        ),
        wait("Wait For Reboot", "Polls the instances.", POLL, then="Reboot Instances"),
        task(
            "Create Extension", "create_extension",
            "Runs CREATE EXTENSION pgaudit through the RDS Data API, or reports the SQL to run.",
            {"request": "$.request", "cluster": "$.cluster", "pending_reboot": "$.reboot.pending_reboot"},
            result=fields(ExtensionResult), into="$.extension", then="Enable Log Export",
        ),
        task(
            "Enable Log Export", "enable_log_export",
            "Creates the postgresql log group with its retention, then enables the cluster's export.",
            {"request": "$.request"}, result=fields(StepResult), into="$.log_export", then="Log Export Enabled?",
        ),
        choice(
            "Log Export Enabled?", is_true("$.log_export.ready", "Ensure Subscription Filter"),
            default="Wait For Cluster Modification", comment="Waits while the cluster applies an earlier modification.",
        ),
        wait("Wait For Cluster Modification", "Polls the cluster status.", POLL, then="Check Log Export"),
        task(
            "Check Log Export", "enable_log_export", "Tries the export again (bounded by MaxPolls).",
            {"request": "$.request", "polls": "$.log_export.polls"}, result=fields(StepResult), into="$.log_export",
            then="Log Export Enabled?",
        ),
        task(
            "Ensure Subscription Filter", "ensure_subscription_filter",
            "Subscribes the log group to the destination, never touching other filters.",
            {"request": "$.request", "destination_arn": "$.destination.resources.destination_arn"},
            result=fields(StepResult), into="$.subscription_filter", then="Summarize Onboarding",
        ),
        task(
            "Summarize Onboarding", "summarize_onboarding",
            "Lists every resource, what changed, and what the owner must still do.",
            forward(OnboardingState), result=fields(OnboardingSummary), then="Onboarding Succeeded",
        ),
        succeed("Onboarding Succeeded"),
        *failure_path("Onboarding"),
    ],
)  # fmt: skip

# ---------------------------------------------------------------- offboarding
OFFBOARD = Workflow(
    "offboard",
    "pgaudit-archiver offboarding: stops archiving one cluster's audit logs, removing what onboarding made in both "
    "accounts; archived objects always stay.",
    retries=STANDARD,
    catches=recorded("Record Failure"),
    states=[
        register("offboard", then="Validate Offboarding"),
        task(
            "Validate Offboarding", "validate_offboarding",
            "Validates the request and reads the cluster's original settings from the registry.",
            {"request": INPUT}, result=fields(OffboardPlan), then="Remove Subscription Filter",
        ),
        task(
            "Remove Subscription Filter", "remove_subscription_filter",
            "Removes our subscription filter from the log group; every other filter stays.",
            {"request": "$.request"}, result=fields(StepResult), into="$.subscription_filter",
            then="Restore Requested?",
        ),
        choice(
            "Restore Requested?", is_true("$.request.restore", "Start Restore"), default="Skip Restore",
            comment="restore: true also disables the export and re-attaches the original parameter group.",
        ),
        pass_(
            "Skip Restore", "Leaves the cluster's export and parameter group as they are.",
            Result={"ready": True, "resources": {}, "changes": [], "polls": 0}, ResultPath="$.restore",
            then="Wait For Flush",
        ),
        pass_(
            "Start Restore", "Starts the restore loop.",
            Result={"ready": False, "resources": {}, "changes": [], "polls": 0}, ResultPath="$.restore",
            then="Restore Cluster",
        ),
        task(
            "Restore Cluster", "restore_cluster",
            "Disables the postgresql export, then re-attaches the original parameter group, one change per call.",
            {
                "request": "$.request",
                "original_parameter_group": "$.original_parameter_group",
                "changes": "$.restore.changes",
                "polls": "$.restore.polls",
            },
            result=fields(StepResult), into="$.restore", then="Cluster Restored?",
        ),
        choice(
            "Cluster Restored?", is_true("$.restore.ready", "Wait For Flush"), default="Wait For Restore",
            comment="Waits while the cluster applies each change.",
        ),
        wait("Wait For Restore", "Polls the cluster.", POLL, then="Restore Cluster"),
        wait(
            "Wait For Flush", "No event reaches the stream any more; gives Firehose time to deliver what it buffers.",
            "$.workflow.flush_wait_seconds", then="Delete Destination",
        ),
        task(
            "Delete Destination", "delete_destination",
            "Deletes the source's CloudWatch Logs destination and its role.",
            {"request": "$.request"}, result=fields(StepResult), into="$.destination", then="Delete Delivery Stream",
        ),
        task(
            "Delete Delivery Stream", "delete_delivery_stream",
            "Deletes the source's Firehose stream; every archived object stays.",
            {"request": "$.request"}, result=fields(StepResult), into="$.delivery_stream",
            then="Summarize Offboarding",
        ),
        task(
            "Summarize Offboarding", "summarize_offboarding", "Lists what was removed; the registry says offboarded.",
            forward(OffboardSummaryEvent), result=fields(OffboardingSummary), then="Offboarding Succeeded",
        ),
        succeed("Offboarding Succeeded"),
        *failure_path("Offboarding"),
    ],
)  # fmt: skip

# ---------------------------------------------------------------- reconciliation
RECONCILE = Workflow(
    "reconcile",
    "pgaudit-archiver reconciliation: checks every onboarded source (or the one named) for drift, repairs it by "
    "onboarding again when AutoRepair allows, otherwise marks it drifted; publishes the run's coverage and drift. "
    "The registry is read as a parallel scan, one loop per segment: no source list in a payload, a few history "
    "events per invocation, not per source.",
    retries=STANDARD,
    states=[
        task(
            "Plan Run", "plan_run",
            "How many sources the run must check, and its segments (or the one source the execution names).",
            {"execution_input": INPUT},
            # what Publish Run Summary needs, and the Map's concurrency: one loop per segment
            result=fields(DriftCountEvent, concurrency="States.ArrayLength($.Payload.segments)"),
            catches=[catch(EVERYTHING, "Reconciliation Failed")], then="Verify Segments",
        ),
        inline_map(
            "Verify Segments",
            "Each segment on its own, all at once: the concurrency is the segment count (RECONCILE_SEGMENTS).",
            "$.segments", "$.concurrency", {"progress": "$$.Map.Item.Value"},
            [
                task(
                    "Verify Sources", "verify_sources",
                    "The segment's next sources, for up to two minutes; returns where the segment stands.",
                    {"progress": "$.progress"}, result={"progress.$": "$.Payload"}, into=OMIT,
                    catches=[catch(EVERYTHING, "Segment Unfinished")], then="Segment Done?",
                ),
                choice("Segment Done?", is_true("$.progress.done", "Segment Verified"), default="Verify Sources"),
                pass_("Segment Verified", OutputPath="$.progress"),
                pass_(
                    "Segment Unfinished",
                    "What the segment checked before it failed counts; the rest does not, and the coverage says so.",
                    OutputPath="$.progress",
                ),
            ],
            into="$.segments", then="Publish Run Summary",
        ),
        task(
            "Publish Run Summary", "publish_run_summary", "The coverage and drift metrics and their alarms.",
            forward(DriftCountEvent), into=OMIT, output="$.Payload",
            catches=[catch(EVERYTHING, "Reconciliation Failed")], then="Reconciled",
        ),
        succeed("Reconciled"),
        fail(
            "Reconciliation Failed", "The run could not be planned or its summary published.",
            "$.failure.Error", "$.failure.Cause",
        ),
    ],
)  # fmt: skip

# ---------------------------------------------------------------- adoption
ADOPT = Workflow(
    "adopt",
    "pgaudit-archiver adoption: onboards an account's existing PostgreSQL databases (Aurora and Multi-AZ DB clusters, "
    "then standalone DB instances) by the rules of automatic onboarding (tags; the mode the request names or "
    "AutoOnboard's), a page of 100 at a time, a bounded number at once, each as an onboarding execution of its own. "
    "Run again, it onboards only what is missing. A dry run lists what it would onboard and why it skips the rest.",
    retries=STANDARD,
    catches=[catch(EVERYTHING, "Adoption Failed")],
    states=[
        task(
            "Discover Clusters", "discover_clusters",
            "The account's first page of DB clusters, each decided: onboard, or skip and why.",
            {"adoption": INPUT}, result={"page.$": "$.Payload"}, then="Anything To Onboard?",
        ),
        choice(
            "Anything To Onboard?",
            is_true("$.page.done", "Adopted"),
            is_true("$.page.dry_run", "Nothing Started"),
            default="Onboard Clusters",
        ),
        pass_(
            "Nothing Started", "A dry run starts nothing.", Result=[], ResultPath="$.results",
            then="Discover Next Clusters",
        ),
        inline_map(
            "Onboard Clusters",
            "The page's databases, at most AdoptionConcurrency at once; each claimed before its onboarding starts, "
            "skipped when another execution claimed it first; one that fails is counted, not fatal. Each item is "
            "the onboarding's input (cluster_id or instance_id) and the source key its result is named by.",
            "$.page.to_onboard", "$.page.concurrency",
            {"request": "$$.Map.Item.Value.request", "key": "$$.Map.Item.Value.key"},
            [
                task(
                    "Claim Cluster", "claim_cluster",
                    "Claims the cluster in the registry (as POST /clusters does) and names its onboarding; counted "
                    "against the account's executions a minute.",
                    {"request": "$.request", "adoption_arn": EXECUTION},
                    result=fields(Claim, drop=("cluster_id",)), into="$.claim",
                    retries=(LAMBDA_SERVICE, UNAVAILABLE, START_LIMITED),
                    catches=[catch(EVERYTHING, "Cluster Not Onboarded")], then="Cluster Claimed?",
                ),
                choice("Cluster Claimed?", is_true("$.claim.claimed", "Onboard Cluster"), default="Cluster Skipped"),
                pass_(
                    "Cluster Skipped",
                    "Another execution claimed it after this adoption planned it: it is not started twice.",
                    Parameters={"cluster_id": "$.key", "status": "SKIPPED", "reason": "$.claim.reason"},
                ),
                service_task(
                    "Onboard Cluster", "arn:aws:states:::states:startExecution.sync:2",
                    "The onboarding workflow for one cluster, under the name its claim holds, awaited (its execution "
                    "shows in the console).",
                    {
                        "StateMachineArn": "${OnboardStateMachineArn}",
                        "Name": "$.claim.execution_name",
                        "Input": "$.request",
                    },
                    ResultSelector={"status.$": "$.Status"}, ResultPath="$.outcome", Retry=(ONBOARDING_START,),
                    Catch=[catch(EVERYTHING, "Release Claim")], then="Cluster Onboarded",
                ),
                task(
                    "Release Claim", "claim_cluster",
                    "Onboard Cluster failed: records the claim as failed unless its onboarding runs or recorded its "
                    "own end.",
                    {
                        "request": "$.request",
                        "adoption_arn": EXECUTION,
                        "execution_name": "$.claim.execution_name",
                        "failure": "$.failure",
                    },
                    into=None, retries=(LAMBDA_SERVICE, UNAVAILABLE, THROTTLED),
                    catches=[catch(EVERYTHING, "Cluster Not Onboarded", into="$.release_failure")],
                    then="Cluster Not Onboarded",
                ),
                pass_(
                    "Cluster Onboarded",
                    Parameters={"cluster_id": "$.key", "status": "$.outcome.status"},
                ),
                pass_(
                    "Cluster Not Onboarded",
                    "Its onboarding failed (Record Failure has said why in the registry), or never started (Release "
                    "Claim has), or its claim failed.",
                    Parameters={
                        "cluster_id": "$.key",
                        "status": "FAILED",
                        "error": "$.failure.Error",
                        "cause": "$.failure.Cause",
                    },
                ),
            ],
            into="$.results", then="Discover Next Clusters",
        ),
        task(
            "Discover Next Clusters", "discover_clusters",
            "Counts the page's onboardings, then reads and decides the next page (the DB clusters', then the DB "
            "instances').",
            {"page": "$.page", "results": "$.results"}, result={"page.$": "$.Payload"}, then="Anything To Onboard?",
        ),
        pass_(
            "Adopted", "What the adoption did (a dry run: what it would do).",
            Parameters={
                field: f"$.page.{field}"
                for field in ("account_id", "region", "mode", "dry_run", "totals", "planned", "skipped", "failures")
            },
        ),
        fail(
            "Adoption Failed", "The account's clusters could not be listed or decided.",
            "$.failure.Error", "$.failure.Cause",
        ),
    ],
)  # fmt: skip

# ---------------------------------------------------------------- organization adoption
ACCOUNT = {"account_id": "$.account_id", "organization": "$.organization"}
ADOPT_ORGANIZATION = Workflow(
    "adopt_organization",
    "pgaudit-archiver organization adoption: adopts every ACTIVE member account of the AWS Organization, a "
    "ListAccounts page at a time, a few accounts at once (as many as the Firehose budget has room for at "
    "AccountExecutionsPerMinute), each as an execution of the adopt workflow. An account whose adoption fails is "
    "counted with the reason; the rest go on. Run again, it onboards only what is missing.",
    retries=STANDARD,
    catches=[catch(EVERYTHING, "Organization Adoption Failed")],
    states=[
        task(
            "List Accounts", "list_accounts", "The organization's first page of ACTIVE member accounts.",
            {"organization": INPUT}, result={"page.$": "$.Payload"}, then="Any Accounts?",
        ),
        choice("Any Accounts?", is_true("$.page.done", "Organization Adopted"), default="Adopt Accounts"),
        inline_map(
            "Adopt Accounts",
            "The page's accounts, a few at once; one whose adoption fails or is skipped is counted, not fatal.",
            "$.page.accounts", "$.page.concurrency",
            {"account_id": "$$.Map.Item.Value", "organization": "$.page.organization"},
            [
                task(
                    "Start Account Adoption", "start_account_adoption",
                    "Counts the start against the account's executions a minute and holds the account's adoption; "
                    "skipped when another adoption of the account runs.",
                    ACCOUNT, result=fields(AccountStart), into="$.start",
                    retries=(LAMBDA_SERVICE, UNAVAILABLE, START_LIMITED),
                    catches=[catch(EVERYTHING, "Record Account Adoption", into="$.result")],
                    then="Account Started?",
                ),
                choice("Account Started?", is_true("$.start.started", "Adopt Account"), default="Account Skipped"),
                pass_(
                    "Account Skipped", "Another adoption of the account runs: it is not adopted twice at once.",
                    Parameters={"status": "SKIPPED", "reason": "$.start.reason"}, ResultPath="$.result",
                    then="Record Account Adoption",
                ),
                service_task(
                    "Adopt Account", "arn:aws:states:::states:startExecution.sync:2",
                    "The adopt workflow for the account, under the name its hold holds, awaited (the account's owner "
                    "reads it at /accounts/{id}/adoptions/{name}).",
                    {
                        "StateMachineArn": "${AdoptStateMachineArn}",
                        "Name": "$.start.adoption_name",
                        "Input": {
                            "account_id.$": "$.account_id",
                            "region.$": "$.organization.region",
                            "mode.$": "$.organization.mode",
                            "dry_run.$": "$.organization.dry_run",
                        },
                    },
                    ResultSelector={"status.$": "$.Status"}, ResultPath="$.result", Retry=(ONBOARDING_START,),
                    Catch=[catch(EVERYTHING, "Record Account Adoption", into="$.result")],
                    then="Record Account Adoption",
                ),
                task(
                    "Record Account Adoption", "start_account_adoption",
                    "Counts the account's end (adopted, failed with the reason, or skipped) in the progress.",
                    {**ACCOUNT, "result": "$.result"}, into=None, retries=(LAMBDA_SERVICE, UNAVAILABLE, THROTTLED),
                    catches=[catch(EVERYTHING, "Account Unrecorded", into="$.record_failure")],
                    then="Account Done",
                ),
                pass_("Account Done", OutputPath="$.result"),
                pass_(
                    "Account Unrecorded", "The progress could not be written: the account's end is in this output.",
                    OutputPath="$.result",
                ),
            ],
            into=None, then="List Next Accounts",
        ),
        task(
            "List Next Accounts", "list_accounts", "The organization's next page of ACTIVE member accounts.",
            {"page": "$.page"}, result={"page.$": "$.Payload"}, then="Any Accounts?",
        ),
        pass_("Organization Adopted", "Where it ended: GET /organization/adoptions/{id} counts the accounts.",
              OutputPath="$.page.organization"),
        fail(
            "Organization Adoption Failed", "The organization's accounts could not be listed.",
            "$.failure.Error", "$.failure.Cause",
        ),
    ],
)  # fmt: skip

WORKFLOWS = (ONBOARD, OFFBOARD, RECONCILE, ADOPT, ADOPT_ORGANIZATION)
