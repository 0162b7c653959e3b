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

__all__ = ["Forked", "can_fork", "cores", "map_forked"]


def cores() -> int:
    """Processes a ``--jobs`` default of "every core" means: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether work may go to forked processes here (:func:`os.fork`: not on Windows; not on
    macOS, where a fork of a process with threads is unsafe)."""
    import sys

    return hasattr(os, "fork") and sys.platform != "darwin"


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


class Forked:
    """``fn(*args)`` running in a forked child process (started by the constructor): ``fn``
    and ``args`` are not pickled (the child has this process's memory as it was); the
    result comes back pickled through an unlinked temporary file (not a pipe: no 64 KB
    turns between the processes for a result of many MB). Needs :func:`can_fork`."""

    def __init__(self, fn: Callable, *args):
        import tempfile

        self._file = tempfile.TemporaryFile()
        self._status: int | None = None
        self._value = None
        self.pid = os.fork()
        if self.pid == 0:  # the child
            _run_child(fn, args, self._file.fileno())

    def done(self) -> bool:
        """Whether the child has ended (its result can be taken without waiting)."""
        if self._status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:
                return False
            self._status = status
        return True

    def result(self):
        """The child's result (waits for it); its exception is raised here."""
        import pickle

        if self._file is not None:
            with self._file:
                if self._status is None:
                    self._status = os.waitpid(self.pid, 0)[1]
                self._file.seek(0)
                data = self._file.read()
            self._file = None
            if not data:
                self._value = (False, RuntimeError(f"a worker process ended without a result "
                                                   f"(wait status {self._status})"))
            else:
                self._value = pickle.loads(data)
        ok, value = self._value
        if not ok:
            raise value
        return value

    def cancel(self) -> None:
        """End the child (if it still runs) and drop its result."""
        if self._file is None:
            return
        if self._status is None:
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass
            self._status = os.waitpid(self.pid, 0)[1]
        self._file.close()
        self._file = None
        self._value = (False, RuntimeError("cancelled"))


def map_forked(fn: Callable, tasks: Sequence[tuple], jobs: int, *, local: Iterable[int] | None = None) -> list:
    """``[fn(*task) for task in tasks]`` on ``jobs`` processes: this one and forked children.

    ``local``: indices of the tasks run here (default: the first ``len(tasks) // jobs``);
    each other task runs in a child of its own (:class:`Forked`), at most ``jobs - 1`` at
    a time, forked when it starts: ``fn`` (any callable) and the task's arguments are not
    pickled, the result is. With ``jobs`` 1, a single task or no ``fork``, every task runs
    here. An exception of a task is raised here (the first in task order)."""
    tasks = list(tasks)
    jobs = max(1, int(jobs))
    if jobs == 1 or len(tasks) < 2 or not can_fork():
        return [fn(*task) for task in tasks]
    here = sorted(set(range(len(tasks) // jobs) if local is None else local))
    pending = [i for i in range(len(tasks)) if i not in here]
    results: list = [None] * len(tasks)
    running: dict[int, Forked] = {}
    try:
        while pending and len(running) < jobs - 1:
            i = pending.pop(0)
            running[i] = Forked(fn, *tasks[i])
        for i in here:
            results[i] = fn(*tasks[i])
        while running:
            i = min(running)
            results[i] = running.pop(i).result()
            if pending:
                k = pending.pop(0)
                running[k] = Forked(fn, *tasks[k])
    finally:
        for child in running.values():  # an error: the other children are ended
            child.cancel()
    return results
