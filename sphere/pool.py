"""The one process pool: CPU-bound work per issue (rendering, checking) spread over the cores.

Python-Markdown and Jinja2 hold the GIL, so threads do not help; processes do, once there is
enough work to pay for starting them (`MIN_PER_WORKER` tasks each). Below that, everything runs
in this process.

It is `concurrent.futures.ProcessPoolExecutor`. Where the system can fork, this process sets
itself up first (`initializer`: a renderer with its templates compiled) and the workers inherit
that set-up instead of repeating it; elsewhere each worker runs the initializer itself. Tasks go
out in small chunks (sixteen a worker), so that no core sits idle at the end while another
finishes a large batch. Results come back in task order; the first failure in task order is
raised and the tasks not yet started are cancelled. Workers ignore Ctrl-C: this process alone
reports it.

It stands alone (rather than in build/) because `sphere check` uses it too, and nothing but the
CLI imports build/.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from sphere.errors import WorkerDied

T = TypeVar("T")
R = TypeVar("R")

MIN_PER_WORKER = 16  # below this many tasks per worker, starting processes costs more than it saves
CHUNKS_PER_WORKER = 16  # small chunks keep both cores busy to the end; each costs a message


def parallel_map(
    function: Callable[[T], R],
    tasks: Sequence[T],
    *,
    initializer: Callable[..., None],
    initargs: tuple[object, ...] = (),
    workers: int | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> list[R]:
    """`function` over `tasks`, in order, in worker processes set up by `initializer` (or in
    this process when there are few). The first failed task's exception is raised.

    `function` and the tasks must pickle (a module-level function, plain data).
    `meanwhile`: work for this process alone that needs no task's result (the archive's index
    while the issues render), done while the workers run; it may rely on `initializer`.
    """
    count = worker_count(len(tasks), workers)
    initializer(*initargs)  # here: `meanwhile` and, where they fork, the workers use it
    if count < 2:
        if meanwhile is not None:
            meanwhile()
        return [function(task) for task in tasks]
    forks = "fork" in multiprocessing.get_all_start_methods()
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("fork") if forks else None,
        initializer=_worker_start,
        initargs=(None, ()) if forks else (initializer, initargs),
    )
    chunk = max(1, len(tasks) // (count * CHUNKS_PER_WORKER))
    try:
        futures = [
            pool.submit(_run_chunk, function, tasks[start : start + chunk])
            for start in range(0, len(tasks), chunk)
        ]
        if meanwhile is not None:
            meanwhile()
        return [result for future in futures for result in _result(future)]
    except BrokenProcessPool:
        raise WorkerDied(
            "a worker process ended unexpectedly (out of memory, or killed?): run the command again"
        ) from None
    finally:
        # After a failure or Ctrl-C: the chunks not started are dropped, the running ones end.
        pool.shutdown(wait=True, cancel_futures=True)


def worker_count(tasks: int, workers: int | None = None) -> int:
    """How many processes `tasks` tasks are worth (at most one per core)."""
    if workers is None:  # the cores this process may use (fewer under `taskset`)
        affinity = getattr(os, "sched_getaffinity", None)
        workers = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return min(workers, tasks // MIN_PER_WORKER)


def _worker_start(initializer: Callable[..., None] | None, initargs: tuple[object, ...]) -> None:
    """In each worker: leave Ctrl-C to the main process, and set up if not inherited."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)


def _run_chunk(function: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
    return [function(task) for task in tasks]


def _result(future: Future[list[R]]) -> list[R]:
    return future.result()
