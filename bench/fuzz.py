"""Schema fuzzing at length: every operation of the OpenAPI schema, with every key scope (write,
read, admin, none), on SQLite and on PostgreSQL, until each scope has sent ``--requests``
requests. Prints the requests, the status codes, the server errors (target: none) and every
answer that does not match its documented status, content type or model.

    .venv/bin/python bench/fuzz.py [--requests N] [--examples N] [--store sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_workspace, machine
from tests.conftest import Api
from tests.test_fuzz import SCOPES, fuzz


def _server(store: str) -> AbstractContextManager[str | None]:
    if store == "sqlite":
        return nullcontext(None)
    from tests.pg import postgres_server

    return postgres_server()


def run(store: str, requests: int, examples: int) -> bool:
    with _server(store) as url:
        if store == "postgres" and url is None:
            print("postgres: no PostgreSQL server could start (install postgresql)")
            return False
        ws = fresh_workspace(url)
        api = Api(ws)
        sent: Counter[str] = Counter()
        statuses: Counter[int] = Counter()
        problems: list[str] = []
        rounds = 0
        started = time.perf_counter()
        with api.client:
            while min((sent[s] for s in SCOPES), default=0) < requests:
                report = fuzz(api, examples)  # each round draws new cases
                sent.update(report.requests)
                statuses.update(report.statuses)
                problems += report.problems
                rounds += 1
                print(
                    f"  {store} round {rounds}: {min(sent[s] for s in SCOPES):,} requests a scope",
                    flush=True,
                )
        ws.close()
    seconds = time.perf_counter() - started
    errors = sum(n for status, n in statuses.items() if status >= 500)
    print(f"{store}: {report.operations} operations, {rounds} rounds, {seconds:.0f} s")
    print("  requests per scope: " + ", ".join(f"{s} {sent[s]:,}" for s in SCOPES))
    print("  statuses: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items())))
    print(f"  answers >= 500: {errors}; answers not as documented: {len(problems)}")
    for line in sorted(set(problems))[:20]:
        print("   ", line)
    return errors == 0 and not problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per key scope and store")
    parser.add_argument("--examples", type=int, default=100, help="cases per operation a round")
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    clean = [run(store, args.requests, args.examples) for store in stores]
    sys.exit(0 if all(clean) else 1)


if __name__ == "__main__":
    main()
