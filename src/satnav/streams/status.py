"""What a live stream is doing: :class:`StreamStatus` (one per source or sink), shared
between the thread that reads the stream and the loop that reports it.

States: ``"connecting"``, ``"connected"`` (data flowing), ``"stalled"`` (connected, no
data for ``stall_s``), ``"disconnected"`` (waiting to reconnect), ``"refused"`` (the peer
answered but refused: wrong mount point, credentials), ``"ended"`` (end of a file or of
stdin), ``"closed"``. Every change of state is also a line on the ``satnav.streams``
logger and, when given, a call of ``on_event(status, text)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["StreamStatus", "LOGGER"]

LOGGER = logging.getLogger("satnav.streams")


@dataclass
class StreamStatus:
    """State and counters of one stream (thread-safe updates through :meth:`set`)."""

    name: str
    state: str = "connecting"
    message: str = ""
    bytes: int = 0
    connects: int = 0
    reconnects: int = 0
    last_data: float | None = None  # time.monotonic() of the last data
    on_event: Callable[[StreamStatus, str], None] | None = field(default=None, repr=False)
    events: list = field(default_factory=list, repr=False)  # (monotonic, state, text), last 100
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, state: str, message: str = "") -> None:
        """Change state (logged and reported once per change of state or message)."""
        with self._lock:
            if state == self.state and message == self.message:
                return
            self.state, self.message = state, message
            text = f"{self.name}: {state}" + (f" ({message})" if message else "")
            self.events.append((time.monotonic(), state, text))
            del self.events[:-100]
        level = logging.WARNING if state in ("disconnected", "stalled", "refused") else logging.INFO
        LOGGER.log(level, text)
        if self.on_event is not None:
            self.on_event(self, text)

    def data(self, n: int) -> None:
        """``n`` bytes arrived."""
        self.bytes += n
        self.last_data = time.monotonic()
        if self.state != "connected":
            self.set("connected")

    def idle_s(self) -> float | None:
        """Seconds since the last data (None before any)."""
        return None if self.last_data is None else time.monotonic() - self.last_data
