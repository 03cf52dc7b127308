"""Training and evaluation: a pure, jitted train step over state held as a plain pytree.

`train_and_evaluate(config, workdir)` is the library entry point behind launch.py.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lenet_jax import data as data_lib
from lenet_jax import losses, sdlm
from lenet_jax.model import LeNet5, describe, head

PAPER_TEST_ERROR = {"c3_partial": 0.95}   # percent; the paper's LeNet-5 on undistorted MNIST


class DivergenceError(RuntimeError):
  """The loss or the parameters became non-finite."""


def make_model(config) -> LeNet5:
  return LeNet5(c3=config.c3, pooling=config.pooling, activation=config.activation,
                output=config.output, weight_init=config.init,
                prototype_seed=config.prototype_seed)


def make_loss(config):
  """loss(scores, labels) for the configured output and loss."""
  if config.output == "linear" and config.loss != "cross_entropy":
    raise ValueError(f"output 'linear' gives logits: use loss=cross_entropy, not {config.loss!r}")
  if config.output != "linear" and config.loss == "cross_entropy":
    raise ValueError(f"output {config.output!r} gives RBF distances: use loss=map or mle")
  return losses.loss_fn(config.loss, config.map_j)


def make_optimizer(config, steps_per_pass: int):
  """(optax transform, learning-rate schedule over steps)."""
  if config.optimizer == "sdlm":
    schedule = sdlm.paper_schedule(steps_per_pass, tuple(config.sdlm_etas),
                                   tuple(config.sdlm_eta_passes))
    return sdlm.sdlm(schedule, mu=config.sdlm_mu), schedule
  if config.optimizer in ("sgd", "adam"):
    if config.learning_rate <= 0:
      raise ValueError(f"optimizer={config.optimizer} needs learning_rate > 0, "
                       f"got {config.learning_rate}")
    schedule = optax.constant_schedule(config.learning_rate)
    return getattr(optax, config.optimizer)(schedule), schedule
  raise ValueError(f"unknown optimizer {config.optimizer!r}; use sdlm, sgd or adam")


class Trainer:
  """The jitted functions of one configuration. State is a plain dict pytree:
  {"params", "opt_state", "step", "key"}."""

  def __init__(self, config, steps_per_pass: int):
    self.config = config
    self.model = make_model(config)
    self.loss = make_loss(config)
    self.tx, self.schedule = make_optimizer(config, steps_per_pass)
    self.stages = self.model.stages()
    self.head = head(config.output, self.model.prototypes())
    self.output = config.output
    self.train_step = jax.jit(self._train_step, donate_argnums=0)
    self.train_steps = jax.jit(self._train_steps, donate_argnums=0)
    self.train_step_at = jax.jit(self._train_step_at, donate_argnums=0)
    self.evaluate_batch = jax.jit(self._evaluate_batch)
    self.hessian = jax.jit(self._hessian)

  def init(self, seed: int):
    key = jax.random.PRNGKey(seed)
    params = self.model.init(jax.random.fold_in(key, 0), jnp.zeros((1, 32, 32, 1)))["params"]
    return {"params": params, "opt_state": self.tx.init(params),
            "step": jnp.zeros([], jnp.int32), "key": jax.random.fold_in(key, 1)}

  def _train_step(self, state, batch):
    """One optimiser step on batch = (images, labels). Returns (state, metrics); the metrics
    are measured on the batch before the update (the paper's on-the-fly training error)."""
    x, y = batch

    def loss_fn(params):
      scores = self.model.apply({"params": params}, x)
      return self.loss(scores, y), scores

    (loss, scores), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
    updates, opt_state = self.tx.update(grads, state["opt_state"], state["params"])
    params = optax.apply_updates(state["params"], updates)
    errors = jnp.sum(losses.predict(scores, self.output) != y)
    new = {"params": params, "opt_state": opt_state, "step": state["step"] + 1,
           "key": state["key"]}
    return new, {"loss": loss, "errors": errors}

  def _train_steps(self, state, images, labels, idx, n):
    """The first n rows of idx (steps, batch), which index the on-device training set, as n
    optimiser steps in one call. n is dynamic so that calls of any length up to idx's share
    one compiled loop."""
    def body(i, carry):
      s, loss, errors = carry
      rows = idx[i]
      s, m = self._train_step(s, (images[rows], labels[rows]))
      return s, loss + m["loss"], errors + m["errors"]
    zero = jnp.zeros([], jnp.float32)
    state, loss, errors = jax.lax.fori_loop(0, n, body, (state, zero, jnp.zeros([], jnp.int32)))
    return state, {"loss": loss, "errors": errors}

  def _train_step_at(self, state, images, labels, order, i):
    """One step on the rows order[i] of the on-device training set. For large batches on CPU
    this measured ~4x faster than the same step inside a one-iteration loop."""
    rows = jax.lax.dynamic_index_in_dim(order, i, keepdims=False)
    return self._train_step(state, (images[rows], labels[rows]))

  def _evaluate_batch(self, params, x, y):
    scores = self.model.apply({"params": params}, x)
    per_example_loss = jax.vmap(lambda s, t: self.loss(s[None], t[None]))(scores, y)
    return jnp.sum(losses.predict(scores, self.output) != y), jnp.sum(per_example_loss)

  def _hessian(self, params, x, y):
    head_loss = lambda z, t: self.loss(self.head(z), t)
    return sdlm.gauss_newton_diag(self.stages, head_loss, params, x, y)

  def evaluate(self, params, images, labels) -> dict:
    """Error rate (%) and mean loss of `params` on a split held on the device."""
    n, bs = images.shape[0], self.config.eval_batch_size
    errors, total = 0, 0.0
    for start in range(0, n, bs):
      e, l = self.evaluate_batch(params, images[start:start + bs], labels[start:start + bs])
      errors, total = errors + int(e), total + float(l)
    return {"error": 100.0 * errors / n, "loss": total / n, "errors": errors}

  def refresh_hessian(self, state, images, labels, epoch: int, step: int = 0):
    """Re-estimates SDLM's h on `sdlm_samples` random training patterns (before a pass, and
    at `step` within it)."""
    key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(state["key"], epoch), 1), step)
    idx = jax.random.choice(key, images.shape[0], (self.config.sdlm_samples,), replace=False)
    h = self.hessian(state["params"], images[idx], labels[idx])
    state["opt_state"] = sdlm.set_hessian(state["opt_state"], h)
    return state, h


def _segments(config, epoch: int, steps_per_pass: int, chunk: int):
  """(start, stop, refresh h first?) for the jitted calls of one pass (for chunk 1: the runs
  of single-step calls between progress updates)."""
  starts = set(range(0, steps_per_pass, chunk if chunk > 1 else 50))
  refresh = {0} if config.optimizer == "sdlm" else set()
  if config.optimizer == "sdlm" and epoch == 0 and config.sdlm_first_pass_refresh:
    # At the paper's initialisation the upper weights are tiny, so the curvature reaching the
    # lower layers is ~0 and grows by orders of magnitude in the first few hundred steps; an
    # estimate held fixed from step 0 lets those layers diverge. Re-estimating after 1, 2, 4, 8,
    # ... steps tracks that growth (17 extra estimates in a 60,000-step pass).
    refresh |= {2 ** k for k in range(steps_per_pass.bit_length()) if 2 ** k < steps_per_pass}
  bounds = sorted(starts | refresh | {steps_per_pass})
  return [(a, b, a in refresh) for a, b in zip(bounds[:-1], bounds[1:])]


def _steps_per_call(config, steps_per_pass: int) -> int:
  if config.steps_per_call > 0:
    return min(config.steps_per_call, steps_per_pass)
  # Small batches: many steps per call amortise dispatch. Large batches: on CPU a step inside
  # a loop measured ~4x slower than the same jitted step called from Python, so one per call,
  # in segments of 50 between progress updates.
  return max(1, min(1000 if config.batch_size < 16 else 1, steps_per_pass))


def _versions() -> dict:
  import flax
  return {"python": platform.python_version(), "jax": jax.__version__,
          "jaxlib": jax.lib.__version__ if hasattr(jax.lib, "__version__") else "",
          "flax": flax.__version__, "optax": optax.__version__, "numpy": np.__version__}


def _device() -> dict:
  d = jax.devices()[0]
  return {"platform": d.platform, "kind": d.device_kind, "count": jax.device_count(),
          "host": platform.node(), "cpu": platform.processor() or platform.machine(),
          "cpu_count": os.cpu_count()}


def write_json_atomic(path: str, obj: Any) -> None:
  """Writes to a temporary file beside `path`, then renames: never a truncated file."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
  try:
    with os.fdopen(fd, "w") as f:
      json.dump(obj, f, indent=2, sort_keys=False)
      f.write("\n")
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def _progress(total, desc, enabled):
  if not enabled:
    return None
  from tqdm import tqdm
  return tqdm(total=total, desc=desc, unit="img", unit_scale=True, leave=False,
              file=sys.stderr, dynamic_ncols=True)


def train_and_evaluate(config, workdir: str, *, progress: bool = True) -> dict:
  """Trains `config` and writes workdir/results.json; returns the same dict."""
  if config.epochs < 1:
    raise ValueError(f"epochs must be >= 1, got {config.epochs}")
  if config.batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {config.batch_size}")
  ds = data_lib.load_mnist(config.mnist_dir or None, train_size=config.train_size,
                           subset=config.train_subset, validation=config.validation,
                           seed=config.seed)
  n_train = ds.train_x.shape[0]
  if config.batch_size > n_train:
    raise ValueError(f"batch_size {config.batch_size} is larger than the training set "
                     f"({n_train} images); lower batch_size or raise train_size")
  os.makedirs(workdir, exist_ok=True)

  # The whole dataset lives on the device once; batches are gathered inside jitted code.
  train_x, train_y = jnp.asarray(ds.train_x), jnp.asarray(ds.train_y)
  test_x, test_y = jnp.asarray(ds.test_x), jnp.asarray(ds.test_y)
  val = (jnp.asarray(ds.val_x), jnp.asarray(ds.val_y)) if ds.val_x.shape[0] else None

  steps_per_pass = n_train // config.batch_size
  trainer = Trainer(config, steps_per_pass)
  state = trainer.init(config.seed)
  chunk = _steps_per_call(config, steps_per_pass)
  n_params = sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(state["params"]))

  results = {
      "experiment": config.experiment, "config": config.to_dict(), "parameters": n_params,
      "layers": describe(trainer.model), "train_images": n_train,
      "test_images": int(test_x.shape[0]), "device": _device(), "versions": _versions(),
      "paper_test_error": PAPER_TEST_ERROR.get(config.experiment), "passes": [],
      "status": "running",
  }
  compile_start = time.perf_counter()
  for epoch in range(config.epochs):
    t0 = time.perf_counter()
    record = {"pass": epoch + 1}
    segments = _segments(config, epoch, steps_per_pass, chunk)
    if config.optimizer == "sdlm":
      state, h = trainer.refresh_hessian(state, train_x, train_y, epoch)
      eta = float(trainer.schedule(state["step"]))
      hs = jnp.concatenate([v.ravel() for v in jax.tree_util.tree_leaves(h)])
      record.update(eta=eta, effective_lr_min=float(eta / (config.sdlm_mu + hs.max())),
                    effective_lr_max=float(eta / (config.sdlm_mu + hs.min())))
    perm_key = jax.random.fold_in(jax.random.fold_in(state["key"], epoch), 0)
    order = jax.random.permutation(perm_key, n_train)[:steps_per_pass * config.batch_size]
    order = order.reshape(steps_per_pass, config.batch_size)
    order = jnp.concatenate([order, order[:chunk]])   # padding for the last call's unused rows
    bar = _progress(steps_per_pass * config.batch_size, f"pass {epoch + 1}/{config.epochs}",
                    progress)
    loss_sum, errors = 0.0, 0
    for start, stop, refresh in segments:
      if refresh and start > 0:
        state, _ = trainer.refresh_hessian(state, train_x, train_y, epoch, start)
      if chunk == 1:
        # One jitted step per call; the metrics stay on the device until the segment ends.
        seg_loss, seg_errors = 0.0, 0
        for i in range(start, stop):
          state, m = trainer.train_step_at(state, train_x, train_y, order, i)
          seg_loss, seg_errors = seg_loss + m["loss"], seg_errors + m["errors"]
      else:
        # Every call gets `chunk` rows (one compiled program) and uses the first stop - start.
        state, m = trainer.train_steps(state, train_x, train_y, order[start:start + chunk],
                                       stop - start)
        seg_loss, seg_errors = m["loss"], m["errors"]
      loss_sum, errors = loss_sum + float(seg_loss), errors + int(seg_errors)
      if not np.isfinite(loss_sum):
        raise DivergenceError(f"loss became non-finite in pass {epoch + 1} by step {stop}; "
                              "lower the learning rate (or raise sdlm_mu)")
      if bar is not None:
        bar.update((stop - start) * config.batch_size)
        bar.set_postfix(loss=f"{loss_sum / stop:.4f}",
                        err=f"{100.0 * errors / (stop * config.batch_size):.2f}%")
    if bar is not None:
      bar.close()
    jax.block_until_ready(state["params"])
    train_seconds = time.perf_counter() - t0
    images = steps_per_pass * config.batch_size
    record.update(train_error_online=100.0 * errors / images, train_loss_online=loss_sum /
                  steps_per_pass, seconds=train_seconds, images_per_second=images / train_seconds)
    tr = trainer.evaluate(state["params"], train_x, train_y)
    te = trainer.evaluate(state["params"], test_x, test_y)
    record.update(train_error=tr["error"], train_loss=tr["loss"], test_error=te["error"],
                  test_loss=te["loss"], test_errors=te["errors"])
    if val is not None:
      va = trainer.evaluate(state["params"], *val)
      record.update(val_error=va["error"], val_loss=va["loss"])
    record["eval_seconds"] = time.perf_counter() - t0 - train_seconds
    results["passes"].append(record)
    print(f"pass {epoch + 1:2d}/{config.epochs}: train error on the fly "
          f"{record['train_error_online']:.2f}%, after pass {tr['error']:.2f}%, "
          f"test {te['error']:.2f}% ({te['errors']} errors), loss {tr['loss']:.4f}, "
          f"{record['images_per_second']:.0f} img/s, {train_seconds:.1f}s", flush=True)
    if not all(np.isfinite(np.asarray(p)).all() for p in jax.tree_util.tree_leaves(state["params"])):
      raise DivergenceError(f"parameters became non-finite in pass {epoch + 1}; "
                            "lower the learning rate (or raise sdlm_mu)")
    results["final_test_error"] = te["error"]
    results["status"] = "running" if epoch + 1 < config.epochs else "done"
    results["total_seconds"] = time.perf_counter() - compile_start
    write_json_atomic(os.path.join(workdir, "results.json"), results)
  return results
