"""SIGINT and SIGTERM as values: recorded when they come, acted on at the next safe point, so that
none is raised inside an import, XLA's compiler or a library's bare `except:`, which would print
tracebacks or swallow it. The training loop takes them over (multihost.Signals): it checkpoints
first."""
from __future__ import annotations

import signal
from typing import Optional

_RECEIVED: list[str] = []


class Stopped(KeyboardInterrupt):
  """A signal came before the training loop took them over: nothing of the run is kept."""


def _record(signum, frame):
  del frame
  _RECEIVED.append(signal.Signals(signum).name)


def record() -> None:
  """From now on SIGINT and SIGTERM are recorded, not raised (the entry point's first act)."""
  for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, _record)


def received() -> Optional[str]:
  """The last signal recorded, if any."""
  return _RECEIVED[-1] if _RECEIVED else None


def check() -> None:
  """Stopped if a signal was recorded: a safe point to stop at."""
  if _RECEIVED:
    raise Stopped(f"{_RECEIVED[-1]} received before training started; nothing was kept")
