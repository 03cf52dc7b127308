"""The networks of the paper as one Flax linen module composed from the pure ops: the stages of
lenet_jax.networks (LeNet-5 by default), then the output head (RBF distances or the last
stage's outputs).
"""
from __future__ import annotations

from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from lenet_jax import networks, ops, paper, tables
from lenet_jax.config import CHOICES
from lenet_jax.layers import run_stages
from lenet_jax.losses import LARGER_WINS

INITS = CHOICES["init"]


def output_prototypes(output: str, seed: int = 0) -> Optional[np.ndarray]:
  """The fixed RBF codes (constants, not parameters), or None for the other outputs."""
  if output == "rbf_bitmap":
    return tables.bitmap_prototypes()
  if output == "rbf_random":
    return tables.random_prototypes(seed)
  return None


def head(output: str, prototypes) -> Callable[[jax.Array], jax.Array]:
  """Maps the last stage's output to class scores: RBF distances (smaller wins), or the last
  stage's own outputs (logits, squashed units: larger wins)."""
  if output in LARGER_WINS:
    return lambda x: x
  protos = jnp.asarray(prototypes)
  return lambda x: ops.batched(ops.rbf_scores)(x, protos)


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


class Network(nn.Module):
  """One network of the paper (lenet_jax.networks) on (batch, side, side, 1) inputs. Returns
  (batch, 10) class scores: RBF distances for the rbf outputs (smallest is the answer), the
  output units for `squash` and `linear` (largest). Defaults are LeNet-5 as published."""
  network: str = "lenet5"
  hidden: tuple = ()           # the MLP's hidden layer widths
  side: int = 32               # the input's side
  c3: str = "partial"
  pooling: str = "trainable"
  activation: str = "scaled_tanh"
  output: str = "rbf_bitmap"
  weight_init: str = "fan_in"  # `init` would shadow Module.init
  prototype_seed: int = 0
  init_scale: float = 1.0      # v of weight_init "lush"
  subsample_curvature: str = "per_connection"

  def stages(self):
    return networks.build_stages(
        self.network, c3=self.c3, pooling=self.pooling, activation=self.activation,
        output=self.output, subsample_curvature=self.subsample_curvature,
        hidden=tuple(self.hidden), side=self.side)

  def prototypes(self):
    return output_prototypes(self.output, self.prototype_seed)

  @property
  def input_shape(self) -> tuple[int, int, int]:
    return (self.side, self.side, 1)

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


LeNet5 = Network   # the default network


def describe(model: Network) -> list[dict]:
  """Per-layer table: maps, map size, units, trainable parameters and connections, counted as
  the paper counts them (a connection per weight use, biases included; the RBF output's 840
  distance terms as connections without parameters). The total's units count the input pixels
  and the bias unit too, as LeNet-1's published 4,635 does."""
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0),
                          jnp.zeros((1, *model.input_shape)))["params"]
  rows = []
  for s in model.stages():
    n_params = sum(int(np.prod(v.shape)) for v in jax.tree_util.tree_leaves(shapes.get(s.name, {})))
    positions = max(s.size, 1) ** 2
    rows.append(dict(layer=s.name, maps=s.maps, size=s.size, units=s.maps * positions,
                     params=n_params, connections=positions * s.links_per_position))
  if model.output not in LARGER_WINS:
    rows.append(dict(layer="OUTPUT", maps=10, size=0, units=10, params=0,
                     connections=10 * tables.CODE_SIZE))
  rows.append(dict(layer="total", maps=None, size=None,
                   units=1 + model.side ** 2 + sum(r["units"] for r in rows),
                   params=sum(r["params"] for r in rows),
                   connections=sum(r["connections"] for r in rows)))
  return rows
