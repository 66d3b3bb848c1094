"""Discover Clusters: the next page of an account's clusters to adopt, after counting the last page's onboardings."""

from typing import Any

from pydantic import Field

from pgaudit_archiver.aws.accounts import archive_account, source_account
from pgaudit_archiver.errors import InvalidRequestError
from pgaudit_archiver.handlers import workflow_handler
from pgaudit_archiver.models import Model, Source
from pgaudit_archiver.settings import DiscoverClustersSettings
from pgaudit_archiver.steps.adopt import AdoptionMode, AdoptionPage, adoption_mode, next_page, tally


class AdoptionRequest(Model):
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str
    mode: AdoptionMode | None = None
    dry_run: bool = False


class DiscoverEvent(Model):
    # The execution's input on the first call; then the page the last call returned and its onboardings' results.
    adoption: AdoptionRequest | None = None
    page: AdoptionPage | None = None
    results: list[dict[str, Any]] = Field(default_factory=list)


@workflow_handler(DiscoverEvent, DiscoverClustersSettings, correlation_id_path=None)
def lambda_handler(step: DiscoverEvent, settings: DiscoverClustersSettings) -> AdoptionPage:
    page = step.page
    if page is None:
        if step.adoption is None:
            raise InvalidRequestError("neither an adoption request nor a page", remedy="start the adopt workflow "
                                      "with {\"account_id\": ..., \"region\": ...}")  # fmt: skip
        adoption = step.adoption
        if adoption.region != settings.region:
            raise InvalidRequestError(f"region {adoption.region} is not this stack's ({settings.region})",
                                      remedy=f"adopt through the stack deployed in {adoption.region}")  # fmt: skip
        mode = adoption_mode(adoption.mode, settings.auto_onboard)
        if mode is None:
            raise InvalidRequestError("AutoOnboard is off and the request names no mode",
                                      remedy='name "mode": "tagged" or "all" in the request')  # fmt: skip
        page = AdoptionPage(account_id=adoption.account_id, region=adoption.region, mode=mode,
                            dry_run=adoption.dry_run, concurrency=settings.adoption_concurrency)  # fmt: skip
    page = tally(page, step.results)
    source = Source(account_id=page.account_id, region=page.region, cluster_id="adoption")  # the account's role
    registry = archive_account(settings).registry
    return next_page(page, source_account(settings, source).inventory, registry)
