"""Progress bars and verbosity of the long commands (``-q``/``--quiet``, ``-v``/``--verbose``).

The library reports progress to a plain callable ``progress(done, total)``
(:mod:`satnav.progress`); :class:`ProgressBar` is such a callable for the command line:

* on a terminal (stderr is a TTY) it draws a rich progress bar on stderr, imported only
  then and removed when the job ends, so that the command's summary line stays;
* when stderr is not a terminal (a pipe, a file, CI) or with ``--quiet`` it draws nothing
  and writes no escape code;
* with ``--verbose`` it writes a timing line to stderr as the work advances (at most one a
  second, and the last): ``satnav: solving: 2000/2880 epochs, 1.52 s (+0.61 s)``; the
  command line then also prints every warning instead of ten of each kind.
"""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar", "add_verbosity"]


def add_verbosity(parser, *, quiet_help: str = "no progress bar and no summary") -> None:
    """Add ``-q/--quiet`` and ``-v/--verbose`` to a command's parser."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help=quiet_help)
    group.add_argument("-v", "--verbose", action="store_true",
                       help="details: progress timings on stderr, every warning in full")


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """``progress(done, total)`` for the command line (see the module documentation).

    Parameters
    ----------
    description : str
        What is being done (``"solving"``), shown before the bar.
    unit : str
        The unit of the counts (``"epochs"``), shown after them.
    quiet, verbose : bool
        The command's ``--quiet`` and ``--verbose``.
    stream : file, optional
        Where the bar and the timing lines go (default stderr).
    """

    #: Seconds between two ``--verbose`` timing lines.
    VERBOSE_EVERY_S = 1.0

    def __init__(self, description: str, unit: str = "", *, quiet: bool = False, verbose: bool = False,
                 stream=None):
        self.description = description
        self.unit = unit
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self.stream = stream if stream is not None else sys.stderr
        self.draw = not quiet and _is_terminal(self.stream)
        self.t0 = time.perf_counter()
        self._last_line_t = None
        self._last_line_done = None
        self._progress = None
        self._task = None
        self.done = 0
        self.total = 0

    # ------------------------------------------------------------------ the callback
    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)
        if self.draw:
            self._update_bar()
        if self.verbose:
            now = time.perf_counter()
            last = self._last_line_t
            if (done >= total or last is None or now - last >= self.VERBOSE_EVERY_S) \
                    and done != self._last_line_done:
                since = "" if last is None else f" (+{now - last:.2f} s)"
                unit = f" {self.unit}" if self.unit else ""
                text = f"satnav: {self.description}: {done}/{total}{unit}, {now - self.t0:.2f} s{since}"
                if self._progress is not None:  # above the bar, which stays at the bottom
                    self._progress.console.print(text, markup=False, highlight=False)
                else:
                    print(text, file=self.stream, flush=True)
                self._last_line_t, self._last_line_done = now, done

    def stage(self, description: str) -> None:
        """A new description for what follows (the counts go on)."""
        self.description = description
        if self._progress is not None:
            self._progress.update(self._task, description=description)

    def _update_bar(self) -> None:
        if self._progress is None:
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )
            except ImportError:  # no rich: no bar
                self.draw = False
                return
            columns = [TextColumn("satnav: {task.description}"), BarColumn(), MofNCompleteColumn()]
            if self.unit:
                columns.append(TextColumn(self.unit))
            columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
            self._progress = Progress(*columns, console=Console(file=self.stream), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=max(self.total, 1))
        self._progress.update(self._task, completed=self.done, total=max(self.total, 1))

    # ------------------------------------------------------------------ the end
    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.t0

    def close(self) -> None:
        """Remove the bar (the command prints its summary after)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
