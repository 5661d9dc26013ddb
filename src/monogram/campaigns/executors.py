"""Executors: map the per-customer step over a stream of requests.

An executor takes ``pipeline.Request`` values and yields ``pipeline.Outcome`` values as steps
finish. It pulls requests only as fast as it can work on them (backpressure), so a campaign
plans customers no faster than they are written. A step that raises becomes an outcome with
``error`` set; the run goes on. Executors are chosen by name (``--executor``) from the
``monogram.executors`` entry-point group: ``local`` (a thread pool in this process, the
default), ``processes`` (worker processes on this machine) and ``ray`` (actors on a Ray
cluster, see ``ray_executor``).

Python runs one thread of Python code at a time, so ``local`` overlaps model calls (llama.cpp
and HTTP backends release the interpreter while they work) but not the step's own work: the
context, the quality gate and the records. ``processes`` runs steps in worker processes, each
with its own workspace, model and gate models opened once, which uses every core; the run's
process stays the only outbox writer. Any store works: on SQLite the workers' short write
transactions take turns on the file (WAL mode), on PostgreSQL they run side by side.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any, Protocol

from monogram.core.errors import ConfigError
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
        "processes": "monogram.campaigns.executors:ProcessExecutor",
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


def worker_settings(ws: Workspace) -> dict[str, Any]:
    """What a worker in another process needs to open the same workspace."""
    return {
        "home": str(ws.home.resolve()),
        "database_url": ws.store.url,
        "env": ws.settings.env,
        "secret_key": ws.settings.secret_key,
        "public_url": ws.settings.public_url,
    }


class StepWorker:
    """What each worker process (or Ray actor) holds: an open workspace with its model and
    the gate's models, loaded once for its whole life."""

    def __init__(self, settings: dict[str, Any], threads: int | None = None) -> None:
        from monogram.core.settings import Settings
        from monogram.quality import gate
        from monogram.workspace import open_workspace

        if threads is not None:
            # Workers share the machine: each keeps to its share of the cores (the OpenMP and
            # BLAS threads of the gate's embedder, llama.cpp's decoding threads) instead of
            # each starting a thread per core and all of them fighting over the same ones.
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ.setdefault(name, str(threads))  # libraries not loaded yet
        self.ws = open_workspace(Settings(**settings), create=False)
        if threads is not None and self.ws.config.llm.threads is None:
            self.ws.config.llm.threads = threads
        self.ws.model()  # loaded once per worker, before the first customer
        gate.warm_up()
        if threads is not None:  # and those loaded already (numpy's BLAS)
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(limits=threads)

    def run(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        outcomes = []
        for item in batch:
            outcome = safe_step(self.ws, Request.model_validate(item))
            outcomes.append(outcome.light().model_dump(mode="json"))
        return outcomes

    def pid(self) -> int:
        return os.getpid()


# The worker a process-pool process holds (set once by its initializer; only ever set inside
# the worker processes, never in the run's own process).
_worker: StepWorker | None = None


def _start_worker(settings: dict[str, Any], threads: int) -> None:
    global _worker
    _worker = StepWorker(settings, threads)


def _run_batch(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if _worker is None:  # pragma: no cover - the initializer always ran first
        raise RuntimeError("worker process started without its workspace")
    return _worker.run(batch)


def _worker_pid(_index: int) -> int:
    return os.getpid()


class ProcessExecutor:
    """Steps in worker processes on this machine (``--workers``, default one per core), in
    small batches with at most two in flight per worker (backpressure). Outcomes come back to
    the run's process, the only outbox writer. When a worker dies the pool is broken: the
    customers in flight are recorded as errors and stay planned, no more are taken, and a
    rerun does them all."""

    name = "processes"

    def __init__(self, *, workers: int | None = None, batch_size: int = 8, **_options: Any):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.batch_size = max(1, batch_size)
        self.pool: ProcessPoolExecutor | None = None

    def start(self, ws: Workspace) -> None:
        """Start the workers; each opens the workspace and loads its models before any row
        moves (a workspace they cannot open is a clear error here)."""
        if self.pool is not None:
            return
        # "spawn": a fresh interpreter, not a fork of one holding database connections.
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(worker_settings(ws), max(1, (os.cpu_count() or 1) // self.workers)),
        )
        try:
            list(self.pool.map(_worker_pid, range(self.workers)))
        except Exception as exc:
            self.close()
            raise ConfigError(f"worker processes could not open the workspace: {exc}") from exc

    def map(self, ws: Workspace, requests: Iterable[Request]) -> Iterator[Outcome]:
        self.start(ws)
        assert self.pool is not None
        pending: deque[tuple[Future[list[dict[str, Any]]], list[Request]]] = deque()
        source = iter(requests)
        broken = False
        while True:
            while not broken and len(pending) < 2 * self.workers:
                batch = list(islice(source, self.batch_size))
                if not batch:
                    break
                payload = [r.model_dump(mode="json") for r in batch]
                try:
                    pending.append((self.pool.submit(_run_batch, payload), batch))
                except BrokenProcessPool:
                    broken = True
                    yield from _failed(batch, "a worker process died")
            if not pending:
                # After a worker died the rest of the audience is left for a rerun: customers
                # not planned yet are planned then, those in flight were recorded as errors.
                return
            future, sent = pending.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                broken = True
                yield from _failed(sent, "a worker process died")
                continue
            except Exception as exc:  # the batch could not cross the process boundary
                yield from _failed(sent, f"{type(exc).__name__}: {exc}")
                continue
            for result in results:
                yield Outcome.model_validate(result)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _failed(batch: list[Request], why: str) -> Iterator[Outcome]:
    for request in batch:
        yield Outcome(
            customer=request.customer,
            placement=request.placement_name,
            error=f"WorkerError: {why}",
            trace_id=request.trace_id,
        )
