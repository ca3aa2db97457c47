"""The one process pool: CPU-bound work per issue (rendering, checking) spread over the cores.

Python-Markdown and Jinja2 hold the GIL, so threads do not help; processes do, once there is
enough work to pay for starting them. This process works too: it forks one child per other
core, after setting itself up (a renderer's compiled templates), so the children inherit the
set-up and the tasks instead of receiving them, and no core waits on a manager.

Tasks are handed out one at a time through a pipe of task numbers (a read of 4 bytes from a
pipe is atomic), so that no core sits idle at the end while another finishes a large batch.
Each child sends its results back through a pipe of its own, which this process drains between
its own tasks. The first failed task, in task order, is raised once every process has stopped;
a failure also empties the queue, so the others stop after the task they are on. Children
ignore Ctrl-C (this process alone reports it) and are ended if this process is interrupted.
Where there is no `fork`, or the queue does not fit in a pipe, everything runs in this process.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import struct
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sphere.errors import WorkerDied

T = TypeVar("T")
R = TypeVar("R")

MIN_PER_WORKER = 16  # below this many tasks per worker, starting processes costs more than it saves
_TASK = struct.Struct("=I")  # a task number in the queue pipe
_FRAME = struct.Struct("=Q")  # the length of a pickled result in a result pipe
_QUEUE_MAX = 16_000  # task numbers in the queue pipe (64 kB: a pipe's usual size)
_PIPE_SIZE = 1 << 20  # room for a child's results while this process is busy with its own


def parallel_map(
    function: Callable[[T], R],
    tasks: Sequence[T],
    *,
    initializer: Callable[..., None],
    initargs: tuple[object, ...] = (),
    workers: int | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> list[R]:
    """`function` over `tasks`, in order, in this process and forked children, all set up by
    `initializer` (called once, here). The first failed task's exception is raised.

    `meanwhile`: work for this process alone that needs no task's result (the archive's index
    while the issues render), done after the children have started, before it takes tasks.
    """
    count = worker_count(len(tasks), workers)
    initializer(*initargs)
    if count < 2 or not hasattr(os, "fork"):
        if meanwhile is not None:
            meanwhile()
        return [function(task) for task in tasks]
    return _Pool(function, tasks, children=count - 1).run(meanwhile)


def worker_count(tasks: int, workers: int | None = None) -> int:
    """How many processes `tasks` tasks are worth (at most one per core)."""
    if workers is None:  # the cores this process may use (fewer under `taskset`)
        affinity = getattr(os, "sched_getaffinity", None)
        workers = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return min(workers, tasks // MIN_PER_WORKER)


class _Pool(Generic[T, R]):
    """One parallel map: the task queue, the children, and the results gathered so far."""

    def __init__(self, function: Callable[[T], R], tasks: Sequence[T], *, children: int):
        self.function: Callable[[T], R] = function
        self.tasks: Sequence[T] = tasks
        self.children = children
        self.size = -(-len(tasks) // _QUEUE_MAX)  # tasks per number: 1 up to 16,000 tasks
        self.results: dict[int, tuple[bool, object]] = {}  # task -> (succeeded, result/error)
        self.queue = -1  # the read end of the task queue
        self.inboxes: dict[int, bytearray] = {}  # result pipe -> bytes not yet a whole frame
        self.pids: list[int] = []

    def run(self, meanwhile: Callable[[], None] | None = None) -> list[R]:
        queue = self._queue()
        if queue is None:
            if meanwhile is not None:
                meanwhile()
            return [self.function(task) for task in self.tasks]
        self.queue = queue
        # Frozen, what the children inherit is skipped by their garbage collections, which
        # would otherwise touch, and so copy, every inherited page (and take the time to).
        gc.freeze()
        try:
            for _ in range(self.children):
                self._fork()
            if meanwhile is not None:
                meanwhile()
            self._work(lambda: self._drain(block=False))
            while self.inboxes:
                self._drain(block=True)
        except BaseException:
            self._stop_children()
            raise
        finally:
            gc.unfreeze()  # this process goes on: its collections cover everything again
            os.close(queue)
            self._reap()
        return self._ordered()

    def _queue(self) -> int | None:
        """A pipe holding every task number, its writing end closed (so that an empty queue
        reads as the end); None if they do not fit (a user over the kernel's pipe quota gets
        pipes of a page or two): then this process does everything."""
        queue, feed = os.pipe()
        numbers = b"".join(_TASK.pack(i) for i in range(0, len(self.tasks), self.size))
        _enlarge(feed)
        os.set_blocking(feed, False)
        try:
            written = os.write(feed, numbers)
        except BlockingIOError:
            written = 0
        finally:
            os.close(feed)
        if written == len(numbers):
            return queue
        os.close(queue)
        return None

    def _fork(self) -> None:
        inbox, outbox = os.pipe()
        _enlarge(outbox)
        pid = os.fork()
        if pid == 0:  # the child: work, report, and leave without running this process's exit
            status = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to report
                os.close(inbox)
                self._work(lambda: None, outbox)
                status = 0
            finally:
                os._exit(status)
        self.pids.append(pid)  # first: an interrupt from here on ends and reaps it
        os.close(outbox)
        os.set_blocking(inbox, False)
        self.inboxes[inbox] = bytearray()

    def _work(self, between: Callable[[], None], outbox: int | None = None) -> None:
        """Take tasks until the queue is empty; results go to `outbox` (a child's pipe) or to
        `self.results`; `between` runs after each task (the parent drains its children)."""
        while (start := self._next()) is not None:
            for index in range(start, min(start + self.size, len(self.tasks))):
                try:
                    result: tuple[bool, object] = (True, self.function(self.tasks[index]))
                except Exception as error:  # noqa: BLE001 (any failure: raised in the parent)
                    result = (False, error)
                    self._empty_queue()
                if outbox is None:
                    self.results[index] = result
                else:
                    _send(outbox, index, result)
                if not result[0]:
                    break
            between()

    def _next(self) -> int | None:
        data = os.read(self.queue, _TASK.size)
        return _TASK.unpack(data)[0] if data else None

    def _empty_queue(self) -> None:
        """After a failure: take every task left, so that every process stops soon."""
        while os.read(self.queue, 1 << 16):
            pass

    def _drain(self, *, block: bool) -> None:
        """Read what the children have sent (with `block`, wait for some); a child whose
        pipe closed is done."""
        ready = select.select(list(self.inboxes), [], [], None if block else 0)[0]
        for inbox in ready:
            data = _read_all(inbox)
            buffer = self.inboxes[inbox]
            buffer += data or b""
            while len(buffer) >= _FRAME.size:
                (length,) = _FRAME.unpack_from(buffer)
                if len(buffer) < _FRAME.size + length:
                    break
                index, result = pickle.loads(buffer[_FRAME.size : _FRAME.size + length])  # noqa: S301 (our own child's bytes)
                self.results[index] = result
                del buffer[: _FRAME.size + length]
            if data == b"":  # the end of the pipe: the child has exited
                os.close(inbox)
                del self.inboxes[inbox]

    def _stop_children(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for inbox in self.inboxes:
            os.close(inbox)
        self.inboxes.clear()

    def _reap(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)

    def _ordered(self) -> list[R]:
        """The results in task order, or the first failure raised."""
        for index in range(len(self.tasks)):
            if index not in self.results:
                if any(not ok for ok, _ in self.results.values()):
                    continue  # left undone after a failure, which is raised below
                raise WorkerDied(
                    "a worker process ended unexpectedly (out of memory, or killed?): run the"
                    " command again"
                )
            ok, value = self.results[index]
            if not ok:
                assert isinstance(value, BaseException)  # noqa: S101 (only errors fail)
                raise value
        return [self.results[i][1] for i in range(len(self.tasks))]  # type: ignore[misc]


def _enlarge(pipe: int) -> None:
    """Ask for a larger pipe, where the system has a way to (Linux); else leave it."""
    with contextlib.suppress(ImportError, OSError, AttributeError):
        import fcntl

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


def _send(outbox: int, index: int, result: tuple[bool, object]) -> None:
    """Write one result to the parent, whole (a pipe write may take several calls)."""
    try:
        data = pickle.dumps((index, result), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # noqa: BLE001 (unpicklable: say what it was instead)
        failure = RuntimeError(f"task {index + 1}: {type(error).__name__}: {error}")
        data = pickle.dumps((index, (False, failure)), protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(outbox, view) :]


def _read_all(inbox: int) -> bytes | None:
    """What is in the pipe now: b"" at its end, None if it is merely empty for the moment."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(inbox, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            return b"".join(chunks) if chunks else b""
        chunks.append(chunk)
    return b"".join(chunks) if chunks else None
