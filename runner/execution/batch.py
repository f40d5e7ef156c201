"""Rules due together, answered together: many executions whose single windows are searched in one request.

A whole corpus enabled with the default look-back (`now-9m`) and interval (5m) is due at the same instant, and
every rule then searches the same window. Searched rule by rule, the embedded store reads that window once per
rule; `Backend.search_many` answers all the requests of one window from one read (Elasticsearch answers them
one by one). So `execute_many` runs the executions of rules due at one instant in three steps:

1. each execution begins (`Execution.begin`: state read, windows planned, a first window recorded pending), on the
   pool;
2. the executions with exactly one window (`Execution.single_request`; catch-up or pending time means several
   windows, searched one by one as always) send their requests in one `search_many`, when there are two or
   more of them and the backend reads a shared window once (`Backend.shares_reads`: the embedded store; on
   Elasticsearch, where each request is its own search anyway, the executions search concurrently on the pool, as
   they would alone); each answer, a response or the error the single search would have raised, is handed to its
   execution (`Execution.answer`);
3. each execution finishes (`Execution.finish`) on the pool, taking its answer as the outcome of its window's first
   search attempt: what an execution does with a response, or with an error (a transient one is retried one by one
   through the retry policy, a query error fails the rule), is exactly what it does alone.

On a backend that groups writes (`Backend.groups_writes`: the embedded store, where each commit is an fsync), the
rules' fixed writes are grouped too: the first executions' pending states are written in one `save_rule_states`
between planning (`Execution.prepare`) and the rest of `begin` (`Execution.pending_recorded`), and the completions
(new state and record of every rule) in one `complete_executions` after EVERY execution searched its windows and had
its alerts acknowledged (`Execution.search`), then `Execution.complete`. Crash safety is that of one rule alone:
the states advance in one transaction after all the group's alerts were written, so a crash leaves each rule
either not advanced (its window pending, searched again, its alerts found written, never duplicated) or advanced
with its alerts written. An item the group write did not save (or the whole write failing) is written again by its
execution one by one through the retry policy, as alone. Elasticsearch writes state per rule, concurrently: there
each execution begins and finishes on its own, as before.

What batches is decided here and only here; which requests share a read is the backend's decision (the same
filter, see the embedded backend). Each rule's `search_ms` counts the time of the batched search it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime
from typing import Any, TypeVar

from runner.backends import Backend, BackendError
from runner.catalog import Rule
from runner.execution.run import Execution, ExecutionOptions, ExecutionRecord
from runner.ruletypes import Request

T = TypeVar("T")


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
    `search_many` and, on a backend that groups writes, the pending states and the completions each written in
    one call; the executions' other steps run on `pool`. `on_execution` is told of each as it ends."""
    executions = [Execution(rule, backend, started_at=started_at, options=options, sleep=sleep) for rule in rules]
    grouped = backend.groups_writes and len(executions) > 1
    if grouped:
        list(pool.map(_own(Execution.prepare), executions))
        firsts = [execution for execution in executions if execution.pending is not None]
        saved = _written(lambda: backend.save_rule_states(
            [(execution.rule.rule_id, execution.pending or {}) for execution in firsts]), len(firsts))
        recorded = {id(execution) for execution, ok in zip(firsts, saved, strict=True) if ok}
        list(pool.map(_own(lambda execution: execution.pending_recorded(saved=id(execution) in recorded)), executions))
    else:
        list(pool.map(_own(Execution.begin), executions))
    batched: list[tuple[Execution, Request]] = [
        (execution, request) for execution in executions if (request := execution.single_request) is not None
    ]
    if backend.shares_reads and len(batched) > 1:
        began = time.perf_counter()
        try:
            answers: list[dict[str, Any] | BackendError] = list(
                backend.search_many([request for _, request in batched]))
        except BackendError as error:  # the batch as a whole failed: the same failure for each of its searches
            answers = [error] * len(batched)
        elapsed = (time.perf_counter() - began) * 1000
        for (execution, _), answer in zip(batched, answers, strict=True):
            execution.answer(answer, elapsed)

    def told(execution: Execution, record: ExecutionRecord) -> ExecutionRecord:
        if on_execution is not None:
            on_execution(execution.rule, record)
        return record

    if not grouped:
        return list(pool.map(_own(lambda execution: told(execution, execution.finish())), executions))
    # every rule's alerts are acknowledged (`search`) before any state of the group advances (one write, after)
    list(pool.map(_own(Execution.search), executions))
    completed = _written(lambda: backend.complete_executions(
        [(execution.rule.rule_id, execution.new_state, execution.record.to_dict()) for execution in executions]),
        len(executions))
    return list(pool.map(_own(lambda execution, ok: told(execution, execution.complete(saved=ok))), executions,
                         completed))


def _own(step: Callable[..., T]) -> Callable[..., T]:
    """`step` (an execution, then any further arguments) with the execution's timeout counted from when the step
    starts (`Execution.restart_clock`): the steps of a batch wait for each other, and that wait is not the
    execution's own time."""
    def run(execution: Execution, *args: Any) -> T:
        execution.restart_clock()
        return step(execution, *args)
    return run


def _written(write: Callable[[], list[BackendError | None]], count: int) -> list[bool]:
    """Which items of a group write were written (a failed item, or the whole call failing, is written again one
    by one by its execution, through the retry policy, exactly as alone)."""
    if count == 0:
        return []
    try:
        return [error is None for error in write()]
    except BackendError:
        return [False] * count


__all__ = ["execute_many"]
