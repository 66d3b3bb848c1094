"""The one place a boto3 ClientError becomes a project error.

Every client and resource the data-access modules use is wrapped in `guarded`: a refused call raises the
ArchiverError the state machine's Retry and Catch match (ThrottledError, AwsServiceUnavailableError,
AwsRequestError), its message naming the AWS error code. A method for which a refusal is an answer (not
found, already exists, condition failed) names those codes in `refused` and turns them into a domain result.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from botocore.exceptions import ClientError
from botocore.paginate import PageIterator, Paginator

from pgaudit_archiver.errors import ArchiverError, from_client_error


@contextmanager
def translated() -> Iterator[None]:
    """Raise the project error for AWS's refusal instead of boto3's ClientError."""
    try:
        yield
    except ClientError as error:
        raise from_client_error(error) from error


def _pages(pages: Iterable[Any]) -> Iterator[Any]:
    with translated():
        yield from pages  # a paginator calls AWS while it is iterated


class Guarded:
    """A boto3 client, resource or paginator whose calls raise project errors, never ClientError."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            with translated():
                result = attribute(*args, **kwargs)
            if isinstance(result, Paginator):
                return Guarded(result)
            if isinstance(result, PageIterator):
                return _pages(result)
            return result

        return call


def guarded(target: Any) -> Any:
    """`target` (a boto3 client or resource) with every call translated; typed Any like boto3's own clients."""
    return Guarded(target)


class Refused:
    """Context manager: suppress the project error a refusal with one of `codes` became; `code` says which."""

    def __init__(self, codes: frozenset[str]) -> None:
        self.codes = codes
        self.code: str | None = None

    def __enter__(self) -> Refused:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        if isinstance(error, ArchiverError) and error.aws_error_code in self.codes:
            self.code = error.aws_error_code
            return True
        return False


def refused(*codes: str) -> Refused:
    """`with refused("NoSuchEntity"): return client.get_role(...)`, then `return None` after the block."""
    return Refused(frozenset(codes))
