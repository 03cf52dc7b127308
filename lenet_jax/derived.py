"""Experiments built on a trained network rather than trained alone: the run they start from
(reused when a finished one of the same config is beside them), their results.json, the
filtering that boosting needs, and Figure 10's rejection measure."""
from __future__ import annotations

import os
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lenet_jax import config as config_lib
from lenet_jax import distort, results as results_lib, train, trained
from lenet_jax import workdir as workdir_lib
from lenet_jax.multihost import log


def base_run(config, workdir: str, name: str, **train_kw) -> trained.Trained:
  """The finished run of `config` (its experiment renamed `name`): the one in the folder `name`
  beside workdir if it holds a finished run of that config (a sweep trains it there), else one
  trained (or resumed) in workdir/name."""
  sibling = os.path.join(os.path.dirname(os.path.abspath(workdir)), name)
  try:
    saved = workdir_lib.read_results(os.path.join(sibling, "results.json"))
    if saved["status"] == "done" and not workdir_lib.config_mismatch(saved["config"], config):
      log(f"using the finished {name} run in {sibling}")
      return trained.load(sibling)
  except workdir_lib.WorkdirError:
    pass
  own = os.path.join(workdir, name)
  train.train_and_evaluate(config, own, **train_kw)
  return trained.load(own)


def rejection_share(scores, labels, larger_wins: bool, target: float = 0.5) -> float:
  """Figure 10's measure: the share (%) of test patterns rejected, those with the smallest
  difference between the scores of the top two classes first, to bring the error on the
  accepted ones down to `target` %."""
  s = np.asarray(scores, np.float64) * (1.0 if larger_wins else -1.0)
  top2 = np.sort(s, axis=1)[:, -2:]
  margin = top2[:, 1] - top2[:, 0]
  wrong = (s.argmax(1) != np.asarray(labels))[np.argsort(-margin, kind="stable")]
  # Accepting the k most confident patterns: errors among them, for every k.
  errors = np.cumsum(wrong)
  accepted = np.arange(1, len(wrong) + 1)
  ok = np.flatnonzero(100.0 * errors <= target * accepted)
  kept = int(ok.max()) + 1 if len(ok) else 0
  return 100.0 * (len(wrong) - kept) / len(wrong)


def filtered_set(key, images, labels, kind: Callable, quota: dict[int, int], ranges: dict,
                 batch: int = 1000):
  """Distorted training images sorted into kinds: `kind(distorted, labels)` gives each image's
  kind (an int; -1: not wanted), and quota[k] images of kind k are kept, in the order drawn.
  Images are drawn in batches of random training images, each randomly distorted
  (lenet_jax.distort) on the device. Returns (images, labels, draws)."""
  images, labels = jnp.asarray(images), jnp.asarray(labels)
  draw = jax.jit(lambda k: _draw(k, images, labels, batch, ranges))
  got = {k: [] for k in quota}
  held = dict.fromkeys(quota, 0)
  draws = 0
  while any(held[k] < quota[k] for k in quota):
    key, sub = jax.random.split(key)
    x, y = draw(sub)
    draws += batch
    kinds = np.asarray(kind(x, y))
    for k in quota:
      pick = np.flatnonzero(kinds == k)[:quota[k] - held[k]]
      if len(pick):
        got[k].append((np.asarray(x)[pick], np.asarray(y)[pick]))
        held[k] += len(pick)
  parts = [p for k in quota for p in got[k]]
  return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), draws


def _draw(key, images, labels, batch, ranges):
  pick, warp = jax.random.split(key)
  idx = jax.random.randint(pick, (batch,), 0, images.shape[0])
  return distort.distort_batch(warp, images[idx], **ranges), labels[idx]


def distortion_ranges(config) -> dict:
  return dict(max_shift=config.distort_shift, max_scale=config.distort_scale,
              max_squeeze=config.distort_squeeze, max_shear=config.distort_shear)


def write(workdir: str, config, lanes: list[dict], parameters: int, multiply_adds: int,
          seconds: float, **extra) -> dict:
  """workdir/results.json of a derived experiment, in a training run's shape: one lane per seed
  with its final test error as its only pass."""
  for lane in lanes:
    lane.setdefault("overrides", {})
    lane.setdefault("status", "done")
    lane["passes"] = [{"pass": 1, "test_error": lane["final_test_error"],
                       "test_errors": lane["test_errors"]}]
  results = {"experiment": config.experiment, "kind": "derived", "config": config.to_dict(),
             "status": "done", "parameters": parameters, "multiply_adds": multiply_adds,
             "paper_test_error": results_lib.paper_test_error(config),
             "lanes": lanes, "total_seconds": seconds, "device": results_lib.device(),
             "versions": results_lib.versions(), "commit": results_lib.commit(), **extra}
  results_lib.write(workdir, results)
  return results


def base_config(config, name: str, drop: tuple[str, ...]):
  """config as the run it is built on: its experiment `name`, without the fields in `drop`."""
  c = config_lib.paper_config()
  for k, v in config.items():
    if k not in drop:
      c[k] = v
  c.experiment = name
  return c


def clock() -> Callable[[], float]:
  start = time.perf_counter()
  return lambda: time.perf_counter() - start
