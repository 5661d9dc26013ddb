"""Executors: map the per-customer step over a stream of requests.

An executor takes ``pipeline.Request`` values and yields ``pipeline.Outcome`` values as steps
finish. It pulls requests only as fast as it can work on them (backpressure), so a campaign
plans customers no faster than they are written. A step that raises becomes an outcome with
``error`` set; the run goes on. Executors are chosen by name (``--executor``) from the
``monogram.executors`` entry-point group: ``local`` (a thread pool in this process, the
default) and ``ray`` (actors on a Ray cluster, see ``ray_executor``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from monogram.core.plugins import Registry
from monogram.pipeline import Outcome, Request, personalize
from monogram.workspace import Workspace


class Executor(Protocol):
    name: str

    def start(self, ws: Workspace) -> None:
        """Connect and get ready; raise a clear error here, before anything is marked."""
        ...

    def map(self, ws: Workspace, requests: Iterable[Request]) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


EXECUTORS = Registry(
    "monogram.executors",
    "executor",
    {
        "local": "monogram.campaigns.executors:LocalExecutor",
        "ray": "monogram.campaigns.ray_executor:RayExecutor",
    },
)


def make_executor(name: str, **options: Any) -> Executor:
    """The executor registered as ``name``, made with ``options`` (those it does not take are
    ignored, so every executor can be given the same command-line options)."""
    executor: Executor = EXECUTORS.get(name)(**options)
    return executor


def safe_step(ws: Workspace, request: Request) -> Outcome:
    """The step, with any error it raises recorded on the outcome instead of stopping the run."""
    try:
        return personalize(ws, request)
    except Exception as exc:  # a plug-in or backend failure is this customer's outcome
        return Outcome(
            customer=request.customer,
            placement=request.placement_name,
            error=f"{type(exc).__name__}: {exc}",
            trace_id=request.trace_id,
        )


class LocalExecutor:
    """Steps on a bounded thread pool in this process (the model is shared and loaded once)."""

    name = "local"

    def __init__(self, concurrency: int = 1, **_options: Any) -> None:
        self.concurrency = max(1, concurrency)

    def start(self, ws: Workspace) -> None:
        return None

    def map(self, ws: Workspace, requests: Iterable[Request]) -> Iterator[Outcome]:
        if self.concurrency == 1:  # no thread hand-off for the common case
            for request in requests:
                yield safe_step(ws, request)
            return
        window = 2 * self.concurrency
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="monogram-step") as pool:
            pending: deque[Future[Outcome]] = deque()
            for request in requests:
                pending.append(pool.submit(safe_step, ws, request))
                while len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def close(self) -> None:
        return None
