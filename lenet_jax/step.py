"""One model's pure functions: the train step, evaluation and the SDLM Hessian refresh.

State is a plain dict pytree, {"params", "opt_state", "step", "key", "map_j"}. Every function
takes the `Recipe` (what the config fixes: model, loss, optimiser) first; lenet_jax.lanes wraps
them, partially applied, to train several models in one compiled program.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from lenet_jax import data, distort, losses, networks, sdlm
from lenet_jax.model import Network, head


def make_model(config) -> Network:
  side = networks.input_side(config.network, data.IMAGE_SIDE[config.input_version])
  return Network(network=config.network, hidden=tuple(config.hidden), side=side, c3=config.c3,
                 pooling=config.pooling, activation=config.activation, output=config.output,
                 weight_init=config.init, prototype_seed=config.prototype_seed,
                 init_scale=config.init_scale,
                 subsample_curvature=config.sdlm_subsample_curvature)


def make_loss(config):
  """loss(scores, labels, j) for the configured output and loss (j: Eq. 9's constant, per model
  so that models trained together can differ in it; ignored by the other losses)."""
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
  tx = optax.inject_hyperparams(getattr(optax, config.optimizer))(
      learning_rate=config.learning_rate)
  return tx, (lambda step: config.learning_rate)


def eval_batch_size(config) -> int:
  """config.eval_batch_size, or if 0: 10 on CPU, where batches that small take the im2col
  convolution and measured ~2x faster for many lanes (benchmarks/RESULTS.md); accelerators want
  large batches."""
  if config.eval_batch_size > 0:
    return config.eval_batch_size
  return 10 if jax.default_backend() == "cpu" else 1000


@dataclasses.dataclass(frozen=True)
class Recipe:
  """What a config fixes for every model trained with it."""
  config: Any
  model: Network
  loss: Callable
  tx: optax.GradientTransformation
  schedule: Callable
  eval_batch: int

  @property
  def stages(self):
    return self.model.stages()


def make_recipe(config, steps_per_pass: int) -> Recipe:
  tx, schedule = make_optimizer(config, steps_per_pass)
  return Recipe(config, make_model(config), make_loss(config), tx, schedule,
                eval_batch_size(config))


def init(r: Recipe, lane):
  """The state of one model. `lane` maps lane fields (config.LANE_FIELDS) to this model's
  values; a field it lacks takes the config's (a bare number is a seed)."""
  values = dict(lane) if isinstance(lane, dict) else {"seed": lane}
  get = lambda field: values[field] if field in values else r.config[field]
  key = jax.random.PRNGKey(get("seed"))
  params = r.model.init(jax.random.fold_in(key, 0), jnp.zeros((1, *r.model.input_shape)))["params"]
  opt_state = r.tx.init(params)
  # The values a lane may change are injected hyperparameters: arrays in the optimiser state.
  if r.config.optimizer == "sdlm":
    opt_state = optax.tree_utils.tree_set(opt_state, mu=jnp.float32(get("sdlm_mu")))
  else:
    opt_state = optax.tree_utils.tree_set(opt_state,
                                          learning_rate=jnp.float32(get("learning_rate")))
  return {"params": params, "opt_state": opt_state, "step": jnp.zeros([], jnp.int32),
          "key": jax.random.fold_in(key, 1), "map_j": jnp.float32(get("map_j"))}


def train_step(r: Recipe, state, batch):
  """One optimiser step on batch = (images, labels). Returns (state, metrics); the metrics are
  measured on the batch before the update (the paper's on-the-fly training error)."""
  x, y = batch
  c = r.config
  if c.distort:
    key = jax.random.fold_in(jax.random.fold_in(state["key"], 2), state["step"])
    x = distort.distort_batch(key, x, max_shift=c.distort_shift, max_scale=c.distort_scale,
                              max_squeeze=c.distort_squeeze, max_shear=c.distort_shear)

  def loss_fn(params):
    scores = r.model.apply({"params": params}, x)
    return r.loss(scores, y, state["map_j"]), scores

  (loss, scores), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
  updates, opt_state = r.tx.update(grads, state["opt_state"], state["params"])
  params = optax.apply_updates(state["params"], updates)
  errors = jnp.sum(losses.predict(scores, c.output) != y)
  new = dict(state, params=params, opt_state=opt_state, step=state["step"] + 1)
  return new, {"loss": loss, "errors": errors}


@jax.custom_batching.custom_vmap
def take_rows(table, rows):
  """table[rows]."""
  return table[rows]


@take_rows.def_vmap
def _take_rows_lanes(lanes, batched, table, rows):
  # Each lane fetching its own rows of a shared table: vmap would make one gather with per-lane
  # indices, which XLA's CPU backend runs element by element; a slice per lane is a plain copy.
  if tuple(batched) != (False, True):
    return jax.vmap(lambda t, r: t[r], in_axes=tuple(0 if b else None for b in batched))(
        table, rows), True
  return jnp.stack([take_rows(table, rows[k]) for k in range(lanes)]), True


def train_steps(r: Recipe, state, images, labels, idx, n):
  """The first n rows of idx (steps, batch), which index the on-device training set, as n
  optimiser steps in one call. n is dynamic so that calls of any length up to idx's share one
  compiled loop."""
  def body(i, carry):
    s, loss, errors = carry
    rows = idx[i]
    s, m = train_step(r, s, (take_rows(images, rows), take_rows(labels, rows)))
    return s, loss + m["loss"], errors + m["errors"]
  zero = jnp.zeros([], jnp.float32)
  state, loss, errors = jax.lax.fori_loop(0, n, body, (state, zero, jnp.zeros([], jnp.int32)))
  return state, {"loss": loss, "errors": errors}


def train_step_at(r: Recipe, state, images, labels, order, i):
  """One step on the rows order[i] of the on-device training set: for large batches on CPU
  faster than the same step inside a one-iteration loop."""
  rows = jax.lax.dynamic_index_in_dim(order, i, keepdims=False)
  return train_step(r, state, (images[rows], labels[rows]))


def evaluate_batch(r: Recipe, params, x, y, j):
  """(errors, summed loss) of one model on a batch."""
  scores = r.model.apply({"params": params}, x)
  per_example_loss = jax.vmap(lambda s, t: r.loss(s[None], t[None], j))(scores, y)
  return jnp.sum(losses.predict(scores, r.config.output) != y), jnp.sum(per_example_loss)


def evaluate_split(r: Recipe, params, x, y, j):
  """Per-batch (errors, summed loss) over x in batches of eval_batch (x's length a multiple of
  it), as one scan: no Python dispatch per batch."""
  bs = r.eval_batch
  batches = (x.reshape(-1, bs, *x.shape[1:]), y.reshape(-1, bs))
  return jax.lax.scan(lambda c, b: (c, evaluate_batch(r, params, b[0], b[1], j)), None,
                      batches)[1]


def hessian(r: Recipe, params, x, y, j):
  """SDLM's Gauss-Newton diagonal averaged over the patterns (x, y)."""
  out = head(r.config.output, r.model.prototypes())
  head_loss = lambda z, t: r.loss(out(z), t, j)
  return sdlm.gauss_newton_diag(r.stages, head_loss, params, x, y,
                                r.config.sdlm_output_curvature)


def refresh(r: Recipe, state, images, labels, epoch, step):
  """Re-estimates h on `sdlm_samples` random training patterns (before a pass, and at `step`
  within it) and puts it into the optimiser state."""
  key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(state["key"], epoch), 1), step)
  samples = min(r.config.sdlm_samples, images.shape[0])
  idx = jax.random.choice(key, images.shape[0], (samples,), replace=False)
  h = hessian(r, state["params"], images[idx], labels[idx], state["map_j"])
  return dict(state, opt_state=sdlm.set_hessian(state["opt_state"], h))


def order(r: Recipe, state, epoch, n_train, steps, batch):
  """This pass's shuffled (steps, batch) rows of the n_train training images for one model."""
  del r
  key = jax.random.fold_in(jax.random.fold_in(state["key"], epoch), 0)
  return jax.random.permutation(key, n_train)[:steps * batch].reshape(steps, batch)


def largest_weight(params) -> dict:
  """Per layer, per lane of stacked params: the largest |parameter| (NaN if any is NaN)."""
  return {name: jnp.stack([jnp.max(jnp.abs(v.reshape(v.shape[0], -1)), axis=1)
                           for v in jax.tree_util.tree_leaves(sub)]).max(axis=0)
          for name, sub in params.items()}
