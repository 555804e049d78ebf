"""`mock_rum`: CloudWatch RUM in process, for test suites, the way moto mocks other services.

    import boto3, rumpolicy

    with rumpolicy.mock_rum() as gate:           # the Gate answering every RUM call
        client = boto3.client("rum", region_name="us-east-1")
        client.create_app_monitor(Name="shop", Domain="example.com")
        ...

    @rumpolicy.mock_rum                            # sync or async test functions, classes
    def test_alias_rollout(): ...

botocore emits `before-send.rum.<Operation>` with the signed request just before it would go on
the wire; a handler that returns a response ends the call there. moto's `mock_aws` answers
every service with one `before-send` handler; this one is registered for `rum` alone, and
botocore calls handlers of the more specific event first, so inside `mock_aws()` RUM calls come
here and every other service still goes to moto. No server, no `endpoint_url`: the `dataplane.`
host prefix PutRumEvents adds is never resolved.

The request goes to the gate's `Front`, the same transport-free entry point `rumpolicy serve`
answers through, so in-process and HTTP answers cannot differ.

Clients made before the mock started are intercepted too: the first start registers the handler
with botocore for every session made from then on and adds it to the sessions and RUM clients
that exist already (found once per process with the garbage collector's list of objects).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import inspect
import os
import threading
import unittest
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

from rumpolicy.gate.config import Credential, GateConfig
from rumpolicy.gate.front import Front, HttpRequest
from rumpolicy.gate.gate import Gate

_EVENT = "before-send.rum"
_UNIQUE_ID = "rumpolicy-mock-rum"
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
"""Set while a mock runs, when the environment has none, so that botocore can sign."""

Func = TypeVar("Func", bound=Callable[..., Any])


class MockRum:
    """A mock that can be entered (`with`), started and stopped, or used as a decorator. Each
    start makes a new Gate from the same options."""

    def __init__(self, *, account: str | None = None, region: str | None = None,
                 data_dir: str | os.PathLike[str] | None = None,
                 credentials: Mapping[str, str | Credential] | None = None,
                 clock: Callable[[], float] | None = None,
                 config: GateConfig | None = None) -> None:
        base = config or GateConfig()
        changes: dict[str, Any] = {}
        if account is not None:
            changes["account"] = account
        if region is not None:
            changes["region"] = region
        if credentials is not None:
            changes["credentials"] = {
                key: value if isinstance(value, Credential) else Credential(key, value)
                for key, value in credentials.items()}
        self.config = dataclasses.replace(base, **changes)
        self.data_dir = data_dir
        self.clock = clock
        self.gate: Gate | None = None
        self._front: Front | None = None
        self._environment: dict[str, str | None] = {}

    def start(self) -> Gate:
        if self.gate is not None:
            raise RuntimeError("this mock_rum is already started")
        _install()
        kwargs: dict[str, Any] = {} if self.clock is None else {"clock": self.clock}
        self.gate = Gate(self.data_dir, self.config, **kwargs)
        self._front = Front(self.gate)
        for name, value in _FAKE_CREDENTIALS.items():
            if name not in os.environ:
                self._environment[name] = None
                os.environ[name] = value
        with _lock:
            _active.append(self)
        return self.gate

    def stop(self) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)
        for name in self._environment:
            os.environ.pop(name, None)
        self._environment.clear()
        if self.gate is not None:
            self.gate.close()
        self.gate = self._front = None

    def __enter__(self) -> Gate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __call__(self, func: Func) -> Func:
        """Decorate a test function: a mock of its own runs for each call (a fresh Gate each
        time, so a decorated function may call itself or run on two threads at once). On a
        class, as moto's `mock_aws`: each test method is decorated, and for a
        `unittest.TestCase` each test's mock runs from setUp to its cleanups."""
        if isinstance(func, type):
            return self._decorate_class(func)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self._twin():
                    return await func(*args, **kwargs)
            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._twin():
                return func(*args, **kwargs)
        return run  # type: ignore[return-value]

    def _twin(self) -> MockRum:
        """A mock with the same options, not started."""
        return MockRum(config=self.config, data_dir=self.data_dir, clock=self.clock)

    def _decorate_class(self, cls: type) -> type:
        # Decorating the class object itself would hide its tests from pytest and unittest.
        if issubclass(cls, unittest.TestCase):
            set_up = cls.setUp

            @functools.wraps(set_up)
            def started_set_up(test: unittest.TestCase) -> None:
                mock = self._twin()
                mock.start()
                test.addCleanup(mock.stop)  # runs after tearDown, and when setUp fails
                set_up(test)

            cls.setUp = started_set_up  # type: ignore[method-assign, assignment]
            return cls
        for name in dir(cls):
            if name.startswith("test") and inspect.isfunction(inspect.getattr_static(cls, name)):
                setattr(cls, name, self(getattr(cls, name)))
        return cls

    def answer(self, request: Any) -> Any:
        """botocore's prepared request -> the gate's answer as botocore's response."""
        from botocore.awsrequest import AWSResponse

        assert self._front is not None
        url = urlsplit(request.url)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), _text(value))
        answer = self._front.answer(HttpRequest(
            method=request.method, path=url.path or "/", query=url.query, headers=headers,
            body=_body(request.body), client="127.0.0.1", scheme=url.scheme or "https"))
        return AWSResponse(request.url, answer.status,
                           {name.decode("latin-1"): value.decode("latin-1")
                            for name, value in answer.headers}, _Raw(answer.body))


@overload
def mock_rum(func: Func, /) -> Func: ...


@overload
def mock_rum(func: None = None, /, **options: Any) -> MockRum: ...


def mock_rum(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """`with mock_rum(...) as gate:`, `@mock_rum` or `@mock_rum(...)`. Options: account, region,
    data_dir (None: in memory), credentials (access key -> principal ARN or Credential; none:
    emulator mode, any key accepted), clock, config (a GateConfig to start from)."""
    mock = MockRum(**options)
    return mock if func is None else mock(func)


# -- botocore's side ------------------------------------------------------------------------------

_lock = threading.Lock()
_active: list[MockRum] = []
"""Started mocks, innermost last: it answers."""
_installed = False


def _dispatch(request: Any, **_: Any) -> Any:
    """The `before-send.rum` handler: None (send as usual) unless a mock is running."""
    with _lock:
        mock = _active[-1] if _active else None
    return None if mock is None else mock.answer(request)


def _install() -> None:
    """Register `_dispatch` for every botocore session from now on, and on the sessions and
    RUM clients made before (once per process)."""
    global _installed
    with _lock:
        if _installed:
            return
        from botocore.client import BaseClient
        from botocore.handlers import BUILTIN_HANDLERS
        from botocore.session import Session

        BUILTIN_HANDLERS.append((_EVENT, _dispatch))
        for thing in _existing(Session, BaseClient):
            if isinstance(thing, Session):
                thing.register(_EVENT, _dispatch, unique_id=_UNIQUE_ID)
            elif thing.meta.service_model.service_name == "rum":
                thing.meta.events.register(_EVENT, _dispatch, unique_id=_UNIQUE_ID)
        _installed = True


def _existing(*kinds: type) -> Iterator[Any]:
    for thing in gc.get_objects():
        if isinstance(thing, kinds):
            yield thing


class _Raw:
    """The response body as botocore's AWSResponse reads it (`stream()`)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    data = body.read()  # a file-like body
    if hasattr(body, "seek"):
        body.seek(0)
    return data if isinstance(data, bytes) else str(data).encode()


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
