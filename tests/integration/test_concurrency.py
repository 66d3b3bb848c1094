"""Concurrent requests for one cluster: one execution, whatever the timing."""

from concurrent.futures import ThreadPoolExecutor

from moto.rds.models import rds_backends

from local import SOURCE_ACCOUNT, World
from tests.integration.helpers import resources_once


def test_twenty_simultaneous_onboardings_of_one_cluster_start_one_execution():
    with World(parameters={"PollIntervalSeconds": 1}) as world:
        world.create_cluster("popular")
        cluster = rds_backends[SOURCE_ACCOUNT][world.region].clusters["popular"]
        cluster.status = "modifying"  # the first execution keeps running while all twenty requests arrive

        def request(_: int):
            return world.api("POST", "/clusters", caller_account=SOURCE_ACCOUNT, body=world.request("popular"))

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(request, range(20)))
        assert all(answer.status == 202 for answer in answers)
        arns = {answer.body["execution_arn"] for answer in answers} - {None}
        assert len(arns) == 1
        assert sum(not answer.body["already_running"] for answer in answers) == 1
        cluster.status = "available"
        assert world.wait(arns.pop()).status == "SUCCEEDED"
        executions = world.client("stepfunctions").list_executions(
            stateMachineArn=world.resources["OnboardStateMachine"]
        )
        assert len(executions["executions"]) == 1
        resources_once(world, "popular")
