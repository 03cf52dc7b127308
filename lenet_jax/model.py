"""LeNet-5 (LeCun et al. 1998) as a Flax linen module composed from the pure ops.

The network is a list of `Stage`s: a linear map (convolution, subsampling, dense) followed by an
optional activation. The Flax module creates each stage's parameters and runs the stages; the
SDLM optimiser walks the same list backwards to propagate second derivatives, so the model is
written once and both passes agree on it by construction.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from lenet_jax import devices, ops, paper, tables
from lenet_jax.config import CHOICES

ACTIVATIONS = {"scaled_tanh": ops.squash, "logistic": ops.logistic, "relu": ops.relu}
C3_OPTIONS, POOLINGS, OUTPUTS, INITS, SUBSAMPLE_CURVATURES = (
    CHOICES[f] for f in ("c3", "pooling", "output", "init", "sdlm_subsample_curvature"))


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
    # convolution and its two gradients cost more than the matmuls (batch 128 ~1.2x per step).
    return (x.reshape(x.shape[0], -1) @ w.reshape(-1, w.shape[-1]))[:, None, None] + b
  return ops.batched(ops.conv2d, impl="im2col" if small else "xla")(x, w, b)


def _conv_stage(name, k, cin, cout, size, act, table=None):
  conv = _conv
  if table is None or table.all():
    params = {"w": ((k, k, cin, cout), k * k * cin), "b": ((cout,), k * k * cin)}
    return Stage(name, lambda p, x: conv(x, p["w"], p["b"]), act, params, cout, size,
                 cout * (k * k * cin + 1))
  # Only the connected kernels exist as parameters; `place` puts them in a dense kernel (the
  # disconnected weights structural zeros) so one convolution computes the layer.
  rows, cols = np.nonzero(table)
  fan_in = k * k * table.sum(axis=0)              # per receiving map
  place = _placement(rows * cout + cols, cin * cout)

  def apply(p, x):
    w = place(p["w"].reshape(k * k, len(rows))).reshape(k, k, cin, cout)
    return conv(x, w, p["b"])
  params = {"w": ((k, k, len(rows)), fan_in[cols]), "b": ((cout,), fan_in)}
  return Stage(name, apply, act, params, cout, size, int(fan_in.sum()) + cout)


def _placement(targets: np.ndarray, width: int):
  """compact (n, len(targets)) -> dense (n, width) with dense[:, targets] = compact, zeros
  elsewhere. Both directions are gathers: JAX would transpose a gather into a scatter-add, and
  on CPU a 0/1 placement matmul costs as much as C3 itself (25 x 60 x 96 multiply-adds)."""
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


def _window_sum_curvature(p, x, c):
  """SDLM curvature of trainable subsampling as the authors' code computes it (Lush
  `s-layer bbprop`, gblearn2/gb-modules-nn.lsh; EBLearn `subsampling_module::bbprop1`):
  the coefficient's from the squared window sum, d2E/da^2 (sum_j x_j)^2, not sum_j x_j^2."""
  windows = ops.batched(ops.subsample)(x, jnp.ones_like(p["coef"]), jnp.zeros_like(p["bias"]))
  hp = {"coef": jnp.sum(c * jnp.square(windows), axis=(0, 1, 2)),
        "bias": jnp.sum(c, axis=(0, 1, 2))}
  hx = jnp.repeat(jnp.repeat(c * jnp.square(p["coef"]), 2, 1), 2, 2)
  return hp, hx


def _pool_stage(name, maps, size, pooling, act, curvature="per_connection"):
  if pooling == "trainable":
    if curvature not in SUBSAMPLE_CURVATURES:
      raise ValueError(f"unknown subsample curvature {curvature!r}; use one of "
                       f"{SUBSAMPLE_CURVATURES}")
    sub = ops.batched(ops.subsample)
    params = {"coef": ((maps,), 4), "bias": ((maps,), 4)}
    # per_connection: the paper's rule taken literally, sdlm.py's generic bilinear rule.
    rule = _window_sum_curvature if curvature == "window_sum" else None
    return Stage(name, lambda p, x: sub(x, p["coef"], p["bias"]), act, params, maps, size,
                 maps * 5, rule)
  if pooling == "avg":
    pool = ops.batched(ops.avg_pool)
    # Average pooling has fixed coefficients 1/4: the curvature rule spreads the squared
    # coefficient, 1/16, back over each window.
    curv = lambda p, x, c: ({}, jnp.repeat(jnp.repeat(c, 2, 1), 2, 2) / 16.0)
    return Stage(name, lambda p, x: pool(x), None, {}, maps, size, maps * 4, curv)
  if pooling == "max":
    pool = ops.batched(ops.max_pool)
    # Max pooling selects one input per window: its Jacobian is 0/1, so squaring changes nothing.
    curv = lambda p, x, c: ({}, jax.vjp(pool, x)[1](c)[0])
    return Stage(name, lambda p, x: pool(x), None, {}, maps, size, maps * 4, curv)
  raise ValueError(f"unknown pooling {pooling!r}; use one of {POOLINGS}")


def _dense_stage(name, fin, fout, act, flatten=False):
  def apply(p, x):
    if flatten:
      x = x.reshape(x.shape[0], -1)
    return x @ p["w"] + p["b"]
  params = {"w": ((fin, fout), fin), "b": ((fout,), fin)}
  return Stage(name, apply, act, params, fout, 0, fout * (fin + 1))


def build_stages(c3="partial", pooling="trainable", activation="scaled_tanh", output="rbf_bitmap",
                 subsample_curvature="per_connection"):
  """The layers of LeNet-5 on a 32x32x1 input, with the chosen variant of each design choice
  (subsample_curvature: SDLM's rule for the trainable subsampling coefficients)."""
  if c3 not in C3_OPTIONS:
    raise ValueError(f"unknown c3 {c3!r}; use one of {C3_OPTIONS}")
  if activation not in ACTIVATIONS:
    raise ValueError(f"unknown activation {activation!r}; use one of {tuple(ACTIVATIONS)}")
  if output not in OUTPUTS:
    raise ValueError(f"unknown output {output!r}; use one of {OUTPUTS}")
  f = ACTIVATIONS[activation]
  stages = [
      _conv_stage("C1", 5, 1, 6, 28, f),
      _pool_stage("S2", 6, 14, pooling, f, subsample_curvature),
      _conv_stage("C3", 5, 6, 16, 10, f, tables.c3_table(c3)),
      _pool_stage("S4", 16, 5, pooling, f, subsample_curvature),
      _conv_stage("C5", 5, 16, 120, 1, f),
      _dense_stage("F6", 120, 84, f, flatten=True),
  ]
  if output == "linear":
    stages.append(_dense_stage("OUTPUT", 84, 10, None))
  return stages


def output_prototypes(output: str, seed: int = 0) -> Optional[np.ndarray]:
  """The fixed RBF codes (constants, not parameters), or None for the linear output."""
  return {"rbf_bitmap": lambda: tables.bitmap_prototypes(),
          "rbf_random": lambda: tables.random_prototypes(seed),
          "linear": lambda: None}[output]()


def head(output: str, prototypes) -> Callable[[jax.Array], jax.Array]:
  """Maps the last stage's output to class scores: RBF distances (smaller wins) or logits."""
  if output == "linear":
    return lambda x: x
  protos = jnp.asarray(prototypes)
  return lambda x: ops.batched(ops.rbf_scores)(x, protos)


def run_stages(stages, params, x):
  for s in stages:
    x = s.apply(params.get(s.name, {}), x)
    if s.act is not None:
      x = s.act(x)
  return x


def _initializer(init: str, name: str, fan_in, scale: float = 1.0):
  """scale: the v of init "lush" (the other inits ignore it)."""
  def fn(key, shape, dtype=jnp.float32):
    fan = jnp.broadcast_to(jnp.asarray(fan_in, dtype), shape)
    if init == "fan_in":
      # The paper: uniform in [-2.4/F, 2.4/F], F the fan-in of the receiving unit.
      return jax.random.uniform(key, shape, dtype, -1.0, 1.0) * (paper.INIT_FAN_IN / fan)
    if name in ("b", "bias"):
      return jnp.zeros(shape, dtype)
    if init == "lush":
      # The authors' LeNet-5 code (Lush gblearn2/demos/lenet5.lsh, `forget 1 2`; EBLearn's the
      # same): weights uniform in +-v/sqrt(F), subsampling coefficients v/2, biases 0.
      if name == "coef":
        return jnp.full(shape, scale / 2.0, dtype)
      # The bound on the host: XLA may take 1/sqrt approximately, and differently in different
      # programs (one lane alone, or several sharded), which would break their bit-identity.
      bound = (scale / np.sqrt(np.asarray(fan_in, np.float64))).astype(np.float32)
      return jax.random.uniform(key, shape, dtype, -1.0, 1.0) * np.broadcast_to(bound, shape)
    # Flax's default kernel init (lecun_normal): truncated normal with variance 1/F.
    std = 1.0 / jnp.sqrt(fan) / 0.87962566103423978  # stddev of a unit normal truncated at +-2
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) * std
  if init not in INITS:
    raise ValueError(f"unknown init {init!r}; use one of {INITS}")
  return fn


class LeNet5(nn.Module):
  """LeNet-5 on (batch, 32, 32, 1) inputs. Returns (batch, 10) class scores: RBF distances for
  the rbf outputs (smallest is the answer), logits for `linear`. Defaults are the paper's."""
  c3: str = "partial"
  pooling: str = "trainable"
  activation: str = "scaled_tanh"
  output: str = "rbf_bitmap"
  weight_init: str = "fan_in"  # `init` would shadow Module.init
  prototype_seed: int = 0
  init_scale: float = 1.0      # v of weight_init "lush"
  subsample_curvature: str = "per_connection"

  def stages(self):
    return build_stages(self.c3, self.pooling, self.activation, self.output,
                        self.subsample_curvature)

  def prototypes(self):
    return output_prototypes(self.output, self.prototype_seed)

  @nn.compact
  def __call__(self, x):
    stages = self.stages()
    params = {}
    for s in stages:
      if s.params:
        params[s.name] = self.param(
            s.name, lambda key, spec=s.params: {
                k: _initializer(self.weight_init, k, fan, self.init_scale)(kk, shape)
                for (k, (shape, fan)), kk in zip(spec.items(), jax.random.split(key, len(spec)))})
    return head(self.output, self.prototypes())(run_stages(stages, params, x))


def describe(model: LeNet5) -> list[dict]:
  """Per-layer table: maps, map size, trainable parameters and connections, counted as the paper
  counts them (a connection per weight use, biases included)."""
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 1)))["params"]
  rows = []
  for s in model.stages():
    n_params = sum(int(np.prod(v.shape)) for v in jax.tree_util.tree_leaves(shapes.get(s.name, {})))
    positions = max(s.size, 1) ** 2
    rows.append(dict(layer=s.name, maps=s.maps, size=s.size, params=n_params,
                     connections=positions * s.links_per_position))
  if model.output != "linear":
    rows.append(dict(layer="OUTPUT", maps=10, size=0, params=0, connections=10 * 84))
  rows.append(dict(layer="total", maps=None, size=None, params=sum(r["params"] for r in rows),
                   connections=sum(r["connections"] for r in rows)))
  return rows
