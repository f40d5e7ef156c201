"""Rules due together, answered together: many executions whose single windows are searched in one request.

A whole corpus enabled with the default look-back (`now-9m`) and interval (5m) is due at the same instant, and
every rule then searches the same window. Searched rule by rule, the embedded store reads that window once per
rule; `Backend.eql_search_many` answers all the requests of one window from one read (Elasticsearch answers them
one by one). So `execute_many` runs the executions of rules due at one instant in three steps:

1. each execution begins (`Execution.begin`: state read, windows planned, a first window recorded pending), on the
   pool;
2. the executions with exactly one window (`Execution.single_request`; catch-up or pending time means several
   windows, searched one by one as always) send their requests in one `eql_search_many`, when there are two or
   more of them and the backend reads a shared window once (`Backend.shares_reads`: the embedded store; on
   Elasticsearch, where each request is its own search anyway, the executions search concurrently on the pool, as
   they would alone); each answer, a response or the error the single search would have raised, is handed to its
   execution (`Execution.answer`);
3. each execution finishes (`Execution.finish`) on the pool, taking its answer as the outcome of its window's first
   search attempt: what an execution does with a response, or with an error (a transient one is retried one by one
   through the retry policy, a query error fails the rule), is exactly what it does alone.

What batches is decided here and only here; which requests share a read is the backend's decision (the same
filter, see the embedded backend). Each rule's `search_ms` counts the time of the batched search it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime
from typing import Any

from runner.backends import Backend, BackendError, EqlRequest
from runner.catalog import Rule
from runner.execution.run import Execution, ExecutionOptions, ExecutionRecord


def execute_many(
    rules: Sequence[Rule],
    backend: Backend,
    *,
    started_at: datetime,
    pool: Executor,
    options: ExecutionOptions,
    sleep: Callable[[float], None] = time.sleep,
    on_execution: Callable[[Rule, ExecutionRecord], None] | None = None,
) -> list[ExecutionRecord]:
    """Each rule's scheduled execution at `started_at` (records in rule order), the single windows searched in one
    `eql_search_many`; the executions' other steps run on `pool`. `on_execution` is told of each as it ends."""
    executions = [Execution(rule, backend, started_at=started_at, options=options, sleep=sleep) for rule in rules]
    list(pool.map(Execution.begin, executions))
    batched: list[tuple[Execution, EqlRequest]] = [
        (execution, request) for execution in executions if (request := execution.single_request) is not None
    ]
    if backend.shares_reads and len(batched) > 1:
        began = time.perf_counter()
        try:
            answers: list[dict[str, Any] | BackendError] = list(
                backend.eql_search_many([request for _, request in batched]))
        except BackendError as error:  # the batch as a whole failed: the same failure for each of its searches
            answers = [error] * len(batched)
        elapsed = (time.perf_counter() - began) * 1000
        for (execution, _), answer in zip(batched, answers, strict=True):
            execution.answer(answer, elapsed)

    def finish(execution: Execution) -> ExecutionRecord:
        record = execution.finish()
        if on_execution is not None:
            on_execution(execution.rule, record)
        return record

    return list(pool.map(finish, executions))


__all__ = ["execute_many"]
