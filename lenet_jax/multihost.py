"""What several processes of one run (jax.distributed) must agree on: who writes and prints,
gathering per-lane values, branching together, and stopping together on a signal."""
from __future__ import annotations

import signal
import sys
import threading
from typing import Optional

import jax
import numpy as np
from jax.experimental import multihost_utils

from lenet_jax import interrupt


def is_primary() -> bool:
  """Whether this process writes files and prints: always, except in a multi-process run,
  where the first process does it for all."""
  return jax.process_index() == 0


def log(*args, file=None) -> None:
  """print, on the primary process only."""
  if is_primary():
    print(*args, file=file or sys.stdout, flush=True)


def host(x) -> np.ndarray:
  """x as a NumPy array, the same on every process: in a multi-process run each process holds
  only its own lanes, so this gathers them."""
  if getattr(x, "is_fully_addressable", True):
    return np.asarray(x)
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def any_process(flag) -> bool:
  """True on every process if `flag` is true on any, so that all of them take the same branch
  (a multi-process program hangs if one process leaves it)."""
  if jax.process_count() == 1:
    return bool(flag)
  return bool(np.any(multihost_utils.process_allgather(np.int32(bool(flag)))))


def barrier(name: str) -> None:
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(f"lenet_jax {name}")


class Signals:
  """Turns SIGINT and SIGTERM into a flag the training loop checks between jitted calls (one
  recorded before, by lenet_jax.interrupt, counts too)."""

  def __init__(self):
    self.received = interrupt.received()

  def __enter__(self):
    self._old = {}
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGINT, signal.SIGTERM):
        self._old[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    self.received = signal.Signals(signum).name

  def __exit__(self, *exc):
    for sig, old in self._old.items():
      signal.signal(sig, old)

  def anywhere(self) -> Optional[str]:
    """The signal that stops the run, if any process received one (all must stop together)."""
    if any_process(self.received is not None):
      return self.received or "a signal (sent to another process)"
    return None
