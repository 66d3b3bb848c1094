"""The two accounts as the steps see them: data-access objects, each built on first use."""

from __future__ import annotations

from functools import cached_property

import boto3

from pgaudit_archiver.aws.firehose import ArchiveFirehose
from pgaudit_archiver.aws.iam import ArchiveIam
from pgaudit_archiver.aws.logs import ArchiveLogs, SourceLogs
from pgaudit_archiver.aws.rds import SourceRds
from pgaudit_archiver.aws.rds_data import SourceRdsData
from pgaudit_archiver.aws.registry import Registry
from pgaudit_archiver.aws.sessions import archive_session, source_session
from pgaudit_archiver.aws.stepfunctions import ArchiveStepFunctions
from pgaudit_archiver.models import Source
from pgaudit_archiver.settings import Settings


class SourceAccount:
    """A source account, reached through its pgaudit-archiver role (assumed on first use)."""

    def __init__(self, settings: Settings, source: Source) -> None:
        self._settings = settings
        self._source = source

    @cached_property
    def session(self) -> boto3.Session:
        return source_session(self._settings, self._source)

    @cached_property
    def rds(self) -> SourceRds:
        return SourceRds(self.session)

    @cached_property
    def rds_data(self) -> SourceRdsData:
        return SourceRdsData(self.session)

    @cached_property
    def logs(self) -> SourceLogs:
        return SourceLogs(self.session)


class ArchiveAccount:
    """This account, through the function's own role."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.session = archive_session(settings.region)

    @cached_property
    def firehose(self) -> ArchiveFirehose:
        return ArchiveFirehose(self.session)

    @cached_property
    def iam(self) -> ArchiveIam:
        return ArchiveIam(self.session)

    @cached_property
    def logs(self) -> ArchiveLogs:
        return ArchiveLogs(self.session)

    @cached_property
    def stepfunctions(self) -> ArchiveStepFunctions:
        return ArchiveStepFunctions(self.session)

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.session, self._settings.registry_table)
