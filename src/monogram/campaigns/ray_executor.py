"""The ``ray`` executor: the per-customer step on Ray actors.

Each actor opens the workspace once (the same project folder and database URL as the driver)
and loads the model once; customers go to the actors in small batches, with at most two batches
in flight per actor (backpressure: the driver plans customers no faster than they are written).
Outcomes stream back to the driver, which is the only outbox writer, so exactly-once sending
holds. A step is idempotent by its key (the decision and the message are stored under ids
derived from it), so a batch Ray retries after an actor died writes nothing twice.

Every worker must reach the store: PostgreSQL (``MONOGRAM_DATABASE_URL``). An SQLite file
belongs to one machine, and its single writer would serialise the actors anyway; the executor
refuses it with a clear error. Without ``--ray-address`` a local Ray is started.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from monogram.campaigns.executors import StepWorker, worker_settings
from monogram.core.errors import ConfigError
from monogram.pipeline import Outcome, Request
from monogram.workspace import Workspace


class RayExecutor:
    name = "ray"

    def __init__(
        self,
        *,
        ray_address: str | None = None,
        workers: int | None = None,
        batch_size: int = 8,
        num_cpus: int | None = None,
        **_options: Any,
    ) -> None:
        self.address = ray_address
        self.workers = workers
        self.batch_size = max(1, batch_size)
        self.num_cpus = num_cpus
        self.actors: list[Any] = []
        self._started_ray = False

    def start(self, ws: Workspace) -> None:
        """Start Ray (or connect) and the actors; a second call keeps the running ones."""
        if self.actors:
            return
        if ws.store.is_sqlite:
            raise ConfigError(
                "the ray executor needs a store every worker can reach: set "
                "MONOGRAM_DATABASE_URL to a PostgreSQL URL (an SQLite file belongs to one "
                "machine); or run with --executor local"
            )
        try:
            import ray
        except ImportError as exc:
            raise ConfigError("the ray executor needs Ray: pip install 'monogram[ray]'") from exc
        # Customer data stays where the user runs it: no usage reports to Ray's makers unless
        # the user opts in (RAY_USAGE_STATS_ENABLED=1).
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if not ray.is_initialized():
            if self.address:
                _probe(self.address)
            try:
                ray.init(
                    address=self.address,
                    num_cpus=self.num_cpus if self.address is None else None,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
                where = self.address or "a local Ray"
                raise ConfigError(f"cannot reach Ray at {where}: {exc}") from exc
            self._started_ray = True
        resources: dict[str, float] = ray.available_resources()  # type: ignore[no-untyped-call]
        count = self.workers or max(1, int(resources.get("CPU", 1)))
        settings = worker_settings(ws)
        remote = ray.remote(StepWorker).options(num_cpus=1, max_restarts=3, max_task_retries=3)
        self.actors = [remote.remote(settings) for _ in range(count)]
        try:  # every actor has opened the workspace and loaded the model before any row moves
            ray.get([actor.pid.remote() for actor in self.actors])
        except Exception as exc:
            self.close()
            raise ConfigError(f"Ray workers could not open the workspace: {exc}") from exc

    def map(self, ws: Workspace, requests: Iterable[Request]) -> Iterator[Outcome]:
        import ray

        running: dict[Any, tuple[Any, list[Request]]] = {}
        window = 2 * len(self.actors)  # batches in flight: two per actor
        pending = iter(requests)
        exhausted = False
        while True:
            while not exhausted and len(running) < window:
                batch = list(islice(pending, self.batch_size))
                exhausted = len(batch) < self.batch_size
                if not batch:
                    break
                busy = Counter(actor for actor, _ in running.values())
                actor = min(self.actors, key=lambda a: busy[a])  # the least loaded
                payload = [r.model_dump(mode="json") for r in batch]
                running[actor.run.remote(payload)] = (actor, batch)
            if not running:
                return
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                _actor, sent = running.pop(ref)
                try:
                    results = ray.get(ref)
                except Exception as exc:  # the actor died past its retries: these customers
                    for request in sent:  # are recorded as errors; a rerun picks them up
                        yield Outcome(
                            customer=request.customer,
                            placement=request.placement_name,
                            error=f"RayError: {type(exc).__name__}",
                        )
                    continue
                for result in results:
                    yield Outcome.model_validate(result)

    def close(self) -> None:
        if not self.actors:
            return
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def worker_pids(self) -> list[int]:
        import ray

        return list(ray.get([actor.pid.remote() for actor in self.actors]))


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast when a cluster address does not answer: ``ray.init`` would wait for minutes."""
    import socket
    from urllib.parse import urlsplit

    if address == "auto":
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    host, port = parts.hostname, parts.port
    if not host or not port:
        raise ConfigError(f"--ray-address {address!r}: write HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        raise ConfigError(
            f"cannot reach Ray at {address}: {exc}; nothing was planned or sent"
        ) from exc
