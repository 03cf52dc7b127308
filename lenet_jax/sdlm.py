"""Stochastic diagonal Levenberg-Marquardt (the paper's Appendix C) as an optax transform.

Each parameter k steps by eta / (mu + h_kk) times its gradient. h_kk, a Gauss-Newton estimate
of the Hessian's diagonal, is computed by `gauss_newton_diag` on a few hundred patterns before
each pass and put into the optimiser state with `set_hessian`; it is held fixed within the pass.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lenet_jax import paper

OUTPUT_CURVATURES = ("exact", "constant")
# d2/dz_j^2 of the correct class's RBF distance y_D = sum_j (z_j - w_Dj)^2: what the authors'
# code back-propagates instead of the exact diagonal (EBLearn's edist_cost::bbprop fills 1 for
# its halved distance; Lush `edist-cost bbprop`: "don't bother bbproping through the logadder").
RBF_CURVATURE = 2.0


def paper_schedule(steps_per_pass: int, etas=paper.ETAS,
                   passes=paper.ETA_PASSES) -> optax.Schedule:
  """The paper's per-pass eta as an optax schedule over optimiser steps."""
  boundaries, end = [], 0
  for n in passes:
    end += n
    boundaries.append(end * steps_per_pass)
  return optax.join_schedules([optax.constant_schedule(e) for e in etas], boundaries)


class SDLMState(NamedTuple):
  count: jax.Array
  hessian_diag: Any   # same structure as the parameters


def sdlm(learning_rate: float | optax.Schedule, mu: float = paper.MU) -> optax.GradientTransformation:
  """Updates -eta/(mu + h) * g, with h the state's `hessian_diag` (zeros until set_hessian)."""

  def init(params):
    return SDLMState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

  def update(grads, state, params=None):
    del params
    eta = learning_rate(state.count) if callable(learning_rate) else learning_rate
    updates = jax.tree.map(lambda g, h: -eta * g / (mu + h), grads, state.hessian_diag)
    return updates, SDLMState(optax.safe_increment(state.count), state.hessian_diag)

  return optax.GradientTransformation(init, update)


def set_hessian(opt_state, hessian_diag):
  """Puts a new Hessian estimate into every SDLMState inside a (possibly chained) optax state."""
  return optax.tree_utils.tree_set(opt_state, hessian_diag=hessian_diag)


def get_hessian(opt_state):
  return optax.tree_utils.tree_get(opt_state, "hessian_diag")


def _derivative(f, a):
  """f'(a) for an elementwise f."""
  return jax.jvp(f, (a,), (jnp.ones_like(a),))[1]


def _bilinear_curvature(apply, p, x, c):
  """The paper's rule for a layer a = sum_j u_ij x_j (+ b_i), weights shared across connections:
  d2E/du^2 = sum over the connections of u: d2E/da_i^2 x_j^2, and
  d2E/dx_j^2 = sum_i u_ij^2 d2E/da_i^2. Both are the transpose of the same layer evaluated with
  squared weights on squared inputs, applied to c = d2E/da^2: one VJP gives them."""
  _, vjp = jax.vjp(apply, jax.tree.map(jnp.square, p), jnp.square(x))
  return vjp(c)


def output_curvature(head_loss: Callable, z, labels):
  """Exact diagonal of d2E/dz^2 per pattern for the part of the network with no trainable
  parameters after the last stage (the RBF output and the loss), clipped at 0 so h >= 0."""
  def one(zi, yi):
    hess = jax.hessian(lambda v: head_loss(v[None], yi[None]))(zi)
    return jnp.diagonal(hess)
  return jnp.maximum(jax.vmap(one)(z, labels), 0.0)


def gauss_newton_diag(stages: Sequence, head_loss: Callable, params, x, labels,
                      output: str = "exact"):
  """Average over the patterns in (x, labels) of the Gauss-Newton diagonal Hessian estimate.

  stages: the model's layers (lenet_jax.model.Stage: apply, act, curvature);
  head_loss(z, labels): the loss as a function of the last stage's output z;
  output: the curvature the recursion starts from, "exact" (output_curvature) or "constant"
  (RBF_CURVATURE for every output, the authors' code; RBF outputs only).
  Recursion (Appendix C): d2E/da^2 = f'(a)^2 d2E/dx^2 (the f'' term is dropped, so h >= 0),
  then through each linear layer as in `_bilinear_curvature`.
  """
  if output not in OUTPUT_CURVATURES:
    raise ValueError(f"unknown output curvature {output!r}; use one of {OUTPUT_CURVATURES}")
  inputs, pre = [], []
  h = x
  for s in stages:
    inputs.append(h)
    a = s.apply(params.get(s.name, {}), h)
    pre.append(a)
    h = a if s.act is None else s.act(a)
  c = (output_curvature(head_loss, h, labels) if output == "exact"
       else jnp.full_like(h, RBF_CURVATURE))
  hess = {}
  for s, xin, a in zip(reversed(stages), reversed(inputs), reversed(pre)):
    if s.act is not None:
      c = c * jnp.square(_derivative(s.act, a))
    p = params.get(s.name, {})
    rule = s.curvature or (lambda p, xi, ci, apply=s.apply: _bilinear_curvature(apply, p, xi, ci))
    cp, c = rule(p, xin, c)
    if s.params:
      hess[s.name] = cp
  n = x.shape[0]
  # The VJP summed the per-pattern curvatures over the batch; the paper averages them.
  hess = jax.tree.map(lambda v: v / n, hess)
  # Keep the parameters' own container type (FrozenDict or dict) and key order.
  return jax.tree.map(lambda _, v: v, params, {k: hess[k] for k in params})


def curvature_summary(hessian_diag, eta: float, mu: float,
                      rates=paper.FIRST_PASS_RATES) -> dict:
  """What an h estimate means for training (host-side, NumPy): per layer the min, median and
  max of h, the range of the effective rates eta/(mu + h), and the share of all parameters
  whose rate lies inside `rates` (the paper's first-pass range, bounds included)."""
  layers = {name: np.concatenate([np.ravel(np.asarray(v, np.float64))
                                  for v in jax.tree_util.tree_leaves(sub)])
            for name, sub in hessian_diag.items()}
  h = np.concatenate(list(layers.values()))
  rate = eta / (mu + h)
  return {"h": {name: {"min": float(v.min()), "median": float(np.median(v)),
                       "max": float(v.max())} for name, v in layers.items()},
          "rate_min": float(rate.min()), "rate_max": float(rate.max()),
          "share_in_paper_range": float(np.mean((rate >= rates[0]) & (rate <= rates[1])))}
