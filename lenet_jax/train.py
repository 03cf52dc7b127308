"""Training and evaluation: a pure, jitted train step over state held as a plain pytree.

`train_and_evaluate(config, workdir)` is the library entry point behind launch.py.
"""
from __future__ import annotations

import itertools
import json
import os
import platform
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lenet_jax import config as config_lib
from lenet_jax import data as data_lib
from lenet_jax import distort, losses, sdlm
from lenet_jax.model import LeNet5, describe, head

PAPER_TEST_ERROR = {"c3_partial": 0.95, "distortions": 0.8}   # percent, the paper's LeNet-5


class DivergenceError(RuntimeError):
  """The loss or the parameters became non-finite."""


def make_model(config) -> LeNet5:
  if config.init_scale <= 0 or not np.isfinite(config.init_scale):
    raise ValueError(f"init_scale must be a finite number > 0, got {config.init_scale}")
  if config.sdlm_output_curvature == "constant" and config.output == "linear":
    raise ValueError("sdlm_output_curvature=constant is the RBF distance's curvature: it needs "
                     "an rbf output, not output=linear; use sdlm_output_curvature=exact")
  if config.sdlm_output_curvature not in sdlm.OUTPUT_CURVATURES:
    raise ValueError(f"unknown sdlm_output_curvature {config.sdlm_output_curvature!r}; use one "
                     f"of {', '.join(sdlm.OUTPUT_CURVATURES)}")
  return LeNet5(c3=config.c3, pooling=config.pooling, activation=config.activation,
                output=config.output, weight_init=config.init,
                prototype_seed=config.prototype_seed, init_scale=config.init_scale,
                subsample_curvature=config.sdlm_subsample_curvature)


def make_loss(config):
  """loss(scores, labels, j) for the configured output and loss (j: Eq. 9's constant, per model
  so that models trained together can differ in it; ignored by the other losses)."""
  if config.output == "linear" and config.loss != "cross_entropy":
    raise ValueError(f"output 'linear' gives logits: use loss=cross_entropy, not {config.loss!r}")
  if config.output != "linear" and config.loss == "cross_entropy":
    raise ValueError(f"output {config.output!r} gives RBF distances: use loss=map or mle")
  if config.loss == "map":
    return losses.map_loss
  base = losses.loss_fn(config.loss)
  return lambda scores, labels, j: base(scores, labels)


def make_optimizer(config, steps_per_pass: int):
  """(optax transform, learning-rate schedule over steps). The values a lane may change (mu, the
  SGD/Adam rate) are injected hyperparameters: arrays in the optimiser state, set per lane."""
  if config.optimizer == "sdlm":
    schedule = sdlm.paper_schedule(steps_per_pass, tuple(config.sdlm_etas),
                                   tuple(config.sdlm_eta_passes))
    return optax.inject_hyperparams(sdlm.sdlm)(learning_rate=schedule, mu=config.sdlm_mu), schedule
  if config.optimizer in ("sgd", "adam"):
    if config.learning_rate <= 0:
      raise ValueError(f"optimizer={config.optimizer} needs learning_rate > 0, "
                       f"got {config.learning_rate}; e.g. --set=learning_rate=0.001")
    tx = optax.inject_hyperparams(getattr(optax, config.optimizer))(
        learning_rate=config.learning_rate)
    return tx, (lambda step: config.learning_rate)
  raise ValueError(f"unknown optimizer {config.optimizer!r}; use sdlm, sgd or adam")


# Config fields that may differ between models trained in one vmapped program: they change
# values, not shapes or code, so each lane carries its own as an array.
LANE_FIELDS = ("seed", "sdlm_mu", "map_j", "learning_rate")


def lanes_of(config) -> list[dict]:
  """The models trained together: for each entry of `config.lane_sets` (the config's own lane
  fields if none), for every combination of `config.vary` ("field=v1,v2,..."; fields from
  LANE_FIELDS), `config.seeds` seeds counting up from the seed."""
  axes = []
  for item in config.vary:
    field, _, values = item.partition("=")
    field = field.strip()
    if field not in LANE_FIELDS or not values:
      raise ValueError(f"vary={item!r}: expected field=v1,v2,... with field one of "
                       f"{', '.join(LANE_FIELDS)}")
    try:
      parsed = [int(v) if field == "seed" else float(v) for v in values.split(",")]
    except ValueError:
      raise ValueError(f"vary={item!r}: values must be numbers") from None
    axes.append((field, parsed))
  if config.seeds < 1:
    raise ValueError(f"seeds must be >= 1, got {config.seeds}")
  lanes = []
  for lane_set in config.lane_sets or ({},):
    if not isinstance(lane_set, dict):
      raise ValueError(f"lane_sets entries must be dicts like {{'learning_rate': 0.01}}, got "
                       f"{lane_set!r}")
    unknown = set(lane_set) - set(LANE_FIELDS)
    if unknown:
      raise ValueError(f"lane_sets entry {dict(lane_set)!r}: {', '.join(sorted(unknown))} "
                       f"cannot differ between lanes; fields: {', '.join(LANE_FIELDS)}")
    base = {f: lane_set.get(f, config[f]) for f in LANE_FIELDS}
    for combo in itertools.product(*[vals for _, vals in axes]):
      lane = dict(base, **{f: v for (f, _), v in zip(axes, combo)})
      first = lane["seed"]
      lanes.extend(dict(lane, seed=first + k) for k in range(config.seeds))
  return lanes


def vmapped_together(group: int, lanes: int) -> int:
  """How many of a device's `lanes` one vmap takes for a lane group of `group` (0: all): the
  largest divisor of lanes up to group."""
  return max(k for k in range(1, min(group or lanes, lanes) + 1) if lanes % k == 0)


def over_lanes(fn, in_axes, mesh=None, lanes_axis_args=None, group=0):
  """fn vmapped over the leading lane axis of the arguments with in_axes 0 (every output has a
  lane axis). With one lane the axis is squeezed instead: vmapping a convolution over its
  weights turns it into a grouped convolution, which XLA's CPU backend runs far slower than a
  plain one. `group` > 0: a device's lanes are vmapped in groups of that many (or of the
  largest divisor of its lane count up to it), and the groups run one after another (lax.map).
  With a mesh, each device runs this on its own lanes (shard_map over the mesh's
  "lanes" axis): letting XLA's partitioner split the vmapped program instead gave wrong numbers
  for the grouped C5 convolution (JAX 0.10.2, 4 CPU devices)."""
  if lanes_axis_args is not None:
    # fn maps over the lanes itself; the lane axis is only split over devices.
    if mesh is None:
      return fn
    spec = jax.sharding.PartitionSpec
    return jax.shard_map(fn, mesh=mesh, out_specs=spec("lanes"), check_vma=False,
                         in_specs=tuple(spec("lanes") if i in lanes_axis_args else spec()
                                        for i in range(len(in_axes))))
  vmapped = jax.vmap(fn, in_axes=in_axes)

  def together(lanes, *args):
    if lanes != 1:
      return vmapped(*args)
    one = [jax.tree.map(lambda v: v[0], a) if ax == 0 else a for a, ax in zip(args, in_axes)]
    return jax.tree.map(lambda v: v[None], fn(*one))

  def run(*args):
    lanes = next(jax.tree_util.tree_leaves(a)[0].shape[0] for a, ax in zip(args, in_axes)
                 if ax == 0)
    g = vmapped_together(group, lanes)
    if g == lanes:
      return together(lanes, *args)
    # Groups of g lanes one after another, each vmapped.
    split = lambda v: v.reshape(lanes // g, g, *v.shape[1:])
    lane_args = [jax.tree.map(split, a) for a, ax in zip(args, in_axes) if ax == 0]

    def one_group(group_args):
      it = iter(group_args)
      return together(g, *[next(it) if ax == 0 else a for a, ax in zip(args, in_axes)])
    out = jax.lax.map(one_group, lane_args)
    return jax.tree.map(lambda v: v.reshape(lanes, *v.shape[2:]), out)

  if mesh is None:
    return run
  spec = jax.sharding.PartitionSpec
  # check_vma=False: the loops start their metric sums from constants that are not per-lane.
  return jax.shard_map(run, mesh=mesh, out_specs=spec("lanes"), check_vma=False,
                       in_specs=tuple(spec("lanes") if ax == 0 else spec() for ax in in_axes))


@jax.custom_batching.custom_vmap
def take_rows(table, rows):
  """table[rows]."""
  return table[rows]


@take_rows.def_vmap
def _take_rows_lanes(lanes, batched, table, rows):
  # Each lane fetching its own rows of a shared table: vmap would make one gather with
  # per-lane indices, which XLA's CPU backend runs element by element (~10 us per 32x32 image,
  # 4% of a lane's step); a slice per lane is a plain copy.
  if tuple(batched) != (False, True):
    return jax.vmap(lambda t, r: t[r], in_axes=tuple(0 if b else None for b in batched))(
        table, rows), True
  return jnp.stack([take_rows(table, rows[k]) for k in range(lanes)]), True


class Trainer:
  """The jitted functions of one configuration. The state of one model is a plain dict pytree:
  {"params", "opt_state", "step", "key", "map_j"}; the lane_* functions take the states of
  several models stacked on a leading axis (one per lane)."""

  def __init__(self, config, steps_per_pass: int, mesh=None):
    self.config = config
    self.model = make_model(config)
    self.loss = make_loss(config)
    self.tx, self.schedule = make_optimizer(config, steps_per_pass)
    self.stages = self.model.stages()
    self.head = head(config.output, self.model.prototypes())
    self.output = config.output
    self.eval_batch = eval_batch_size(config)
    self.train_step = jax.jit(self._train_step, donate_argnums=0)
    self.train_steps = jax.jit(self._train_steps, donate_argnums=0)
    self.train_step_at = jax.jit(self._train_step_at, donate_argnums=0)
    self._evaluate_jit = jax.jit(self._evaluate_batch)
    self._evaluate_split_jit = jax.jit(self._evaluate_split)
    self.hessian = jax.jit(self._hessian)
    self._refresh_jit = jax.jit(self._refresh)
    self.lane_init = jax.jit(over_lanes(self.init, (0, 0, 0, 0), mesh))
    self.lane_train_steps = jax.jit(
        over_lanes(self._train_steps, (0, None, None, 0, None), mesh, group=lane_group(config)),
        donate_argnums=0)
    self.lane_train_step_at = jax.jit(
        over_lanes(self._train_step_at, (0, None, None, 0, None), mesh), donate_argnums=0)
    self.lane_refresh = jax.jit(over_lanes(self._refresh, (0, None, None, None, None), mesh),
                                donate_argnums=0)
    # Evaluation: lanes one after another (lax.map) on each device, not vmapped, which would make
    # every convolution a grouped one.
    self.lane_evaluate = jax.jit(over_lanes(
        lambda p, x, y, j: jax.lax.map(lambda a: self._evaluate_batch(a[0], x, y, a[1]), (p, j)),
        (None, None, None, None), mesh, lanes_axis_args=(0, 3)))
    self.lane_evaluate_split = jax.jit(over_lanes(
        lambda p, x, y, j: jax.lax.map(lambda a: self._evaluate_split(a[0], x, y, a[1]), (p, j)),
        (None, None, None, None), mesh, lanes_axis_args=(0, 3)))
    self.lane_finite = jax.jit(lambda p: jnp.stack([
        jnp.all(jnp.isfinite(v.reshape(v.shape[0], -1)), axis=1)
        for v in jax.tree_util.tree_leaves(p)]).all(axis=0))   # per lane: all params finite?
    self.lane_order = jax.jit(over_lanes(self._order, (0, None, None, None, None)),
                              static_argnums=(2, 3, 4))

  def init(self, seed, mu=None, j=None, lr=None):
    """The state of one model; mu, j and lr default to the config's."""
    c = self.config
    key = jax.random.PRNGKey(seed)
    params = self.model.init(jax.random.fold_in(key, 0), jnp.zeros((1, 32, 32, 1)))["params"]
    opt_state = self.tx.init(params)
    if c.optimizer == "sdlm":
      opt_state = optax.tree_utils.tree_set(opt_state, mu=jnp.float32(c.sdlm_mu if mu is None else mu))
    else:
      opt_state = optax.tree_utils.tree_set(
          opt_state, learning_rate=jnp.float32(c.learning_rate if lr is None else lr))
    return {"params": params, "opt_state": opt_state, "step": jnp.zeros([], jnp.int32),
            "key": jax.random.fold_in(key, 1),
            "map_j": jnp.float32(c.map_j if j is None else j)}

  def init_lanes(self, lanes: list[dict]):
    col = lambda f, dt: jnp.asarray([lane[f] for lane in lanes], dt)
    return self.lane_init(col("seed", jnp.int32), col("sdlm_mu", jnp.float32),
                          col("map_j", jnp.float32), col("learning_rate", jnp.float32))

  def _train_step(self, state, batch):
    """One optimiser step on batch = (images, labels). Returns (state, metrics); the metrics
    are measured on the batch before the update (the paper's on-the-fly training error)."""
    x, y = batch
    if self.config.distort:
      c = self.config
      key = jax.random.fold_in(jax.random.fold_in(state["key"], 2), state["step"])
      x = distort.distort_batch(key, x, max_shift=c.distort_shift, max_scale=c.distort_scale,
                                max_squeeze=c.distort_squeeze, max_shear=c.distort_shear)

    def loss_fn(params):
      scores = self.model.apply({"params": params}, x)
      return self.loss(scores, y, state["map_j"]), scores

    (loss, scores), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
    updates, opt_state = self.tx.update(grads, state["opt_state"], state["params"])
    params = optax.apply_updates(state["params"], updates)
    errors = jnp.sum(losses.predict(scores, self.output) != y)
    new = dict(state, params=params, opt_state=opt_state, step=state["step"] + 1)
    return new, {"loss": loss, "errors": errors}

  def _train_steps(self, state, images, labels, idx, n):
    """The first n rows of idx (steps, batch), which index the on-device training set, as n
    optimiser steps in one call. n is dynamic so that calls of any length up to idx's share
    one compiled loop."""
    def body(i, carry):
      s, loss, errors = carry
      rows = idx[i]
      s, m = self._train_step(s, (take_rows(images, rows), take_rows(labels, rows)))
      return s, loss + m["loss"], errors + m["errors"]
    zero = jnp.zeros([], jnp.float32)
    state, loss, errors = jax.lax.fori_loop(0, n, body, (state, zero, jnp.zeros([], jnp.int32)))
    return state, {"loss": loss, "errors": errors}

  def _train_step_at(self, state, images, labels, order, i):
    """One step on the rows order[i] of the on-device training set. For large batches on CPU
    this measured ~4x faster than the same step inside a one-iteration loop."""
    rows = jax.lax.dynamic_index_in_dim(order, i, keepdims=False)
    return self._train_step(state, (images[rows], labels[rows]))

  def _evaluate_batch(self, params, x, y, j):
    scores = self.model.apply({"params": params}, x)
    per_example_loss = jax.vmap(lambda s, t: self.loss(s[None], t[None], j))(scores, y)
    return jnp.sum(losses.predict(scores, self.output) != y), jnp.sum(per_example_loss)

  def _evaluate_split(self, params, x, y, j):
    """Per-batch (errors, summed loss) of one model over x in batches of eval_batch (x's length
    a multiple of it), as one scan: no Python dispatch per batch."""
    bs = self.eval_batch
    batches = (x.reshape(-1, bs, *x.shape[1:]), y.reshape(-1, bs))
    return jax.lax.scan(lambda c, b: (c, self._evaluate_batch(params, b[0], b[1], j)), None,
                        batches)[1]

  def evaluate_batch(self, params, x, y, j=None):
    """(errors, summed loss) of one model on a batch."""
    return self._evaluate_jit(params, x, y, jnp.float32(self.config.map_j if j is None else j))

  def _hessian(self, params, x, y, j):
    head_loss = lambda z, t: self.loss(self.head(z), t, j)
    return sdlm.gauss_newton_diag(self.stages, head_loss, params, x, y,
                                  self.config.sdlm_output_curvature)

  def _refresh(self, state, images, labels, epoch, step):
    key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(state["key"], epoch), 1), step)
    samples = min(self.config.sdlm_samples, images.shape[0])
    idx = jax.random.choice(key, images.shape[0], (samples,), replace=False)
    h = self._hessian(state["params"], images[idx], labels[idx], state["map_j"])
    return dict(state, opt_state=sdlm.set_hessian(state["opt_state"], h))

  def _order(self, state, epoch, n_train, steps, batch):
    """This pass's shuffled (steps, batch) rows of the n_train training images for one model."""
    key = jax.random.fold_in(jax.random.fold_in(state["key"], epoch), 0)
    return jax.random.permutation(key, n_train)[:steps * batch].reshape(steps, batch)

  def evaluate_lanes(self, params, images, labels, j) -> list[dict]:
    """evaluate() for every lane of stacked `params` (j: per-lane array), the lanes spread over
    the devices."""
    n = images.shape[0]
    whole = n - n % self.eval_batch
    errors, total = np.zeros(0, np.int64), np.zeros(0)
    if whole:
      e, l = self.lane_evaluate_split(params, images[:whole], labels[:whole], j)
      errors, total = _host(e).astype(np.int64).sum(1), _host(l).astype(np.float64).sum(1)
    if whole < n:
      e, l = self.lane_evaluate(params, images[whole:], labels[whole:], j)
      e, l = _host(e).astype(np.int64), _host(l).astype(np.float64)
      errors, total = (e, l) if not whole else (errors + e, total + l)
    return [{"error": 100.0 * int(e) / n, "loss": float(t) / n, "errors": int(e)}
            for e, t in zip(errors, total)]

  def evaluate(self, params, images, labels, j=None) -> dict:
    """Error rate (%) and mean loss of one model's `params` on a split held on the device."""
    j = jnp.float32(self.config.map_j if j is None else j)
    n = images.shape[0]
    whole = n - n % self.eval_batch
    errors, total = 0, 0.0
    if whole:
      e, l = self._evaluate_split_jit(params, images[:whole], labels[:whole], j)
      errors, total = int(np.asarray(e).sum()), float(np.asarray(l, np.float64).sum())
    if whole < n:
      e, l = self.evaluate_batch(params, images[whole:], labels[whole:], j)
      errors, total = errors + int(e), total + float(l)
    return {"error": 100.0 * errors / n, "loss": total / n, "errors": errors}

  def refresh_hessian(self, state, images, labels, epoch: int, step: int = 0):
    """Re-estimates SDLM's h of one model on `sdlm_samples` random training patterns (before a
    pass, and at `step` within it). Returns (state, h)."""
    state = self._refresh_jit(state, images, labels, epoch, step)
    return state, sdlm.get_hessian(state["opt_state"])


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


def eval_batch_size(config) -> int:
  """Images per evaluation batch: config.eval_batch_size, or if 0, 10 on CPU and 1000 elsewhere.
  Evaluation runs as one scan over a split's batches. On CPU, batches under
  model.IM2COL_MAX_BATCH take the im2col convolution: on this project's 2-core machine, the
  60,000 training images took 8.9 s in batches of 10 against 18.2 s in batches of 1,000 (XLA's
  convolution) for 6 lanes on 2 devices, and 2.5-2.9 s against 3.0 s for one model (medians
  of 2, quiet machine). Accelerators want large batches."""
  if config.eval_batch_size > 0:
    return config.eval_batch_size
  return 10 if jax.default_backend() == "cpu" else 1000


def lane_group(config) -> int:
  """Lanes one vmap takes on a device in the small-batch loop (`lane_train_steps`): the
  config's lane_group, 0 meaning all of them. Smaller groups keep each group's weights, gradients
  and SDLM Hessian estimate (~0.75 MB per lane for the paper model) in a core's L2 cache
  (1.25 MB on this project's Intel machine), which four vmapped lanes (3 MB) overflow. Measured
  there for 8 seeds at batch 1 (benchmarks/RESULTS.md): groups of 1 against all 4 of a device's
  lanes vmapped, 2.46x against 2.57x one seed over 9 alternating pairs of processes (medians;
  each ranged 1.7-4.0x), but ahead in 6 of 7 interleaved in-process comparisons: within the
  machine's noise, so the default stays one vmap."""
  if config.lane_group < 0:
    raise ValueError(f"lane_group must be >= 0, got {config.lane_group}")
  return config.lane_group


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
          "processes": jax.process_count(),
          "host": platform.node(), "cpu": platform.processor() or platform.machine(),
          "cpu_count": os.cpu_count(), "xla_flags": os.environ.get("XLA_FLAGS", "")}


def write_json_atomic(path: str, obj: Any) -> None:
  """Writes to a temporary file beside `path`, then renames: never a truncated file."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
  try:
    os.chmod(tmp, 0o644)   # mkstemp makes it owner-only; results are for sharing
    with os.fdopen(fd, "w") as f:
      json.dump(obj, f, indent=2, sort_keys=False)
      f.write("\n")
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def is_primary() -> bool:
  """Whether this process writes files and prints: always, except in a multi-process run
  (jax.distributed), where the first process does it for all."""
  return jax.process_index() == 0


def log(*args, file=None) -> None:
  """print, on the primary process only."""
  if is_primary():
    print(*args, file=file or sys.stdout, flush=True)


def _signal_anywhere(signals) -> Optional[str]:
  """The signal that stops the run, if any process received one (all must stop together)."""
  if _any_process(signals.received is not None):
    return signals.received or "a signal (sent to another process)"
  return None


def _host(x) -> np.ndarray:
  """x as a NumPy array, the same on every process: in a multi-process run each process holds
  only its own lanes, so this gathers them."""
  if getattr(x, "is_fully_addressable", True):
    return np.asarray(x)
  from jax.experimental import multihost_utils
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def _any_process(flag) -> bool:
  """True on every process if `flag` is true on any, so that all of them take the same branch
  (a multi-process program hangs if one process leaves it)."""
  if jax.process_count() == 1:
    return bool(flag)
  from jax.experimental import multihost_utils
  return bool(np.any(multihost_utils.process_allgather(np.int32(bool(flag)))))


def _barrier(name: str) -> None:
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(f"lenet_jax {name}")


def _progress(total, desc, enabled):
  if not enabled or not is_primary():
    return None
  from tqdm import tqdm
  return tqdm(total=total, desc=desc, unit="img", unit_scale=True, leave=False,
              file=sys.stderr, dynamic_ncols=True)


def lane_record(lane: dict, config) -> dict:
  """A lane's entry in results.json, before any pass: its seed and the lane fields in which it
  differs from `config`."""
  varied = {f: lane[f] for f in LANE_FIELDS if f != "seed" and lane[f] != config[f]}
  return {"seed": lane["seed"], "overrides": varied, "passes": [], "status": "running"}


class Interrupted(RuntimeError):
  """SIGINT or SIGTERM arrived; a checkpoint was written and the run can be resumed."""


class WorkdirError(ValueError):
  """The workdir cannot be used: not writable, another config's results, a corrupt checkpoint."""


# Config fields that do not change what a run computes, so a workdir may be resumed with others.
_RESUMABLE_DIFFERENCES = ("mnist_dir", "eval_batch_size", "lane_group")


def config_mismatch(saved: dict, config) -> list[str]:
  """The fields in which a saved config (as results.json holds it) differs from `config`,
  leaving out those that do not change what a run computes."""
  as_json = lambda c: json.loads(json.dumps(c.to_dict()))
  now, default = as_json(config), as_json(config_lib.paper_config())
  keys = sorted((set(saved) | set(now)) - set(_RESUMABLE_DIFFERENCES))
  # A field added to the config after a run was saved: the run had its default.
  same = lambda k: saved.get(k, default.get(k)) == now.get(k)
  return [k for k in keys if not same(k)]


def check_same_config(saved: dict, config, workdir: str) -> None:
  """WorkdirError if the results saved in workdir are of another config."""
  diff = config_mismatch(saved, config)
  if diff:
    raise WorkdirError(
        f"workdir {workdir!r} holds results of a different config (differs in: "
        f"{', '.join(diff)}); use another --workdir, or --overwrite to replace them")


def _prepare_workdir(workdir: str, config, overwrite: bool):
  """Creates workdir, or checks that the results already in it are this config's. Returns the
  latest checkpoint step there (None: start from scratch)."""
  results_path = os.path.join(workdir, "results.json")
  ckpt_dir = os.path.join(workdir, "checkpoints")
  try:
    os.makedirs(workdir, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=workdir, prefix=".tmp-probe")
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    raise WorkdirError(f"workdir {workdir!r} is not writable ({e.strerror}); choose another "
                       "--workdir") from None
  if overwrite:
    if not is_primary():
      return None
    for path in (results_path, ckpt_dir):
      if os.path.isdir(path):
        shutil.rmtree(path)
      elif os.path.exists(path):
        os.unlink(path)
    return None
  if os.path.exists(results_path):
    try:
      with open(results_path) as f:
        saved = json.load(f).get("config", {})
    except (OSError, ValueError) as e:
      raise WorkdirError(f"{results_path} is unreadable ({e}); rerun with --overwrite to start "
                         "over") from None
    check_same_config(saved, config, workdir)
  if not os.path.isdir(ckpt_dir):
    return None
  steps = sorted(int(d) for d in os.listdir(ckpt_dir) if d.isdigit())
  return steps[-1] if steps else None


def _checkpoint_manager(workdir: str, keep: int):
  import orbax.checkpoint as ocp
  # Synchronous saves: the state is donated to the next training call right after a save.
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                         enable_async_checkpointing=False)
  return ocp.CheckpointManager(os.path.abspath(os.path.join(workdir, "checkpoints")),
                               options=options)


def _save(manager, step: int, state, meta: dict) -> None:
  import orbax.checkpoint as ocp
  manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                             meta=ocp.args.JsonSave(meta)), force=True)


def _restore(manager, step: int, template):
  import orbax.checkpoint as ocp
  try:
    got = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(template), meta=ocp.args.JsonRestore()))
  except Exception as e:   # orbax raises many types for damaged files; all mean the same here
    raise WorkdirError(f"checkpoint {os.path.join(manager.directory, str(step))} is unreadable "
                       f"({type(e).__name__}: {str(e)[:200]}); rerun with --overwrite to start "
                       "over") from None
  return got["state"], got["meta"]


class _Signals:
  """Turns SIGINT and SIGTERM into a flag the training loop checks between jitted calls."""

  def __init__(self):
    self.received = None

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


def lane_mesh(n_lanes: int):
  """A one-axis mesh for the lane axis over as many devices (of every process) as divide the
  lanes evenly, or None when that is one. Auto axes: with JAX 0.10's default Explicit axes a vmapped
  convolution fails to shard. On CPU, launch.py splits the host into one XLA device per core
  (lenet_jax.devices.split_host), so lanes train on all cores at once."""
  devices = jax.devices()   # every process's, in a multi-process run
  d = max(k for k in range(1, len(devices) + 1) if n_lanes % k == 0)
  if d == 1:
    return None
  return jax.make_mesh((d,), ("lanes",), axis_types=(jax.sharding.AxisType.Auto,),
                       devices=devices[:d])


def padded_lanes(lanes: list[dict]) -> list[dict]:
  """`lanes` followed by copies of the last one, up to a multiple of the devices they can use
  (min(lanes, local devices); all devices in a multi-process run): 5 seeds on 2 devices train as 3 + 3 rather than 5 on one. The
  copies are trained and thrown away; they never appear in results."""
  # Several processes: every device takes part (each process must hold some lanes).
  d = (jax.device_count() if jax.process_count() > 1
       else min(len(lanes), jax.local_device_count()))
  return lanes + [dict(lanes[-1])] * (-len(lanes) % d)


def train_and_evaluate(config, workdir: str, *, progress: bool = True,
                       overwrite: bool = False) -> dict:
  """Trains `config` and writes workdir/results.json; returns the same dict.

  All the models of `lanes_of(config)` (config.seeds seeds, times the values of config.vary)
  train together in one compiled program, vmapped over a leading lane axis (sharded over the
  local devices); each has its own initialisation, data order, Hessian estimates and
  hyperparameters, and its own entry in results["lanes"]. With one lane, results["passes"] and
  results["final_test_error"] are its.

  Checkpoints (orbax) go to workdir/checkpoints after every pass and every
  `checkpoint_every` steps; rerunning with the same workdir and config resumes from the latest
  one and ends with the same numbers as a run never interrupted. SIGINT/SIGTERM write a
  checkpoint and raise Interrupted.
  """
  if config.epochs < 1:
    raise ValueError(f"epochs must be >= 1, got {config.epochs}")
  if config.batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {config.batch_size}")
  if config.checkpoint_every < 0 or config.checkpoint_keep < 1:
    raise ValueError("checkpoint_every must be >= 0 and checkpoint_keep >= 1, got "
                     f"{config.checkpoint_every} and {config.checkpoint_keep}")
  lanes = lanes_of(config)
  ds = data_lib.load_mnist(config.mnist_dir or None, train_size=config.train_size,
                           subset=config.train_subset, validation=config.validation,
                           seed=config.seed)
  n_train = ds.train_x.shape[0]
  if config.batch_size > n_train:
    raise ValueError(f"batch_size {config.batch_size} is larger than the training set "
                     f"({n_train} images); lower batch_size or raise train_size")
  steps_per_pass = n_train // config.batch_size
  n_lanes = len(lanes)
  trained = padded_lanes(lanes)   # the first n_lanes are the real ones
  n_trained = len(trained)
  mesh = lane_mesh(n_trained)
  trainer = Trainer(config, steps_per_pass, mesh)
  chunk = _steps_per_call(config, steps_per_pass)
  # Everything above validates the config and the data; only now is anything written.
  resume_step = _prepare_workdir(workdir, config, overwrite)
  _barrier("workdir prepared")

  # The whole dataset lives on the device once; batches are gathered inside jitted code.
  train_x, train_y = jnp.asarray(ds.train_x), jnp.asarray(ds.train_y)
  test_x, test_y = jnp.asarray(ds.test_x), jnp.asarray(ds.test_y)
  val = (jnp.asarray(ds.val_x), jnp.asarray(ds.val_y)) if ds.val_x.shape[0] else None

  if mesh is not None:
    # The data are replicated on every device (of every process); each device trains its own
    # lanes.
    everywhere = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    train_x, train_y, test_x, test_y = (jax.device_put(a, everywhere)
                                        for a in (train_x, train_y, test_x, test_y))
    val = None if val is None else tuple(jax.device_put(a, everywhere) for a in val)
  state = trainer.init_lanes(trained)
  n_params = sum(int(np.prod(p.shape[1:])) for p in jax.tree_util.tree_leaves(state["params"]))

  results = {
      "experiment": config.experiment, "parameters": n_params,
      "config": json.loads(json.dumps(config.to_dict())),   # as results.json holds it
      "layers": describe(trainer.model), "train_images": n_train,
      "test_images": int(test_x.shape[0]), "device": _device(), "versions": _versions(),
      "paper_test_error": PAPER_TEST_ERROR.get(config.experiment), "passes": [],
      "lanes": [lane_record(lane, config) for lane in lanes], "status": "running",
      "lane_devices": 1 if mesh is None else mesh.size,
  }
  manager = _checkpoint_manager(workdir, config.checkpoint_keep)
  # Host-side progress of the current pass, saved with every checkpoint.
  # The padding lanes count as never alive: they train, but nothing reads their numbers.
  run = {"epoch": 0, "step": 0, "loss_sum": [0.0] * n_trained, "errors": [0] * n_trained,
         "alive": [True] * n_lanes + [False] * (n_trained - n_lanes), "pass_seconds": 0.0,
         "records": None, "total_seconds": 0.0}
  if resume_step is not None:
    state, meta = _restore(manager, resume_step, state)
    run, results = meta["run"], meta["results"]
    diff = config_mismatch(results.get("config", {}), config)
    if diff:
      manager.close()
      raise WorkdirError(
          f"the checkpoints in {workdir!r} are of a different config (differs in: "
          f"{', '.join(diff)}); use another --workdir, or --overwrite to replace them")
    results.setdefault("resumed", []).append({"pass": run["epoch"] + 1, "step": run["step"]})
    if results["status"] == "done":
      manager.close()
      return results
    log(f"resuming from the checkpoint at pass {run['epoch'] + 1}, step {run['step']} of "
        f"{steps_per_pass}", file=sys.stderr)
  results_path = os.path.join(workdir, "results.json")

  def write_results():
    if is_primary():
      write_json_atomic(results_path, results)

  def checkpoint(global_step):
    run["total_seconds"] = elapsed()
    _save(manager, global_step, state, {"run": run, "results": results})

  alive = np.asarray(run["alive"], bool)
  clock, seconds_before = time.perf_counter(), run["total_seconds"]
  elapsed = lambda: seconds_before + time.perf_counter() - clock
  with _Signals() as signals:
    for epoch in range(run["epoch"], config.epochs):
      t0 = time.perf_counter()
      resuming_mid_pass = run["epoch"] == epoch and run["step"] > 0
      if not resuming_mid_pass:
        run.update(epoch=epoch, step=0, loss_sum=[0.0] * n_trained, errors=[0] * n_trained,
                   pass_seconds=0.0, records=[{"pass": epoch + 1} for _ in lanes])
      records = run["records"]
      segments = _segments(config, epoch, steps_per_pass, chunk)
      if config.optimizer == "sdlm" and not resuming_mid_pass:
        state = trainer.lane_refresh(state, train_x, train_y, epoch, 0)
        eta = float(trainer.schedule(int(_host(state["step"])[0])))
        h = jax.tree.map(_host, sdlm.get_hessian(state["opt_state"]))
        for k, r in enumerate(records):
          curv = sdlm.curvature_summary(jax.tree.map(lambda v: v[k], h), eta,
                                        lanes[k]["sdlm_mu"])
          r.update(eta=eta, effective_lr_min=curv.pop("rate_min"),
                   effective_lr_max=curv.pop("rate_max"), sdlm=curv)
      order = trainer.lane_order(state, epoch, n_train, steps_per_pass, config.batch_size)
      order = jnp.concatenate([order, order[:, :chunk]], axis=1)   # rows for the last call's tail
      bar = _progress(steps_per_pass * config.batch_size * n_lanes,
                      f"pass {epoch + 1}/{config.epochs}", progress)
      if bar is not None:
        bar.update(run["step"] * config.batch_size * n_lanes)
      loss_sum, errors = np.asarray(run["loss_sum"]), np.asarray(run["errors"], np.int64)
      last_checkpoint = run["step"]
      for start, stop, refresh in segments:
        if stop <= run["step"]:
          continue
        if refresh and start > 0:
          state = trainer.lane_refresh(state, train_x, train_y, epoch, start)
        if chunk == 1:
          # One jitted step per call; the metrics stay on the device until the segment ends.
          seg_loss, seg_errors = 0.0, 0
          for i in range(start, stop):
            state, m = trainer.lane_train_step_at(state, train_x, train_y, order, i)
            seg_loss, seg_errors = seg_loss + m["loss"], seg_errors + m["errors"]
        else:
          # Every call gets `chunk` rows (one compiled program) and uses the first stop - start.
          state, m = trainer.lane_train_steps(state, train_x, train_y,
                                              order[:, start:start + chunk], stop - start)
          seg_loss, seg_errors = m["loss"], m["errors"]
        loss_sum, errors = loss_sum + _host(seg_loss), errors + _host(seg_errors)
        for k in np.flatnonzero(alive & ~np.isfinite(loss_sum)):
          alive[k] = False
          results["lanes"][k].update(status="diverged",
                                     diverged_at={"pass": epoch + 1, "step": stop})
          if n_lanes > 1:
            log(f"lane {k} (seed {lanes[k]['seed']}) diverged in pass {epoch + 1} by step "
                f"{stop}; the other lanes go on", file=sys.stderr)
        if not alive.any():
          results["status"] = "diverged"
          write_results()
          manager.close()
          what = "the loss" if n_lanes == 1 else "every lane's loss"
          raise DivergenceError(
              f"{what} became non-finite in pass {epoch + 1} by step {stop}; the last good "
              f"checkpoint is kept in {workdir}/checkpoints; lower the learning rate (or raise "
              "sdlm_mu) and rerun with --overwrite")
        run.update(step=stop, loss_sum=loss_sum.tolist(), errors=errors.tolist(),
                   alive=alive.tolist())
        if bar is not None:
          bar.update((stop - start) * config.batch_size * n_lanes)
          seen = stop * config.batch_size
          bar.set_postfix(loss=f"{np.mean(loss_sum[alive]) / stop:.4f}",
                          err=f"{100.0 * np.mean(errors[alive]) / seen:.2f}%")
        due = (config.checkpoint_every and stop < steps_per_pass
               and stop - last_checkpoint >= config.checkpoint_every)
        received = _signal_anywhere(signals)
        if due or received:
          run["pass_seconds"] += time.perf_counter() - t0
          t0 = time.perf_counter()
          checkpoint(epoch * steps_per_pass + stop)
          last_checkpoint = stop
        if received:
          if bar is not None:
            bar.close()
          manager.close()
          raise Interrupted(f"{received} received: stopped at pass {epoch + 1}, step "
                            f"{stop}, checkpoint written; rerun the same command to resume")
      if bar is not None:
        bar.close()
      jax.block_until_ready(state["params"])
      train_seconds = run["pass_seconds"] + time.perf_counter() - t0
      images = steps_per_pass * config.batch_size
      t_eval = time.perf_counter()
      if n_trained == 1:
        # Evaluated as one model: at batch 1000 the im2col-free path (XLA's convolution) runs
        # outside any map.
        params = jax.tree.map(lambda v: v[0], state["params"])
        j = lanes[0]["map_j"]
        evals = {"train": [trainer.evaluate(params, train_x, train_y, j)],
                 "test": [trainer.evaluate(params, test_x, test_y, j)]}
        if val is not None:
          evals["val"] = [trainer.evaluate(params, *val, j)]
      else:
        js = state["map_j"]
        evals = {"train": trainer.evaluate_lanes(state["params"], train_x, train_y, js),
                 "test": trainer.evaluate_lanes(state["params"], test_x, test_y, js)}
        if val is not None:
          evals["val"] = trainer.evaluate_lanes(state["params"], *val, js)
      finite = _host(trainer.lane_finite(state["params"]))
      for k in np.flatnonzero(alive):
        tr, te = evals["train"][k], evals["test"][k]
        r = records[k]
        r.update(train_error_online=100.0 * errors[k] / images,
                 train_loss_online=loss_sum[k] / steps_per_pass, seconds=train_seconds,
                 images_per_second=images / train_seconds, train_error=tr["error"],
                 train_loss=tr["loss"], test_error=te["error"], test_loss=te["loss"],
                 test_errors=te["errors"])
        if val is not None:
          r.update(val_error=evals["val"][k]["error"], val_loss=evals["val"][k]["loss"])
        lane_result = results["lanes"][k]
        if not finite[k]:
          alive[k] = False
          lane_result.update(status="diverged", diverged_at={"pass": epoch + 1, "step": images})
          continue
        lane_result["passes"].append(r)
        lane_result["final_test_error"] = te["error"]
        lane_result["status"] = "running" if epoch + 1 < config.epochs else "done"
      eval_seconds = time.perf_counter() - t_eval
      for k in np.flatnonzero(alive):
        records[k]["eval_seconds"] = eval_seconds
      done = [results["lanes"][k]["passes"][-1] for k in np.flatnonzero(alive)]
      prefix = f"pass {epoch + 1:2d}/{config.epochs}:"
      if n_lanes == 1 and done:
        r = done[0]
        log(f"{prefix} train error on the fly {r['train_error_online']:.2f}%, after pass "
              f"{r['train_error']:.2f}%, test {r['test_error']:.2f}% ({r['test_errors']} "
              f"errors), loss {r['train_loss']:.4f}, {r['images_per_second']:.0f} img/s, "
            f"{train_seconds:.1f}s")
      elif done:
        te = [r["test_error"] for r in done]
        log(f"{prefix} {len(done)} lanes, test error mean {np.mean(te):.2f}% (min "
              f"{np.min(te):.2f}, max {np.max(te):.2f}), {n_lanes * images / train_seconds:.0f} "
            f"img/s summed, {train_seconds:.1f}s + {eval_seconds:.1f}s eval")
      if n_lanes == 1:
        results["passes"] = results["lanes"][0]["passes"]
        results["final_test_error"] = results["lanes"][0].get("final_test_error")
      results["total_seconds"] = elapsed()
      # Of this process so far (Linux reports KiB): the whole run's by the last pass.
      results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
      if not alive.any():
        results["status"] = "diverged"
        write_results()
        manager.close()
        raise DivergenceError(f"parameters became non-finite in pass {epoch + 1}; the last good "
                              f"checkpoint is kept in {workdir}/checkpoints; lower the learning "
                              "rate (or raise sdlm_mu) and rerun with --overwrite")
      results["status"] = "running" if epoch + 1 < config.epochs else "done"
      run.update(epoch=epoch + 1, step=0, alive=alive.tolist(), records=None)
      checkpoint((epoch + 1) * steps_per_pass)
      write_results()
      received = _signal_anywhere(signals)
      if received and epoch + 1 < config.epochs:
        manager.close()
        raise Interrupted(f"{received} received: stopped after pass {epoch + 1}, "
                          "checkpoint written; rerun the same command to resume")
  manager.close()
  return results
