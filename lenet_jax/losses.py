"""Losses on class scores: RBF distances (smaller is better) or logits (larger is better)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from lenet_jax import paper

DEFAULT_J = paper.MAP_J   # the paper leaves Eq. 9's j unspecified: lenet_jax.paper says why


def _correct(scores, labels):
  return jnp.take_along_axis(scores, labels[:, None].astype(jnp.int32), axis=1)[:, 0]


def mle_loss(distances, labels):
  """Eq. 8: the distance to the correct class, averaged over the batch."""
  return jnp.mean(_correct(distances, labels))


def map_loss(distances, labels, j=DEFAULT_J):
  """Eq. 9: y_correct + log(e^-j + sum_i e^-y_i), averaged; e^-j is the 'rubbish class'."""
  rubbish = jnp.full(distances.shape[:1] + (1,), -j, distances.dtype)
  penalty = jax.nn.logsumexp(jnp.concatenate([rubbish, -distances], axis=1), axis=1)
  return jnp.mean(_correct(distances, labels) + penalty)


def mse_loss(outputs, labels):
  """Squared error of the 10 output units to targets +1 (the correct class) and -1 (the others),
  summed over the units and averaged over the batch: how the paper's fully connected nets and
  LeNets 1 and 4 were trained; the squashing function reaches +-1 at unit input (Appendix A)."""
  targets = 2.0 * jax.nn.one_hot(labels, outputs.shape[1], dtype=outputs.dtype) - 1.0
  return jnp.mean(jnp.sum(jnp.square(outputs - targets), axis=1))


def cross_entropy(logits, labels):
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


LOSSES = {"map": map_loss, "mle": mle_loss, "mse": mse_loss, "cross_entropy": cross_entropy}
# Outputs whose largest score is the answer (the RBF outputs are distances: the smallest wins).
LARGER_WINS = ("linear", "squash")


def loss_fn(name: str, j: float = DEFAULT_J):
  if name not in LOSSES:
    raise ValueError(f"unknown loss {name!r}; use one of {tuple(LOSSES)}")
  return (lambda s, y: map_loss(s, y, j)) if name == "map" else LOSSES[name]


def predict(scores, output: str):
  """The answer: the smallest RBF distance, or the largest output unit."""
  return jnp.argmax(scores, axis=1) if output in LARGER_WINS else jnp.argmin(scores, axis=1)
