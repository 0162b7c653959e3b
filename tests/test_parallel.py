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
