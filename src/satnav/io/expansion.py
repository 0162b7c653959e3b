"""Compact RINEX (Hatanaka) text expanded as a stream by the ``crx2rnx`` program.

:class:`Expansion` runs ``crx2rnx -`` (the program of the ``hatanaka`` package; ``gzip -dc
FILE | crx2rnx -`` for a gzipped file when a ``gzip`` program is on ``PATH``, so that this
process neither decompresses nor copies the input) and reads its output ahead in a thread
(pipe reads release the GIL) into a bounded queue of pieces: the C expander runs on another
core while this process parses and solves, and memory stays bounded
(:data:`EXPANSION_READ_AHEAD` pieces of :data:`EXPANSION_PIECE_BYTES`).

:func:`start_expansion` starts one for a file before the reader asks for it (``satnav
solve`` calls it first thing, before NumPy is imported, so that the expansion runs during
the interpreter's start-up); :func:`take_expansion` gives the reader that one. This module
imports nothing heavy (no NumPy).

Forked children (``--jobs`` workers) must not hold the expander's pipes open: a lock is held
across ``fork`` and the child points the pipes at ``/dev/null`` (:func:`release_pipes`).
"""

from __future__ import annotations

import os
import sys
import threading

__all__ = ["Expansion", "start_expansion", "take_expansion", "crx2rnx_program", "gzip_program",
           "EXPANSION_PIECE_BYTES", "EXPANSION_READ_AHEAD", "FIRST_READ_BYTES"]

#: Expanded text is read ahead of the parser in pieces of this many bytes (the first one
#: soon), at most EXPANSION_READ_AHEAD of them waiting.
EXPANSION_PIECE_BYTES = 1 << 20
EXPANSION_READ_AHEAD = 32
#: Bytes of decompressed text read first, to tell the content (and start any expansion):
#: small, so that the ``crx2rnx`` program starts at once (not after a whole block).
FIRST_READ_BYTES = 1 << 16

#: Parent-side pipe descriptors of the running expansions.
_EXPANSION_FDS: set[int] = set()
#: Held while a descriptor leaves :data:`_EXPANSION_FDS` and is closed, and across a fork: a
#: closed descriptor's number may be reused at once (by a worker queue's pipes), and a child
#: must not point that one at /dev/null.
_EXPANSION_LOCK = threading.Lock()


def release_pipes() -> None:
    """In a forked child: point the pipes of the parent's crx2rnx expansions at /dev/null, so
    that the child does not hold the program's input open (it would never see its end)."""
    if not _EXPANSION_FDS:
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in _EXPANSION_FDS:
            try:
                os.dup2(null, fd)
            except OSError:
                pass
    finally:
        os.close(null)
    _EXPANSION_FDS.clear()


def _after_fork_in_child() -> None:
    _EXPANSION_LOCK.release()
    release_pipes()
    _PRESTARTED.clear()  # the parent's


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_EXPANSION_LOCK.acquire, after_in_parent=_EXPANSION_LOCK.release,
                        after_in_child=_after_fork_in_child)


_CRX2RNX: list = []  # the program's path (or None), found once


def crx2rnx_program():
    """The ``crx2rnx`` program of the ``hatanaka`` package (None when not found): its
    ``bin/`` directory, found without importing the package (``import hatanaka`` costs
    ~30 ms of start-up, for a path)."""
    if not _CRX2RNX:
        import importlib.util

        name = "crx2rnx.exe" if sys.platform == "win32" else "crx2rnx"
        try:
            spec = importlib.util.find_spec("hatanaka")
        except (ImportError, ValueError):
            spec = None
        found = None
        for directory in (spec.submodule_search_locations or []) if spec is not None else []:
            exe = os.path.join(directory, "bin", name)
            if os.path.isfile(exe):
                found = exe
                break
        _CRX2RNX.append(found)
    return _CRX2RNX[0]


_GZIP: list = []  # the gzip program's path (or None), found once


def gzip_program():
    """The ``gzip`` program on ``PATH`` (None when there is none)."""
    if not _GZIP:
        import shutil

        _GZIP.append(shutil.which("gzip"))
    return _GZIP[0]


class Expansion:
    """The ``crx2rnx`` expansion of a Compact RINEX file, running: ``pieces()`` yields the
    RINEX text in pieces as they come; ``queued()`` pieces are waiting; ``drained()`` once
    the program's output has all been read. With ``gunzip`` (a ``gzip`` program) the file
    at ``path`` is decompressed by it straight into the expander; otherwise ``first`` (the
    content read so far) and the rest of ``stream`` are fed to it by a thread. After the
    pieces (or :meth:`close`): ``failed`` (exceptions of the threads), ``returncode``,
    ``gzip_returncode`` and ``stderr`` (bytes of both programs) say how it went."""

    def __init__(self, path, *, first: bytes = b"", stream=None, gunzip=None,
                 piece_bytes: int = EXPANSION_PIECE_BYTES):
        import queue
        import subprocess

        self.path = os.fspath(path)
        self.gunzip = gunzip
        self.failed: list = []
        self._stderr: list = []
        self.unzip = None
        self._stream = stream
        self._stdin_fd = None
        if gunzip is not None:
            if stream is not None:
                stream.close()
            with _EXPANSION_LOCK:  # no fork between the two starts: a child would hold the pipe
                self.unzip = subprocess.Popen([gunzip, "-dc", self.path], stdin=subprocess.DEVNULL,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                try:
                    self.proc = subprocess.Popen([crx2rnx_program(), "-"], stdin=self.unzip.stdout,
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                finally:
                    self.unzip.stdout.close()  # crx2rnx holds the pipe now
                self._fds = {f.fileno() for f in (self.proc.stdout, self.proc.stderr, self.unzip.stderr)}
                _EXPANSION_FDS.update(self._fds)
        else:
            with _EXPANSION_LOCK:
                self.proc = subprocess.Popen([crx2rnx_program(), "-"], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                self._fds = {f.fileno() for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr)}
                self._stdin_fd = self.proc.stdin.fileno()
                _EXPANSION_FDS.update(self._fds)
        self._first = first
        self._piece = piece_bytes
        # at most EXPANSION_READ_AHEAD pieces wait in the queue (memory stays bounded)
        self._ahead: queue.Queue = queue.Queue(maxsize=EXPANSION_READ_AHEAD)
        self._stop = threading.Event()
        self._drained = threading.Event()
        self._closed = False
        self._threads = [threading.Thread(target=self._read_errors, args=(self.proc.stderr.fileno(),),
                                          daemon=True),
                         threading.Thread(target=self._drain, daemon=True)]
        if self.unzip is None:
            self._threads.append(threading.Thread(target=self._feed, daemon=True))
        else:
            self._threads.append(threading.Thread(target=self._read_errors, args=(self.unzip.stderr.fileno(),),
                                                  daemon=True))
        for t in self._threads:
            t.start()

    # -- threads (the pipes are read and written with os.read/os.write, not through the
    # buffered file objects: a thread blocked inside a BufferedReader holds its lock, and an
    # interpreter exiting with the stream still open, on an uncaught error, aborts on that lock)
    def _feed(self) -> None:
        stdin_fd, stream = self._stdin_fd, self._stream
        try:
            piece = self._first
            while piece:
                view = memoryview(piece)
                while len(view):
                    view = view[os.write(stdin_fd, view):]
                piece = stream.read(self._piece)  # small pieces: the program never waits long
        except (OSError, EOFError, ValueError) as exc:  # damaged input, or the program ended
            self.failed.append(exc)
        finally:
            stream.close()
            with _EXPANSION_LOCK:
                _EXPANSION_FDS.discard(stdin_fd)
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass

    def _put(self, item) -> None:
        import queue

        while not self._stop.is_set():
            try:
                self._ahead.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    @staticmethod
    def _read_piece(fd: int, n: int) -> bytearray:
        """Up to ``n`` bytes (fewer at the end), read straight into one buffer (os.readv;
        pieces appended where it is missing: Windows)."""
        if not hasattr(os, "readv"):
            piece = bytearray()
            while len(piece) < n:
                more = os.read(fd, n - len(piece))
                if not more:
                    break
                piece += more
            return piece
        piece = bytearray(n)
        got = 0
        with memoryview(piece) as view:
            while got < n:
                more = os.readv(fd, [view[got:]])
                if not more:
                    break
                got += more
        if got < n:
            del piece[got:]
        return piece

    def _drain(self) -> None:
        try:
            n = min(self._piece, FIRST_READ_BYTES)  # the header soon, then larger pieces
            while not self._stop.is_set():
                out = self._read_piece(self.proc.stdout.fileno(), n)
                if len(out) < n:
                    self._drained.set()
                self._put(out)
                if not out:
                    return
                if len(out) < n:  # the end: the terminator follows
                    self._put(b"")
                    return
                n = self._piece
        except (OSError, ValueError) as exc:  # the pipe closed under it
            self.failed.append(exc)
            self._drained.set()
            self._put(b"")

    def _read_errors(self, fd: int) -> None:
        out = bytearray()
        try:
            while True:
                more = os.read(fd, 1 << 16)
                if not more:
                    break
                out += more
        except (OSError, ValueError):
            pass
        self._stderr.append(bytes(out))

    # -- the reader's side
    def queued(self) -> int:
        """Pieces read from the program and waiting."""
        return self._ahead.qsize()

    def drained(self) -> bool:
        """Whether the program's output has all been read (the rest is in the queue)."""
        return self._drained.is_set()

    def pieces(self):
        """The expanded text in pieces, as they come (then the programs are waited for)."""
        try:
            while True:
                out = self._ahead.get()
                if not out:
                    break
                yield out
            self.proc.wait()
            if self.unzip is not None:
                self.unzip.wait()
            for t in self._threads:
                t.join()
        finally:
            self.close()

    @property
    def stderr(self) -> bytes:
        return b"".join(self._stderr)

    @property
    def returncode(self):
        return self.proc.returncode

    @property
    def gzip_returncode(self):
        return None if self.unzip is None else self.unzip.returncode

    def close(self) -> None:
        """Stop reading, end the programs if they still run, release the pipes."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for p in (self.proc, self.unzip):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        for t in self._threads:
            t.join(timeout=5)
        with _EXPANSION_LOCK:
            _EXPANSION_FDS.difference_update(self._fds - {self._stdin_fd})
            self.proc.stdout.close()
            self.proc.stderr.close()
            if self.unzip is not None:
                self.unzip.stderr.close()


# ----------------------------------------------------------------------------- started early
_PRESTARTED: dict[tuple, Expansion] = {}


def _key(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.path.realpath(path), st.st_size, st.st_mtime_ns)


def start_expansion(path) -> bool:
    """Start the expansion of ``path`` now when it is a gzipped Compact RINEX 3 regular file
    (and ``gzip`` and ``crx2rnx`` programs exist), for :func:`take_expansion` to give the
    reader later; anything else (or any doubt) does nothing. Returns whether it started.
    An expansion nobody takes is ended when the interpreter exits."""
    import stat
    import zlib

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            head = fh.read(1 << 12)
        if head[:2] != b"\x1f\x8b":
            return False
        text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 256)
    except (OSError, ValueError, zlib.error):
        return False
    key = _key(path)
    # Compact RINEX 3 (of RINEX 3/4: the chunked reader's; CRINEX 1 files are read whole)
    crinex3 = b"CRINEX VERS" in text[:80] and text[:20].strip().startswith(b"3.")
    if not crinex3 or key is None or key in _PRESTARTED:
        return False
    if crx2rnx_program() is None or gzip_program() is None:
        return False
    try:
        _PRESTARTED[key] = Expansion(path, gunzip=gzip_program())
    except OSError:
        return False
    if len(_PRESTARTED) == 1:
        import atexit

        atexit.register(_end_unused)
    return True


def take_expansion(path):
    """The expansion :func:`start_expansion` started for ``path`` (the same file, unchanged
    since), once; None if there is none."""
    if not _PRESTARTED:
        return None
    return _PRESTARTED.pop(_key(path), None)


def _end_unused() -> None:
    for expansion in _PRESTARTED.values():
        expansion.close()
    _PRESTARTED.clear()


#: ``satnav solve`` options after which the observation file is not read by the streamed SPP
#: path (whole-file readers expand it themselves): no early start then.
_NOT_STREAMED = ("--base", "--report", "--smooth", "--mode", "-h", "--help")


def start_for_command(words) -> bool:
    """:func:`start_expansion` of the observation file of a ``satnav solve OBS NAV...``
    command line (``words``: the arguments after the program name), before the command's
    modules are imported: only for the plain form (the file right after ``solve``, none of
    :data:`_NOT_STREAMED`); any other form starts nothing (the reader starts its expansion
    itself, as always). Returns whether it started one."""
    words = list(words)
    if len(words) < 3 or words[0] != "solve" or words[1].startswith("-"):
        return False
    if any(w.split("=", 1)[0] in _NOT_STREAMED for w in words):
        return False
    return start_expansion(words[1])
