"""The layers every network of the paper is built from, as `Stage`s: a linear map (convolution,
locally connected, subsampling, dense) followed by an optional activation.

A network is a list of stages (lenet_jax.networks). The Flax module creates each stage's
parameters and runs the stages; the SDLM optimiser walks the same list backwards to propagate
second derivatives, so a network is written once and both passes agree on it by construction.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lenet_jax import devices, ops
from lenet_jax.config import CHOICES

ACTIVATIONS = {"scaled_tanh": ops.squash, "logistic": ops.logistic, "relu": ops.relu}
POOLINGS, SUBSAMPLE_CURVATURES = CHOICES["pooling"], CHOICES["sdlm_subsample_curvature"]


class Stage(NamedTuple):
  """One layer: a = apply(p, x), then x = act(a) (act None: no activation).

  `params` maps each parameter name to (shape, fan_in), fan_in an int or an array broadcastable
  to shape (C3's compact kernel has one fan-in per receiving map). `curvature(p, x, c)`, if set,
  returns (curvature of p, curvature of x) given the curvature c of a; None means `apply` is
  bilinear in (weights, x) plus a bias, for which the generic rule in sdlm.py holds.
  """
  name: str
  apply: Callable[[dict, jax.Array], jax.Array]
  act: Optional[Callable[[jax.Array], jax.Array]]
  params: dict[str, tuple[tuple[int, ...], Any]]
  maps: int
  size: int                     # output maps are size x size (0 for a vector layer)
  links_per_position: int       # incoming connections, biases included, summed over the maps
  curvature: Optional[Callable] = None


def _conv(x, w, b):
  # im2col is a CPU heuristic for small batches; accelerators run XLA's convolution.
  small = x.shape[0] < devices.IM2COL_MAX_BATCH and jax.default_backend() == "cpu"
  if not small and x.shape[1:3] == w.shape[:2]:
    # One window (C5 on S4): a dense layer over the flattened input, the same sums; XLA's CPU
    # convolution and its two gradients cost more than the matmuls.
    return (x.reshape(x.shape[0], -1) @ w.reshape(-1, w.shape[-1]))[:, None, None] + b
  return ops.batched(ops.conv2d, impl="im2col" if small else "xla")(x, w, b)


def _compact(table, k, cin, cout):
  """For a connection table (cin, cout): the fan-in of each receiving map and `place`, which
  puts the connected kernels (n, connections) into dense ones (n, cin * cout), the
  disconnected weights structural zeros, so that one dense op computes the layer."""
  rows, cols = np.nonzero(table)
  fan_in = k * k * table.sum(axis=0)              # per receiving map
  return fan_in, cols, _placement(rows * cout + cols, cin * cout)


def conv_stage(name, k, cin, cout, size, act, table=None):
  """A k x k convolution, cin -> cout maps of size x size, each output map reading the input
  maps `table` (cin, cout) connects (None: all)."""
  if table is None or table.all():
    params = {"w": ((k, k, cin, cout), k * k * cin), "b": ((cout,), k * k * cin)}
    return Stage(name, lambda p, x: _conv(x, p["w"], p["b"]), act, params, cout, size,
                 cout * (k * k * cin + 1))
  fan_in, cols, place = _compact(table, k, cin, cout)

  def apply(p, x):
    w = place(p["w"].reshape(k * k, len(cols))).reshape(k, k, cin, cout)
    return _conv(x, w, p["b"])
  params = {"w": ((k, k, len(cols)), fan_in[cols]), "b": ((cout,), fan_in)}
  return Stage(name, apply, act, params, cout, size, int(fan_in.sum()) + cout)


def local_stage(name, k, cin, cout, size, act, table=None):
  """The convolution's receptive fields with separate weights and biases at every output
  position (locally connected, unshared): conv_stage's connections, size^2 times the weights."""
  table = np.ones((cin, cout), bool) if table is None else table
  fan_in, cols, place = _compact(table, k, cin, cout)
  local = ops.batched(ops.local2d)

  def apply(p, x):
    w = place(p["w"].reshape(size * size * k * k, len(cols)))
    return local(x, w.reshape(size, size, k, k, cin, cout), p["b"])
  params = {"w": ((size, size, k, k, len(cols)), fan_in[cols]),
            "b": ((size, size, cout), fan_in)}
  return Stage(name, apply, act, params, cout, size, int(fan_in.sum()) + cout)


def _placement(targets: np.ndarray, width: int):
  """compact (n, len(targets)) -> dense (n, width) with dense[:, targets] = compact, zeros
  elsewhere. Both directions are gathers: JAX would transpose a gather into a scatter-add, and
  on CPU a 0/1 placement matmul costs as much as the layer itself."""
  src = np.full(width, len(targets))            # the appended zero column
  src[targets] = np.arange(len(targets))

  @jax.custom_vjp
  def place(compact):
    return jnp.pad(compact, ((0, 0), (0, 1)))[:, src]

  def fwd(compact):
    return place(compact), None

  def bwd(_, g):
    return (g[:, targets],)

  place.defvjp(fwd, bwd)
  return place


def _window_sum_curvature(source):
  """SDLM curvature of trainable subsampling as the authors' code computes it (Lush
  `s-layer bbprop`, gblearn2/gb-modules-nn.lsh; EBLearn `subsampling_module::bbprop1`):
  the coefficient's from the squared window sum, d2E/da^2 (sum_j x_j)^2, not sum_j x_j^2.
  `source`: the input map each output map subsamples (None: map i reads map i)."""
  def rule(p, x, c):
    pick = (lambda v: v) if source is None else (lambda v: v[..., source])
    xs, back = jax.vjp(pick, x)
    windows = ops.batched(ops.subsample)(xs, jnp.ones_like(p["coef"]),
                                         jnp.zeros_like(p["bias"]))
    hp = {"coef": jnp.sum(c * jnp.square(windows), axis=(0, 1, 2)),
          "bias": jnp.sum(c, axis=(0, 1, 2))}
    # Each input unit's curvature sums over the maps that read it (the transposed selection).
    hx = back(jnp.repeat(jnp.repeat(c * jnp.square(p["coef"]), 2, 1), 2, 2))[0]
    return hp, hx
  return rule


def pool_stage(name, maps, size, pooling, act, curvature="per_connection",
               source: Optional[Sequence[int]] = None):
  """2x2 subsampling to `maps` maps of size x size: the paper's trainable kind (a coefficient
  and a bias per map), or fixed average or max pooling. `source`: the input map each output map
  reads (LeNet-4's 8 maps from 4, in pairs); None: map i reads map i."""
  src = None if source is None else np.asarray(source)
  pick = (lambda x: x) if src is None else (lambda x: x[..., src])
  links = maps * 5 if pooling == "trainable" else maps * 4
  if pooling == "trainable":
    if curvature not in SUBSAMPLE_CURVATURES:
      raise ValueError(f"unknown subsample curvature {curvature!r}; use one of "
                       f"{SUBSAMPLE_CURVATURES}")
    sub = ops.batched(ops.subsample)
    params = {"coef": ((maps,), 4), "bias": ((maps,), 4)}
    # per_connection: the paper's rule taken literally, sdlm.py's generic bilinear rule.
    rule = _window_sum_curvature(src) if curvature == "window_sum" else None
    return Stage(name, lambda p, x: sub(pick(x), p["coef"], p["bias"]), act, params, maps, size,
                 links, rule)
  if pooling == "avg":
    pool = ops.batched(ops.avg_pool)

    def curv(p, x, c):
      # Fixed coefficients 1/4: the squared coefficient, 1/16, spread back over each window.
      _, back = jax.vjp(pick, x)
      return {}, back(jnp.repeat(jnp.repeat(c, 2, 1), 2, 2) / 16.0)[0]
    return Stage(name, lambda p, x: pool(pick(x)), None, {}, maps, size, links, curv)
  if pooling == "max":
    pool = ops.batched(ops.max_pool)
    # Max pooling selects one input per window: its Jacobian is 0/1, so squaring changes nothing.
    curv = lambda p, x, c: ({}, jax.vjp(lambda v: pool(pick(v)), x)[1](c)[0])
    return Stage(name, lambda p, x: pool(pick(x)), None, {}, maps, size, links, curv)
  raise ValueError(f"unknown pooling {pooling!r}; use one of {POOLINGS}")


def dense_stage(name, fin, fout, act, flatten=False):
  """A fully connected layer fin -> fout (flatten: from maps or an image)."""
  def apply(p, x):
    if flatten:
      x = x.reshape(x.shape[0], -1)
    return x @ p["w"] + p["b"]
  params = {"w": ((fin, fout), fin), "b": ((fout,), fin)}
  return Stage(name, apply, act, params, fout, 0, fout * (fin + 1))


def run_stages(stages, params, x):
  for s in stages:
    x = s.apply(params.get(s.name, {}), x)
    if s.act is not None:
      x = s.act(x)
  return x
