"""RegisterFleetPartitionsFunction: S3 reports each archived object; its source's day becomes a partition of the
fleet table, so queries that name no database find it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pgaudit_archiver.aws.catalog import fleet_catalog
from pgaudit_archiver.handlers import function_handler
from pgaudit_archiver.observability import logger
from pgaudit_archiver.settings import FleetPartitionSettings
from pgaudit_archiver.steps.fleet_partitions import created_objects, register_partitions


@function_handler(FleetPartitionSettings)
def lambda_handler(event: dict[str, Any], context: LambdaContext, settings: FleetPartitionSettings) -> dict[str, Any]:
    counts = register_partitions(fleet_catalog(settings), created_objects(event))
    if counts["created"]:
        logger.info("fleet partitions registered", extra=counts)
    return counts
