"""satnav.parallel.map_forked: the results of the tasks in task order, from this process and
forked children, as the plain loop gives them; errors raised here; no fork -> the loop.

Truth: the plain Python loop ``[fn(*t) for t in tasks]`` and ``os.getpid`` (which process ran
a task)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from satnav import parallel


def _task(k, big):
    return k, os.getpid(), float(big[k])


def test_results_in_order_from_several_processes():
    big = np.arange(1000.0)  # seen by the children through the fork, not pickled
    tasks = [(k, big) for k in range(7)]
    out = parallel.map_forked(_task, tasks, 3)
    assert [(k, v) for k, _, v in out] == [(k, float(k)) for k in range(7)]
    pids = [p for _, p, _ in out]
    assert pids[: 7 // 3] == [os.getpid()] * (7 // 3)  # the first share runs here
    assert all(p != os.getpid() for p in pids[7 // 3:])  # the others in children
    assert len(set(pids)) == 1 + 7 - 7 // 3  # one child per task


def test_large_result_and_lambda():
    out = parallel.map_forked(lambda n: np.full(n, n, dtype=np.int64), [(10,), (3_000_000,)], 2)
    assert out[0].tolist() == [10] * 10
    assert out[1].shape == (3_000_000,) and (out[1] == 3_000_000).all()


def _fails(k):
    if k == 2:
        raise ValueError(f"task {k} failed")
    return k


def test_an_error_of_a_child_is_raised_here():
    with pytest.raises(ValueError, match="task 2 failed"):
        parallel.map_forked(_fails, [(k,) for k in range(4)], 2)


def test_one_job_or_no_fork_runs_here(monkeypatch):
    tasks = [(k, np.arange(10.0)) for k in range(4)]
    assert [p for _, p, _ in parallel.map_forked(_task, tasks, 1)] == [os.getpid()] * 4
    monkeypatch.setattr(parallel, "can_fork", lambda: False)
    assert [p for _, p, _ in parallel.map_forked(_task, tasks, 4)] == [os.getpid()] * 4


def test_cores():
    assert parallel.cores() >= 1


# ----------------------------------------------------------------------------- TaskQueue
def _drain(queue, expected):
    """Take tasks here while any is queued, collect the workers' results: {k: (ok, value)}."""
    out = {}
    while len(out) < expected:
        mine = queue.take()
        if mine is not None:
            k, meta, blob = mine
            out[k] = (True, ("here", meta, len(blob)))
            continue
        for k, ok, value in queue.results(wait=True):
            out[k] = (ok, value)
    return out


def test_task_queue_tasks_taken_by_workers_and_here():
    big = np.arange(1000.0)  # the workers see it through the fork

    def fn(meta, blob):
        return os.getpid(), meta, len(blob), float(big[meta])

    blobs = [bytes([k]) * (1000 + 5000 * k) for k in range(12)]
    with parallel.TaskQueue(fn, 2) as queue:
        for k, blob in enumerate(blobs):
            queue.put(k, k, blob)
        queue.finish()
        out = _drain(queue, len(blobs))
    assert sorted(out) == list(range(12))
    for k, (ok, value) in out.items():
        assert ok
        if value[0] == "here":  # taken by this process: the meta and the blob as put
            assert value[1:] == (k, len(blobs[k]))
        else:
            pid, meta, n, v = value
            assert pid != os.getpid() and (meta, n, v) == (k, len(blobs[k]), float(k))


def test_task_queue_reuses_the_space_of_taken_tasks():
    with parallel.TaskQueue(lambda meta, blob: blob[:3] + blob[-3:], 1) as queue:
        got = {}
        for k in range(20):  # one at a time: each task's space is free again when the next comes
            queue.put(k, None, bytes([k]) * 100_000)
            while k not in got:
                for j, ok, value in queue.results(wait=True):
                    assert ok
                    got[j] = value
        assert queue._end <= 2 * 100_100  # not 20 regions
    assert got == {k: bytes([k]) * 6 for k in range(20)}


def test_task_queue_error_of_a_task_comes_back():
    def fn(meta, blob):
        if meta == 1:
            raise ValueError("task 1 failed")
        return meta

    with parallel.TaskQueue(fn, 1) as queue:
        queue.put(0, 0, b"")
        queue.put(1, 1, b"")
        queue.finish()
        got = {}
        while len(got) < 2:
            for k, ok, value in queue.results(wait=True):
                got[k] = (ok, value)
    assert got[0] == (True, 0)
    assert got[1][0] is False and isinstance(got[1][1], ValueError) and "task 1 failed" in str(got[1][1])


def test_task_queue_a_worker_that_dies_is_an_error():
    def fn(meta, blob):
        os._exit(3)  # as if killed (out of memory)

    with pytest.raises(RuntimeError, match="ended without"):
        with parallel.TaskQueue(fn, 1) as queue:
            queue.put(0, None, b"x")
            queue.finish()
            while True:
                queue.results(wait=True)


def test_task_queue_workers_are_waited_for_later():
    """A queue closed normally does not wait for its workers' exit; they are waited for by
    the next queue or at the interpreter's exit (so their CPU counts as this process's
    children's)."""
    with parallel.TaskQueue(lambda meta, blob: meta, 1) as queue:
        pids = list(queue._pids)
        queue.put(0, 7, b"")
        queue.finish()
        assert queue.results(wait=True) == [(0, True, 7)]
    assert pids[0] in parallel._ENDING
    parallel._reap_all()
    assert not parallel._ENDING
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # already waited for
