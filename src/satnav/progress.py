"""Progress of long jobs, reported to a plain callable: no display, no dependency.

A library function that may run for long (a day-long solve, a coverage grid, a simulation,
a batch) takes ``progress: ProgressCallback | None``, a callable ``progress(done, total)``
with counts of the job's own unit (epochs, grid points, stages, station-days): ``done``
never decreases, ``0 <= done <= total``, and the last call has ``done == total`` (also for
an empty job: ``(0, 0)``). ``total`` is fixed from the start where it is known; where it
is an estimate (a RINEX file's epochs from its header) it may change, and the last call
holds the true count. The command line turns the calls into a progress bar on a terminal
(:mod:`satnav.cli.progress`); a notebook can pass ``print`` or a tqdm adapter.

:class:`ProgressCounter` keeps those promises for the code that reports.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback", "ProgressCounter"]

#: ``progress(done, total)``: counts of a job's unit (see the module documentation).
ProgressCallback = Callable[[int, int], None]


class ProgressCounter:
    """Reports to a :data:`ProgressCallback` (or to nothing when it is None) keeping the
    counts monotonic and within the total.

    >>> calls = []
    >>> c = ProgressCounter(lambda done, total: calls.append((done, total)), 10)
    >>> c.advance(4); c.update(3); c.advance(20); c.finish()
    >>> calls
    [(4, 10), (4, 10), (10, 10), (10, 10)]
    """

    def __init__(self, callback: ProgressCallback | None, total: int = 0):
        self.callback = callback
        self.total = max(int(total), 0)
        self.done = 0

    def set_total(self, total: int) -> None:
        """A new (estimated) total; never below what is done."""
        self.total = max(int(total), self.done)

    def update(self, done: int) -> None:
        """``done`` units are complete (a smaller number than before is ignored)."""
        self.done = min(max(self.done, int(done)), self.total)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def advance(self, n: int = 1) -> None:
        """``n`` more units are complete."""
        self.update(self.done + int(n))

    def finish(self, total: int | None = None) -> None:
        """The job is complete: the last call, ``done == total`` (``total``: the true count,
        when the one given before was an estimate)."""
        if total is not None:
            self.total = max(int(total), 0)
        self.done = self.total
        if self.callback is not None:
            self.callback(self.done, self.total)
