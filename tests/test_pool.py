"""The process pool: results in order from several processes, the first failure raised, a dead
worker reported, Ctrl-C leaving no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sphere import pool
from sphere.errors import WorkerDied
from sphere.pool import MIN_PER_WORKER, parallel_map

TASKS = list(range(4 * MIN_PER_WORKER))  # enough for two processes
_parent = os.getpid()


def _nothing() -> None:
    pass


def _square(task: int) -> tuple[int, int]:
    time.sleep(0.001)  # long enough that both processes get some
    return task * task, os.getpid()


def test_results_come_in_task_order_from_two_processes() -> None:
    results = parallel_map(_square, TASKS, initializer=_nothing, workers=2)
    assert [square for square, _ in results] == [task * task for task in TASKS]
    assert len({pid for _, pid in results}) == 2


def test_one_worker_runs_everything_in_this_process() -> None:
    results = parallel_map(_square, TASKS, initializer=_nothing, workers=1)
    assert {pid for _, pid in results} == {os.getpid()}


def test_the_last_tasks_go_out_one_by_one() -> None:
    """At the end, what a worker still has queued is what the other processes wait for: the
    last chunks hold one task each, and every task is in exactly one chunk, in order."""
    tasks = list(range(200))
    chunks = pool.chunked(tasks, 2)
    assert [task for chunk in chunks for task in chunk] == tasks
    size = len(tasks) // (2 * pool.CHUNKS_PER_WORKER)
    assert [len(chunk) for chunk in chunks[-pool.TAIL_CHUNKS * size :]] == [1] * (
        pool.TAIL_CHUNKS * size
    )
    assert max(len(chunk) for chunk in chunks) == size
    assert pool.chunked([1, 2, 3], 2) == [[1], [2], [3]]


_calls: list[int] = []


def _count_call() -> None:
    _calls.append(os.getpid())


def _calls_seen(task: int) -> tuple[int, list[int]]:
    return task, list(_calls)


def test_each_process_sets_itself_up_once_this_one_after_its_own_work() -> None:
    """The workers set themselves up while this process does `meanwhile`; then it sets itself
    up too. No process runs a task before its set-up, and none sets up twice."""
    _calls.clear()
    before_set_up: list[list[int]] = []
    results = parallel_map(
        _calls_seen,
        TASKS,
        initializer=_count_call,
        workers=2,
        meanwhile=lambda: before_set_up.append(list(_calls)),
    )
    assert before_set_up == [[]]
    assert _calls == [os.getpid()]
    seen = {tuple(calls) for _, calls in results}
    assert (os.getpid(),) in seen
    assert len(seen) == 2 and all(len(calls) == 1 for calls in seen)  # one set-up a process


def _set_up_here_only() -> None:
    if os.getpid() != _parent:
        raise ValueError("the theme's email template does not compile")


def test_a_worker_that_cannot_set_itself_up_fails_its_tasks_with_the_reason(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Not a broken pool and a traceback on the terminal: the reason, as a task's failure."""
    with pytest.raises(ValueError, match="does not compile"):
        parallel_map(_square, TASKS, initializer=_set_up_here_only, workers=2)
    assert "Traceback" not in capfd.readouterr().err


def _fail_at_20_late_and_21_at_once(task: int) -> int:
    time.sleep(0.001)
    if task == 20:
        time.sleep(0.05)  # the other process fails task 21 first, meanwhile
        raise ValueError("task 20 is broken")
    if task == 21:
        raise ValueError("task 21 is broken")
    return task


def test_the_first_failure_in_task_order_is_raised_not_the_first_to_happen() -> None:
    for _ in range(3):  # tasks go out in turn: 20 and 21 to different processes, mostly
        with pytest.raises(ValueError, match="task 20 is broken"):
            parallel_map(_fail_at_20_late_and_21_at_once, TASKS, initializer=_nothing, workers=2)


def _count_and_fail(task: int) -> int:
    if task == 0:
        raise ValueError("the first task is broken")
    time.sleep(0.05)  # a chunk takes long enough for this process to see the failure
    with open(os.environ["POOL_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{task}\n")
    return task


def test_a_failure_stops_the_other_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "ran"
    log.touch()
    monkeypatch.setenv("POOL_LOG", str(log))
    with pytest.raises(ValueError, match="first task"):
        parallel_map(_count_and_fail, TASKS, initializer=_nothing, workers=2)
    # No chunk is handed out once task 0 has failed: only those out already run (the worker
    # is kept two ahead, and this process takes one at a time).
    chunk = len(TASKS) // (2 * pool.CHUNKS_PER_WORKER)
    assert len(log.read_text().split()) < len(TASKS) - chunk


def _die(task: int) -> int:
    if os.getpid() != _parent:
        os.kill(os.getpid(), signal.SIGKILL)  # a worker, as if killed (out of memory, say)
    time.sleep(0.01)  # this process takes the chunks from the end: leave the worker some
    return task


def test_a_worker_that_dies_is_reported_not_ignored() -> None:
    with pytest.raises(WorkerDied, match="worker process ended unexpectedly"):
        parallel_map(_die, TASKS, initializer=_nothing, workers=2)


def test_ctrl_c_ends_the_children_too(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys, time
            from sphere.pool import parallel_map

            def slow(task):
                os.write(1, b"%d\\n" % os.getpid())  # one write: both processes share it
                time.sleep(0.1)
                return task

            def nothing():
                pass

            if __name__ == "__main__":
                try:
                    parallel_map(slow, list(range(64)), initializer=nothing, workers=2)
                except KeyboardInterrupt:
                    sys.exit(130)
            """
        )
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert process.stdout is not None
    pids = {int(process.stdout.readline()), int(process.stdout.readline())}
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 130
    assert len(pids) == 2
    for pid in pids - {process.pid}:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the child is gone (reaped by the parent)


def test_after_success_the_workers_exit_while_this_process_goes_on(tmp_path: Path) -> None:
    """A finished map does not wait for the workers to end (their exit overlaps what the
    build does next); the interpreter still waits for them before it exits."""
    script = tmp_path / "exiting.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys, time
            from multiprocessing import util
            from sphere.pool import Workers

            PARENT = os.getpid()

            def slow_exit(path):
                time.sleep(0.5)
                open(path, "w").close()

            def set_up(path):
                if os.getpid() != PARENT:  # a worker: its exit takes a while
                    util.Finalize(None, slow_exit, args=(path,), exitpriority=0)

            def square(task):
                return task * task

            if __name__ == "__main__":
                ended = sys.argv[1]
                with Workers(set_up, (ended,), tasks=64, workers=2) as workers:
                    assert workers.map(square, list(range(64)))[-1] == 63 * 63
                print("ended" if os.path.exists(ended) else "ending")
            """
        )
    )
    ended = tmp_path / "worker-ended"
    done = subprocess.run(
        [sys.executable, str(script), str(ended)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ending"  # the context returned with the worker still there
    assert ended.exists()  # and the interpreter waited for it before exiting
