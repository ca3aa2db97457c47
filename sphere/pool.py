"""The one process pool: CPU-bound work per issue (rendering, checking) spread over the cores.

Python-Markdown and Jinja2 hold the GIL, so threads do not help; processes do, once there is
enough work to pay for starting them (about 50 ms each). Work goes out in small chunks, so that
no core sits idle at the end while another finishes a large batch; results come back in order,
and the first error stops the rest. Workers ignore Ctrl-C: the main process alone reports it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_PER_WORKER = 16  # below this many tasks per worker, starting processes costs more than it saves
CHUNKS_PER_WORKER = 8  # small chunks: the last ones finish close together


def parallel_map(
    function: Callable[[T], R],
    tasks: Sequence[T],
    *,
    initializer: Callable[..., None],
    initargs: tuple[object, ...] = (),
    workers: int | None = None,
) -> Iterator[R]:
    """`function` over `tasks`, in order, in a pool of processes set up by `initializer`.

    A handful of tasks runs in this process (after calling `initializer` here too). Closing the
    iterator early, or an error, cancels the tasks not yet started.
    """
    count = worker_count(len(tasks), workers)
    if count < 2:
        initializer(*initargs)
        yield from map(function, tasks)
        return
    size = max(1, min(32, len(tasks) // (count * CHUNKS_PER_WORKER)))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    start: tuple[Callable[..., None], tuple[object, ...]] = (initializer, initargs)
    if method == "fork":
        # Set up once, here: forked workers inherit it (a renderer's compiled templates)
        # instead of each paying for it again.
        initializer(*initargs)
        start = (_nothing, ())
    context = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(count, context, initializer=_start, initargs=start)
    futures: list[Future[list[R]]] = []
    try:
        futures = [pool.submit(_run_chunk, function, chunk) for chunk in chunks]
        for future in futures:
            yield from future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def worker_count(tasks: int, workers: int | None = None) -> int:
    """How many processes `tasks` tasks are worth (at most one per core)."""
    if workers is None:  # the cores this process may use (fewer under `taskset`)
        affinity = getattr(os, "sched_getaffinity", None)
        workers = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return min(workers, tasks // MIN_PER_WORKER)


def _start(initializer: Callable[..., None], initargs: tuple[object, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to report
    initializer(*initargs)


def _nothing() -> None:
    pass


def _run_chunk(function: Callable[[T], R], chunk: Sequence[T]) -> list[R]:
    return [function(task) for task in chunk]
