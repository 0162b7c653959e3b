"""Independent pieces of work split over forked worker processes (``--jobs``).

Used where the pieces are independent and their results are put together in order, so
that the result is the one-process result bit for bit (broadcast states of one system
each, SP3 text of a range of epochs, observation chunks for ``satnav info`` and ``satnav
solve``). Workers are *forked*: they see this process's memory as it was at the fork (the
function and its arguments, large arrays included, cost nothing to hand over); only the
results travel back, pickled. Where ``fork`` is not available (Windows; macOS, where it is
unsafe with threads) everything runs in this process.

Two forms: :func:`map_forked` (a known list of tasks, a child per task) and
:class:`TaskQueue` (tasks made one after the other by this process -- chunks of a file being
read -- and taken from one shared queue by long-lived workers *and* by this process, so
that no core waits while a task is queued).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Sequence

__all__ = ["Forked", "TaskQueue", "can_fork", "cores", "map_forked"]


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


# ----------------------------------------------------------------------------- shared queue
_TASK = struct.Struct("<qqqq")  # task index, offset of its data in the store, meta bytes, blob bytes
_NOTE = struct.Struct("<qqqqq")  # kind, task index, worker, offset of the result in its file, bytes
_CLAIMED, _DONE = 1, 2


def _store_file() -> int:
    """A descriptor of an anonymous shared file (memory; a temporary file where ``memfd`` is
    missing): the task data live there, written by this process, read by whoever takes the task."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("satnav-tasks", getattr(os, "MFD_CLOEXEC", 0))
        except OSError:
            pass
    import tempfile

    fd, name = tempfile.mkstemp(prefix="satnav-tasks-")
    os.unlink(name)
    return fd


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while len(view):
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _read_all(fd: int, n: int, offset: int) -> bytes:
    data = os.pread(fd, n, offset)
    if len(data) < n:  # a short read (rare): the rest
        parts = [data]
        got = len(data)
        while got < n:
            more = os.pread(fd, n - got, offset + got)
            if not more:
                raise OSError(f"task data cut short ({got} of {n} bytes)")
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


def _serve(fn: Callable, index: int, task_fd: int, note_fd: int, store_fd: int, out_fd: int) -> None:
    """A worker's loop (in the forked child): take a task from the shared queue, say so, run
    ``fn(meta, blob)``, write ``(ok, result or exception)`` pickled to this worker's own
    file and say where; ends when the queue's writer closes it."""
    import pickle
    import select
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends the workers
    poller = select.poll()
    poller.register(task_fd, select.POLLIN)
    offset = 0
    while True:
        try:
            record = os.read(task_fd, _TASK.size)
        except BlockingIOError:  # another process took it: wait for the next (or the end)
            poller.poll()
            continue
        if not record:
            return  # the end of the queue
        k, where, n_meta, n_blob = _TASK.unpack(record)
        meta = pickle.loads(_read_all(store_fd, n_meta, where))
        blob = _read_all(store_fd, n_blob, where + n_meta)
        os.write(note_fd, _NOTE.pack(_CLAIMED, k, index, 0, 0))  # its data are read: the space is free
        try:
            payload = pickle.dumps((True, fn(meta, blob)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            try:
                payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle: its text
                payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        del meta, blob
        _write_all(out_fd, payload, offset)
        os.write(note_fd, _NOTE.pack(_DONE, k, index, offset, len(payload)))
        offset += len(payload)


class TaskQueue:
    """Tasks shared by this process and ``workers`` forked worker processes, taken in the
    order they are put, by whichever process is free.

    ``fn(meta, blob)`` runs the task in a worker (``meta`` any picklable object, ``blob``
    bytes; ``fn`` and what it refers to are the memory of this process at the fork, not
    pickled). The task data go through an anonymous shared file (no pickling of the blob,
    no pipe turns), the results come back pickled through a file per worker; two pipes
    carry the task records (each read whole by one process) and the workers' notes. This
    process adds tasks (:meth:`put`), may take one itself (:meth:`take`: the first not yet
    taken, or None) and collects the workers' results (:meth:`results`). Space of the
    shared file is reused once a task's data are read; what is in it is bounded by the
    tasks put and not yet taken. Use as a context manager: leaving it ends the workers
    (killed when leaving on an exception). Needs :func:`can_fork`.
    """

    def __init__(self, fn: Callable, workers: int):
        import tempfile
        import warnings

        _reap_ended()

        self._store = _store_file()
        self._regions: list[list[int]] = []  # [offset, capacity, task index or -1 when free]
        self._end = 0
        task_r, task_w = os.pipe()
        note_r, note_w = os.pipe()
        os.set_blocking(task_r, False)
        self._task_r, self._task_w, self._note_r = task_r, task_w, note_r
        self._outs = []
        self._pids: list[int] = []
        self._running: set[int] = set()  # tasks a worker has taken and not answered
        self.pending = 0  # tasks put and not yet taken, as far as the notes read say (never fewer)
        try:
            for index in range(max(1, int(workers))):
                out = tempfile.TemporaryFile()
                self._outs.append(out)
                with warnings.catch_warnings():  # Python 3.12+ warns on a fork with threads running
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
                if pid == 0:  # the worker
                    code = 0
                    try:
                        os.close(task_w)
                        os.close(note_r)
                        _serve(fn, index, task_r, note_w, self._store, out.fileno())
                    except BaseException:  # noqa: BLE001 - the parent sees the missing result
                        code = 1
                    finally:
                        os._exit(code)
                self._pids.append(pid)
        except BaseException:
            os.close(note_w)
            self._end_workers(kill=True)
            raise
        os.close(note_w)  # the workers hold it: the pipe ends when they all have
        self._note_buf = b""

    # -- this process's side
    def put(self, k: int, meta, blob: bytes) -> None:
        """Add task ``k`` (an index unique in this queue)."""
        import pickle

        head = pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL)
        n = len(head) + len(blob)
        where = self._region(n, k)[0]
        _write_all(self._store, head, where)
        _write_all(self._store, blob, where + len(head))
        os.write(self._task_w, _TASK.pack(k, where, len(head), len(blob)))
        self.pending += 1

    def _region(self, n: int, k: int) -> list[int]:
        """A free region of the store of at least ``n`` bytes (the smallest that fits; a new
        one at the end if none does), marked as task ``k``'s."""
        best = None
        for region in self._regions:
            if region[2] < 0 and region[1] >= n and (best is None or region[1] < best[1]):
                best = region
        if best is None:
            best = [self._end, n, -1]
            self._end += n
            self._regions.append(best)
        best[2] = k
        return best

    def _free(self, k: int) -> None:
        for region in self._regions:
            if region[2] == k:
                region[2] = -1
                return

    def take(self):
        """The first task not yet taken, as ``(k, meta, blob)``, taken by this process; None
        when every task put has been taken."""
        import pickle

        try:
            record = os.read(self._task_r, _TASK.size)
        except BlockingIOError:
            return None
        if not record:  # none left, and no more will come (finish)
            return None
        k, where, n_meta, n_blob = _TASK.unpack(record)
        meta = pickle.loads(_read_all(self._store, n_meta, where))
        blob = _read_all(self._store, n_blob, where + n_meta)
        self._free(k)
        self.pending -= 1
        return k, meta, blob

    def finish(self) -> None:
        """No more tasks: the workers end once the queue is empty."""
        if self._task_w is not None:
            os.close(self._task_w)
            self._task_w = None

    def results(self, wait: bool = False) -> list[tuple[int, bool, object]]:
        """The results the workers have sent since the last call, ``(k, ok, value)`` (``ok``
        False: ``value`` is the exception the task raised); with ``wait``, blocks until at
        least one comes. Raises RuntimeError when a worker ended without its result."""
        import pickle
        import select

        poller = select.poll()
        poller.register(self._note_r, select.POLLIN)
        out: list = []
        while True:
            if wait and not out:
                if not poller.poll(1000):
                    self._check_workers()
                    continue
            elif not poller.poll(0):
                return out
            data = os.read(self._note_r, 64 * _NOTE.size)
            if not data:
                self._check_workers(ended=True)
                return out
            data = self._note_buf + data
            whole = len(data) - len(data) % _NOTE.size
            self._note_buf = data[whole:]
            for a in range(0, whole, _NOTE.size):
                kind, k, index, where, n = _NOTE.unpack_from(data, a)
                if kind == _CLAIMED:
                    self._free(k)
                    self.pending -= 1
                    self._running.add(k)
                else:
                    ok, value = pickle.loads(_read_all(self._outs[index].fileno(), n, where))
                    self._running.discard(k)
                    out.append((k, ok, value))

    def _check_workers(self, ended: bool = False) -> None:
        """Raise when a worker has ended before the queue did (killed, out of memory)."""
        for pid in self._pids:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done and (self._task_w is not None or status != 0 or self._running):
                raise RuntimeError(f"a worker process ended without its result (wait status {status})")
        if ended and self._running:
            raise RuntimeError("the worker processes ended without their results")

    def _end_workers(self, kill: bool) -> None:
        for pid in self._pids:
            if kill:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self._pids = []

    def close(self, kill: bool = False) -> None:
        """End the workers (at once with ``kill``) and release the queue. Workers that have
        given every result end by themselves: they are waited for later (the next queue, or
        the interpreter's exit), not here, so that this process goes on while they exit."""
        self.finish()
        if kill or self._running:
            self._end_workers(kill)
        else:
            _reap_later(self._pids)
            self._pids = []
        for fd in (self._task_r, self._note_r, self._store):
            try:
                os.close(fd)
            except OSError:
                pass
        for out in self._outs:
            out.close()
        self._outs = []

    def __enter__(self) -> TaskQueue:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)


_ENDING: list[int] = []  # workers of closed queues, not yet waited for


def _reap_later(pids) -> None:
    if pids and not _ENDING:
        import atexit

        atexit.register(_reap_all)
    _ENDING.extend(pids)


def _reap_ended() -> None:
    """Wait for the closed queues' workers that have ended (not blocking)."""
    for pid in list(_ENDING):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _ENDING.remove(pid)


def _reap_all() -> None:
    """At exit: wait for every closed queue's worker (their CPU time is this process's
    children's, as ``time`` and ``wait4`` of a caller report it)."""
    while _ENDING:
        pid = _ENDING.pop()
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
