"""The one process pool: CPU-bound work per issue (rendering, checking) spread over the cores.

Python-Markdown and Jinja2 hold the GIL, so threads do not help; processes do, once there is
enough work to pay for starting them (`MIN_PER_WORKER` tasks each). Below that, everything runs
in this process.

It is `concurrent.futures.ProcessPoolExecutor`, with one worker fewer than the cores: this
process works too. The workers start first (forked where the system can fork, so that they
inherit what this process has imported), and each sets itself up (`initializer`: a renderer,
compiling the email's templates) while this process does its own other work (loading the
issues, then `meanwhile`: the archive's index) and then sets itself up too: no core waits
while another prepares. Tasks go out in small chunks (sixteen a process, the last tasks one
by one), in order, to the workers and to this process, so that no core sits idle at the end
while another finishes a large batch. Results come back in task order; after a failure no
chunk is handed out, and the first failure in task order is raised. Workers ignore Ctrl-C:
this process alone reports it.

It stands alone (rather than in build/) because `sphere check` uses it too, and nothing but the
CLI imports build/.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Generic, TypeVar

from sphere.errors import WorkerDied

T = TypeVar("T")
R = TypeVar("R")

MIN_PER_WORKER = 16  # below this many tasks per worker, starting processes costs more than it saves
CHUNKS_PER_WORKER = 16  # a process: small chunks keep the cores busy to the end
TAIL_CHUNKS = 4  # the last this many chunks' tasks go out one by one (see `chunked`)


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

    `function` and the tasks must pickle (a module-level function, plain data). `meanwhile`:
    see `Workers.map`.
    """
    with Workers(initializer, initargs, tasks=len(tasks), workers=workers) as pool:
        return pool.map(function, tasks, meanwhile=meanwhile)


class Workers:
    """The worker processes for one `map`, started as the context opens: each sets itself up
    (`initializer`) while this process goes on with its own work (loading what the tasks will
    be, say). As many as `tasks` tasks are worth (`worker_count`): none for a few, and then
    `map` runs everything here.

        with Workers(start, (setup,), tasks=len(files)) as workers:
            jobs = ...  # this process's own work, while the workers set themselves up
            results = workers.map(build, jobs, meanwhile=write_index)
    """

    def __init__(
        self,
        initializer: Callable[..., None],
        initargs: tuple[object, ...] = (),
        *,
        tasks: int,
        workers: int | None = None,
    ):
        self.initializer, self.initargs = initializer, initargs
        self.count = worker_count(tasks, workers)
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        if self.count > 1:
            forks = "fork" in multiprocessing.get_all_start_methods()
            self.pool = ProcessPoolExecutor(
                max_workers=self.count - 1,  # and this process: it takes chunks too
                mp_context=multiprocessing.get_context("fork") if forks else None,
                initializer=_worker_start,
                initargs=(self.initializer, self.initargs),
            )
            try:  # the executor starts its processes at the first task (all, where it forks)
                self.pool.submit(_nothing)
            except BaseException:  # Ctrl-C or no more processes, while starting them
                self.pool.shutdown(wait=False, cancel_futures=True)
                raise
        return self

    def __exit__(self, failure: type[BaseException] | None, *_exception: object) -> None:
        if self.pool is not None:
            # After a failure or Ctrl-C: the chunks not started are dropped, and the running
            # ones end before this returns (nothing writes into a folder about to be removed).
            # After success no task is left: the workers exit while this process goes on with
            # what follows (the interpreter joins them at exit, long after they have gone).
            self.pool.shutdown(wait=failure is not None, cancel_futures=True)

    def map(
        self,
        function: Callable[[T], R],
        tasks: Sequence[T],
        *,
        meanwhile: Callable[[], None] | None = None,
    ) -> list[R]:
        """`function` over `tasks`, in order; the first failed task's exception is raised.

        `meanwhile`: work for this process alone that needs no task's result (the archive's
        index while the issues render): with workers, done once they have their first tasks,
        before this process sets itself up and joins in; alone, after its set-up.
        """
        if self.pool is None:
            self.initializer(*self.initargs)
            if meanwhile is not None:
                meanwhile()
            return [function(task) for task in tasks]
        work = _Map(function, chunked(tasks, self.count), self.pool, ahead=2 * (self.count - 1))
        try:
            return work.run(meanwhile, lambda: self.initializer(*self.initargs))
        except BrokenProcessPool:
            raise WorkerDied(
                "a worker process ended unexpectedly (out of memory, or killed?): run the"
                " command again"
            ) from None


def _nothing() -> None:
    pass


class _Map(Generic[T, R]):
    """One parallel map: chunks handed out in order, to the workers (a few ahead, so that
    none waits) and to this process between its looks at what they have done."""

    def __init__(
        self,
        function: Callable[[T], R],
        chunks: list[Sequence[T]],
        pool: ProcessPoolExecutor,
        *,
        ahead: int,
    ):
        self.function, self.chunks, self.pool, self.ahead = function, chunks, pool, ahead
        self.next = 0  # the first chunk not handed out yet
        self.running: dict[Future[list[R]], int] = {}
        self.outcomes: dict[int, list[R] | BaseException] = {}

    def run(self, meanwhile: Callable[[], None] | None, set_up: Callable[[], None]) -> list[R]:
        self._feed()  # the workers' first chunks, before this process's own work
        if meanwhile is not None:
            meanwhile()
        set_up()
        while True:
            self._collect(timeout=0)
            self._feed()
            if self.next < len(self.chunks) and not self._failed():
                index, self.next = self.next, self.next + 1
                try:
                    self.outcomes[index] = _run_chunk(self.function, self.chunks[index])
                except Exception as error:  # noqa: BLE001 (raised below, in task order)
                    self.outcomes[index] = error
            elif self.running:
                self._collect(timeout=None)
            else:
                break
        results: list[R] = []
        for index in range(len(self.chunks)):  # every chunk before a failure has an outcome
            outcome = self.outcomes[index]
            if isinstance(outcome, BaseException):
                raise outcome
            results += outcome
        return results

    def _feed(self) -> None:
        while self.next < len(self.chunks) and len(self.running) < self.ahead:
            if self._failed():
                return
            future = self.pool.submit(_run_chunk, self.function, self.chunks[self.next])
            self.running[future] = self.next
            self.next += 1

    def _collect(self, *, timeout: float | None) -> None:
        if not self.running:
            return
        done, _ = wait(self.running, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            index = self.running.pop(future)
            error = future.exception()
            self.outcomes[index] = error if error is not None else future.result()

    def _failed(self) -> bool:
        return any(isinstance(outcome, BaseException) for outcome in self.outcomes.values())


def chunked(tasks: Sequence[T], count: int) -> list[Sequence[T]]:
    """`tasks` in chunks for `count` processes, in order: CHUNKS_PER_WORKER a process, and the
    last TAIL_CHUNKS chunks' tasks one by one. A worker is kept a few chunks ahead; at the
    end, what it still has queued is what the other processes wait for (in a build of 200
    issues, up to two chunks of six: some 25 ms of one idle core)."""
    size = max(1, len(tasks) // (count * CHUNKS_PER_WORKER))
    end = len(tasks) - (min(len(tasks), TAIL_CHUNKS * size) if size > 1 else 0)
    chunks = [tasks[start : min(start + size, end)] for start in range(0, end, size)]
    return chunks + [tasks[at : at + 1] for at in range(end, len(tasks))]


def worker_count(tasks: int, workers: int | None = None) -> int:
    """How many processes `tasks` tasks are worth (at most one per core)."""
    if workers is None:  # the cores this process may use (fewer under `taskset`)
        affinity = getattr(os, "sched_getaffinity", None)
        workers = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return min(workers, tasks // MIN_PER_WORKER)


_set_up_failure: Exception | None = None  # why this worker could not set itself up


def _worker_start(initializer: Callable[..., None], initargs: tuple[object, ...]) -> None:
    """In each worker: leave Ctrl-C to the main process, and set up.

    A failure is kept for this worker's tasks to raise (the pool would otherwise log it with
    a traceback and break): the main process sets itself up the same way and reports it.
    """
    global _set_up_failure  # one per worker process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        initializer(*initargs)
    except Exception as error:  # noqa: BLE001 (raised by every task of this worker)
        _set_up_failure = error


def _run_chunk(function: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
    if _set_up_failure is not None:
        raise _set_up_failure
    return [function(task) for task in tasks]
