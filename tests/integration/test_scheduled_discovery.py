"""Scheduled discovery (DiscoverySchedule): an adoption of each known account, for the clusters events missed."""

from local import SOURCE_ACCOUNT, World

ONBOARDED = {"active", "pending-reboot"}


def test_scheduled_discovery_adopts_each_known_account_once_at_a_time():
    with World(parameters={"DiscoverySchedule": "rate(1 day)", "AllowedAccountIds": SOURCE_ACCOUNT}) as world:
        world.create_cluster("missed", tags={"pgaudit-archiver": "enabled"})
        name = world.resources["ScheduledDiscoveryFunction"]

        payload, errored = world.lambdas.call(name, {"source": "aws.events", "detail-type": "Scheduled Event"})

        assert not errored, payload
        assert payload["started"] == [SOURCE_ACCOUNT]
        machine = world.resources["AdoptStateMachine"]
        [adoption] = world.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
        assert world.wait(adoption["executionArn"]).output["totals"]["onboarded"] == 1
        assert world.registry_item("missed")["status"] in ONBOARDED
