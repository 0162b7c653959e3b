"""Independent pieces of work split over forked worker processes (``--jobs``).

Used where the pieces are independent and their results are put together in order, so
that the result is the one-process result bit for bit (broadcast states of one system
each, SP3 text of a range of epochs, observation chunks for ``satnav info``). Workers are
*forked*: they see this process's memory as it was at the fork (the function and its
arguments, large arrays included, cost nothing to hand over); only the results travel
back, pickled through a pipe. Where ``fork`` is not available (Windows; macOS, where it is
unsafe with threads) everything runs in this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

__all__ = ["cores", "map_forked", "can_fork"]


def cores() -> int:
    """Processes a ``--jobs`` default of "every core" means: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _can_fork() -> bool:
    import sys

    return hasattr(os, "fork") and sys.platform != "darwin"  # macOS: fork with threads is unsafe


def can_fork() -> bool:
    """Whether work may go to forked processes here (not on Windows nor macOS)."""
    return _can_fork()


def _run_child(fn: Callable, args: tuple, fd: int) -> None:
    """In a forked child: ``fn(*args)`` (or the exception it raised) pickled into the file
    ``fd``; the child then ends without running the parent's exit handlers."""
    import pickle

    code = 0
    try:
        try:
            payload = pickle.dumps((True, fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            code = 1
            try:
                payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle: its text
                payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        view = memoryview(payload)
        while len(view):
            view = view[os.write(fd, view):]
    finally:
        os._exit(code)


def map_forked(fn: Callable, tasks: Sequence[tuple], jobs: int, *, local: Iterable[int] | None = None) -> list:
    """``[fn(*task) for task in tasks]`` on ``jobs`` processes: this one and forked children.

    ``local``: indices of the tasks run here (default: the first ``len(tasks) // jobs``);
    each other task runs in a child of its own, at most ``jobs - 1`` at a time, forked when
    it starts: ``fn`` (any callable) and the task's arguments are not pickled. A child's
    result comes back pickled, through an unlinked temporary file (not a pipe: no 64 KB
    turns between the processes for a result of many MB). With ``jobs`` 1, a single task or
    no ``fork``, every task runs here. An exception of a task is raised here (the first in
    task order)."""
    import pickle
    import tempfile

    tasks = list(tasks)
    jobs = max(1, int(jobs))
    if jobs == 1 or len(tasks) < 2 or not _can_fork():
        return [fn(*task) for task in tasks]
    here = sorted(set(range(len(tasks) // jobs) if local is None else local))
    remote = [i for i in range(len(tasks)) if i not in here]
    results: list = [None] * len(tasks)
    running: dict[int, tuple] = {}  # task -> (pid, the file of its result)

    def start(i: int) -> None:
        result_file = tempfile.TemporaryFile()
        pid = os.fork()
        if pid == 0:  # the child
            _run_child(fn, tasks[i], result_file.fileno())
        running[i] = (pid, result_file)

    def collect(i: int) -> None:
        pid, result_file = running.pop(i)
        with result_file:
            _, status = os.waitpid(pid, 0)
            result_file.seek(0)
            data = result_file.read()
        if not data:
            raise RuntimeError(f"a worker process ended without a result (wait status {status})")
        ok, value = pickle.loads(data)
        if not ok:
            raise value
        results[i] = value

    pending = list(remote)
    try:
        while pending and len(running) < jobs - 1:
            start(pending.pop(0))
        for i in here:
            results[i] = fn(*tasks[i])
        while running:
            collect(min(running))
            if pending:
                start(pending.pop(0))
    finally:
        for i in list(running):  # an error: the other children are ended
            pid, result_file = running.pop(i)
            try:
                os.kill(pid, 9)
            except OSError:
                pass
            os.waitpid(pid, 0)
            result_file.close()
    return results
