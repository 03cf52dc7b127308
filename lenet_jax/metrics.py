"""TensorBoard event files in workdir/tensorboard, one run per lane (tensorboardX's event format,
written by the primary process only): `tensorboard --logdir runs/` shows every lane's curves side
by side."""
from __future__ import annotations

import contextlib
import os
import time

from tensorboardX.event_file_writer import EventsWriter
from tensorboardX.proto import event_pb2
from tensorboardX.summary import scalar

from lenet_jax import files
from lenet_jax.multihost import is_primary

# Per-pass fields of a lane's record that become scalars.
PASS_SCALARS = ("train_error_online", "train_loss_online", "train_error", "train_loss",
                "test_error", "test_loss", "val_error", "val_loss", "eta", "effective_lr_min",
                "effective_lr_max", "images_per_second")
RUNNING_LOSS_EVERY = 5_000   # optimiser steps between points of the running training loss
PASS_BYTES = 1024   # about what one lane's events of a pass take on disk


def lane_name(lane: dict, overrides: dict) -> str:
  """seed0, or seed0_sdlm_mu=0.25 for a lane with varied fields."""
  return "_".join([f"seed{lane['seed']}"] + [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                             for k, v in sorted(overrides.items())])


def _open(path: str) -> EventsWriter:
  os.makedirs(path, exist_ok=True)
  return EventsWriter(os.path.join(path, "events"))


class Writers:
  """One event file per lane, written in the calling thread: a write that fails (a full disk, a
  folder made read-only) is one files.WriteError naming the folder, where tensorboardX's
  SummaryWriter would lose it in its writer thread, which dies, and then block on its queue."""

  def __init__(self, workdir: str, lanes: list[dict], records: list[dict]):
    self.root = os.path.join(workdir, "tensorboard")
    self.paths = [os.path.join(self.root, lane_name(lane, record["overrides"]))
                  for lane, record in zip(lanes, records)] if is_primary() else []
    self.writers, self.last_running = [], 0
    created = []   # this run's event files: removed if the first write fails (nothing in them)
    try:
      for path in self.paths:
        self.writers.append(self._guard(path, lambda: _open(path)))
        created.append(self.writers[-1]._file_name)   # pylint: disable=protected-access
      # The files' headers, written now: a folder that cannot take them fails before training.
      for path, writer in zip(self.paths, list(self.writers)):
        self._guard(path, writer.flush)
    except files.WriteError:
      for name in created:
        with contextlib.suppress(OSError):
          os.remove(name)
      raise

  def _guard(self, path: str, write):
    """write(); an OSError closes every file (the run stops) and is one WriteError naming
    `path`, or the tensorboard folder when a file stands in its place."""
    try:
      return write()
    except OSError as e:
      self.close()
      if os.path.lexists(self.root) and not os.path.isdir(self.root):
        path = self.root
      raise files.write_error(path, e, PASS_BYTES) from None

  def _add(self, k: int, tag: str, value, step: int) -> None:
    event = event_pb2.Event(wall_time=time.time(), step=int(step), summary=scalar(tag, value))
    self._guard(self.paths[k], lambda: self.writers[k].write_event(event))

  def running_loss(self, global_step: int, losses: dict[int, float]) -> None:
    """The mean training loss so far in the pass, per lane, every RUNNING_LOSS_EVERY steps."""
    if not self.writers or global_step - self.last_running < RUNNING_LOSS_EVERY:
      return
    self.last_running = global_step
    for k, value in losses.items():
      self._add(k, "train_loss_running", value, global_step)

  def end_of_pass(self, global_step: int, k: int, record: dict) -> None:
    if not self.writers:
      return
    for key in PASS_SCALARS:
      if key in record:
        self._add(k, key, record[key], global_step)
    self._guard(self.paths[k], self.writers[k].flush)

  def close(self) -> None:
    """Closes every file; never raises (it runs while another error may be on its way out, and
    every event of a pass was flushed at its end)."""
    writers, self.writers = self.writers, []
    for w in writers:
      try:
        w.close()
      except OSError:
        pass
