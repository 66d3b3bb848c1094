"""Step Functions calls in the archive account."""

from __future__ import annotations

import json
from typing import Any

from pgaudit_archiver.aws.client_errors import guarded, refused
from pgaudit_archiver.aws.sessions import CLIENT_CONFIG, ClientMaker
from pgaudit_archiver.errors import ArchiverError
from pgaudit_archiver.observability import logger

# The failed state is the last one entered before Record Failure; a step retried many times pushes it far back, so
# the history is read newest first, page by page, up to a bound.
HISTORY_PAGE_SIZE = 100  # GetExecutionHistory's default page; it allows up to 1,000
HISTORY_PAGES = 10


class ArchiveStepFunctions:
    def __init__(self, session: ClientMaker) -> None:
        self._sfn = guarded(session.client("stepfunctions", config=CLIENT_CONFIG))

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        arn: str = self._sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
        return arn

    def status(self, execution_arn: str) -> str | None:
        """The execution's status; None once Step Functions no longer has it (closed executions are kept 90 days)."""
        with refused("ExecutionDoesNotExist"):
            status: str = self._sfn.describe_execution(executionArn=execution_arn)["status"]
            return status
        return None

    def running_names(self, state_machine_arn: str) -> list[str]:
        """The names of the state machine's running executions."""
        names: list[str] = []
        for page in self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn, statusFilter="RUNNING"
        ):
            names += [execution["name"] for execution in page["executions"]]
        return names

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        """Status, dates and output (parsed) of an execution; None when there is no such execution."""
        with refused("ExecutionDoesNotExist"):
            answer = self._sfn.describe_execution(executionArn=execution_arn)
            return {
                "status": answer["status"],
                "started_at": answer["startDate"].isoformat(timespec="seconds"),
                "stopped_at": answer["stopDate"].isoformat(timespec="seconds") if answer.get("stopDate") else None,
                "output": json.loads(answer["output"]) if answer.get("output") else None,
                "error": answer.get("error"),
                "cause": answer.get("cause"),
            }
        return None

    def last_entered_state_before(self, execution_arn: str, current_state: str) -> str | None:
        """The name of the state entered most recently before `current_state` (newest events first); None when
        there is none within HISTORY_PAGES pages or the history cannot be read (a failure is recorded without it,
        and says so)."""
        token: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                page = self._sfn.get_execution_history(
                    executionArn=execution_arn,
                    reverseOrder=True,
                    maxResults=HISTORY_PAGE_SIZE,
                    **({"nextToken": token} if token else {}),
                )
                for event in page["events"]:
                    name = (event.get("stateEnteredEventDetails") or {}).get("name")
                    if name and name != current_state:
                        return str(name)
                token = page.get("nextToken")
                if not token:
                    return None
        except ArchiverError as error:  # any refusal, throttling included: the failure matters more
            logger.warning("execution history unavailable", extra={"error": str(error)})
            return None
        logger.warning("failed state not found", extra={"execution_arn": execution_arn, "pages": HISTORY_PAGES})
        return None
