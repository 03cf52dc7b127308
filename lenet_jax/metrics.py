"""TensorBoard event files in workdir/tensorboard, one run per lane (tensorboardX, written by the
primary process only): `tensorboard --logdir runs/` shows every lane's curves side by side."""
from __future__ import annotations

import os

from tensorboardX import SummaryWriter

from lenet_jax.multihost import is_primary

# Per-pass fields of a lane's record that become scalars.
PASS_SCALARS = ("train_error_online", "train_loss_online", "train_error", "train_loss",
                "test_error", "test_loss", "val_error", "val_loss", "eta", "effective_lr_min",
                "effective_lr_max", "images_per_second")
RUNNING_LOSS_EVERY = 5_000   # optimiser steps between points of the running training loss


def lane_name(lane: dict, overrides: dict) -> str:
  """seed0, or seed0_sdlm_mu=0.25 for a lane with varied fields."""
  return "_".join([f"seed{lane['seed']}"] + [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                             for k, v in sorted(overrides.items())])


class Writers:
  """One SummaryWriter per lane; a no-op on the processes that do not write."""

  def __init__(self, workdir: str, lanes: list[dict], records: list[dict]):
    self.writers = [SummaryWriter(os.path.join(workdir, "tensorboard",
                                               lane_name(lane, record["overrides"])))
                    for lane, record in zip(lanes, records)] if is_primary() else []
    self.last_running = 0

  def running_loss(self, global_step: int, losses: dict[int, float]) -> None:
    """The mean training loss so far in the pass, per lane, every RUNNING_LOSS_EVERY steps."""
    if not self.writers or global_step - self.last_running < RUNNING_LOSS_EVERY:
      return
    self.last_running = global_step
    for k, value in losses.items():
      self.writers[k].add_scalar("train_loss_running", value, global_step)

  def end_of_pass(self, global_step: int, k: int, record: dict) -> None:
    if not self.writers:
      return
    for key in PASS_SCALARS:
      if key in record:
        self.writers[k].add_scalar(key, record[key], global_step)
    self.writers[k].flush()

  def close(self) -> None:
    for w in self.writers:
      w.close()
