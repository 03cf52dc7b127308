"""What every row of the benchmark shares: the batch sizes compared and timed windows of steps."""
from __future__ import annotations

import statistics
import time

import jax
import numpy as np

SMALL, LARGE = 1, 128   # the two batch sizes compared
EVAL_BATCH = 1000


def block(tree):
  jax.block_until_ready(tree)
  return tree


def timed(fn):
  """fn() -> seconds it took; fn must block on its own results."""
  t0 = time.perf_counter()
  fn()
  return time.perf_counter() - t0


def summarise(seconds, steps, batch, *, compile_s=None, **extra) -> dict:
  """Per-window seconds -> medians (and the spread, to judge noise) in steps/s and images/s."""
  rates = sorted(steps / s for s in seconds)
  r = {"batch": batch, "steps_per_window": steps, "windows": len(seconds),
       "steps_per_s": statistics.median(rates), "images_per_s": statistics.median(rates) * batch,
       "steps_per_s_min": rates[0], "steps_per_s_max": rates[-1], "compile_s": compile_s}
  r.update(extra)
  return r


def finite(params) -> bool:
  # A diverged model computes on NaN/inf (and denormals on the way there), which can change the
  # speed of CPU arithmetic: flag it rather than report a silently different workload.
  return all(bool(np.isfinite(np.asarray(p)).all()) for p in jax.tree_util.tree_leaves(params))


def time_windows(args, run, state, steps, batch, warmup=None, params=lambda s: s["params"],
                 **extra) -> dict:
  """run(state, n) -> state, timed: the first call (compile + one step) apart, a warm-up, then
  --repeats windows of `steps` steps; params(state) is checked for divergence."""
  t0 = time.perf_counter()
  state = run(state, 1)
  compile_s = time.perf_counter() - t0
  state = run(state, args.warmup if warmup is None else warmup)
  seconds = []
  for _ in range(args.repeats):
    t0 = time.perf_counter()
    state = run(state, steps)
    seconds.append(time.perf_counter() - t0)
  return summarise(seconds, steps, batch, compile_s=compile_s, finite=finite(params(state)),
                   **extra)
