"""Lambda functions run in-process, the way the Lambda service runs them (no Docker).

moto's Lambda backend needs Docker to run code. Here `Invoke` on a function registered by the emulation runs its
handler in this process with its own environment and a Lambda context, and answers the way Lambda does: the
handler's return value as the payload, or, for an exception, `X-Amz-Function-Error: Unhandled` with
{"errorType": <exception class name>, "errorMessage": ..., "stackTrace": [...]}. Step Functions then matches
Retry and Catch on that errorType, as on AWS.

Invocations of different functions overlap, as on AWS: each thread that runs a handler sees its function's
environment through `os.environ` (a per-invocation overlay on the process environment), so no process-wide lock
serializes them. Invocations of one function take turns, as in a single container (module state is per container).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO
from unittest import mock

from moto.awslambda.models import LambdaBackend

_running = threading.local()
_IMPORT_LOCK = threading.Lock()


def product_code_running() -> bool:
    """True while a handler of the product runs in this thread (AWS calls then count as the product's)."""
    return getattr(_running, "depth", 0) > 0


def running_function() -> str | None:
    """The name of the function whose handler runs in this thread (its role makes the AWS calls), if any."""
    function = getattr(_running, "function", None)
    return function.name if function is not None and product_code_running() else None


class _FunctionOutput(io.TextIOBase):
    """sys.stdout and sys.stderr: what a handler prints goes to its function's log, as on Lambda (where it
    lands in CloudWatch Logs), not to the terminal of whoever invoked it."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal

    def write(self, text: str) -> int:
        function = getattr(_running, "function", None)
        if function is not None and product_code_running():
            function.log.append(text)
            return len(text)
        return self.terminal.write(text)

    def flush(self) -> None:
        if not self.terminal.closed:
            self.terminal.flush()

    def isatty(self) -> bool:
        return self.terminal.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.terminal, "encoding", "utf-8")


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class InProcessFunction:
    name: str
    arn: str
    handler: Callable[[Any, Any], Any]
    environment: dict[str, str]
    invocations: int = 0
    log: list[str] = field(default_factory=list)
    # One invocation at a time per function, as in one container: the handler modules keep per-invocation state at
    # module level (Powertools' resolver keeps the current event there), which Lambda never shares between two
    # invocations. Different functions run at once.
    container: threading.RLock = field(default_factory=threading.RLock)


class InvocationEnvironment(MutableMapping[str, str]):
    """`os.environ` while the emulation runs: in a thread that runs a handler, its function's variables over the
    process's (what a Lambda container sees); elsewhere, the process's own. A handler that sets a variable sets it
    for its own invocation only, as in its own container."""

    def __init__(self, process: MutableMapping[str, str]) -> None:
        self.process = process

    @staticmethod
    def _overlay() -> dict[str, str] | None:
        return getattr(_running, "environment", None)

    def __getitem__(self, key: str) -> str:
        overlay = self._overlay()
        if overlay is not None and key in overlay:
            return overlay[key]
        return self.process[key]

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self._overlay()
        if overlay is not None:
            overlay[key] = value
        else:
            self.process[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = self._overlay()
        if overlay is not None and key in overlay:
            del overlay[key]
        else:
            self.process.__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        overlay = self._overlay() or {}
        yield from overlay
        yield from (key for key in self.process if key not in overlay)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """The function's variables for this thread, until the handler returns (nested invocations restore the outer)."""
    outer = getattr(_running, "environment", None)
    _running.environment = dict(variables)
    try:
        yield
    finally:
        _running.environment = outer


class InProcessLambdas:
    """Registry of functions whose Invoke runs here; functions not registered keep moto's behaviour."""

    def __init__(self) -> None:
        # A new world's functions start in new containers, with no client or credential kept. The product is
        # imported only inside a function's environment (Powertools reads its settings at import), never here.
        handlers = sys.modules.get("pgaudit_archiver.handlers")
        if handlers is not None:
            handlers.clear_container_caches()
        self.functions: dict[str, InProcessFunction] = {}
        self._patch = mock.patch.object(LambdaBackend, "invoke", self._invoke_patch())
        self.fault: Callable[[str], Exception | None] = lambda name: None

    def register(self, name: str, arn: str, module: str, function: str, environment: dict[str, str]) -> None:
        with _IMPORT_LOCK, _environment(environment):  # Powertools reads its settings at import
            handler = getattr(importlib.import_module(module), function)
        self.functions[name] = InProcessFunction(name, arn, handler, environment)

    def start(self) -> None:
        self._patch.start()
        self._process_environment = os.environ
        os.environ = InvocationEnvironment(os.environ)  # type: ignore[assignment]  # noqa: B003 (an overlay)
        self._saved_streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _FunctionOutput(sys.stdout), _FunctionOutput(sys.stderr)

    def stop(self) -> None:
        self._patch.stop()
        os.environ = self._process_environment  # type: ignore[assignment]  # noqa: B003
        sys.stdout, sys.stderr = self._saved_streams

    def lookup(self, name_or_arn: str) -> InProcessFunction | None:
        # A name, or an ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]).
        name = name_or_arn.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
        return self.functions.get(name)

    def call(self, name_or_arn: str, event: Any) -> tuple[Any, bool]:
        """Run the function as Lambda would: (payload, errored)."""
        function = self.lookup(name_or_arn)
        if function is None:
            raise KeyError(f"no in-process function {name_or_arn}")
        function.invocations += 1
        context = LambdaContext(
            function_name=function.name, invoked_function_arn=function.arn, aws_request_id=str(uuid.uuid4())
        )
        with function.container, _environment(function.environment):
            _running.depth = getattr(_running, "depth", 0) + 1
            outer, _running.function = getattr(_running, "function", None), function
            try:
                injected = self.fault(function.name)
                if injected is not None:
                    raise injected
                return function.handler(event, context), False
            except Exception as error:
                return {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }, True
            finally:
                _running.depth -= 1
                _running.function = outer

    def _invoke_patch(self) -> Callable[..., Any]:
        registry = self
        original = LambdaBackend.invoke

        def invoke(
            backend: LambdaBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> Any:
            if registry.lookup(function_name) is None:
                return original(backend, function_name, qualifier, body, headers, response_headers)
            event = json.loads(body) if body else {}
            payload, errored = registry.call(function_name, event)
            if errored:
                response_headers["x-amz-function-error"] = "Unhandled"
            encoded = json.dumps(payload).encode()
            response_headers["Content-Length"] = str(len(encoded))
            return encoded

        return invoke
