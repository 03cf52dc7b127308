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


def cross_entropy(logits, labels):
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


LOSSES = {"map": map_loss, "mle": mle_loss, "cross_entropy": cross_entropy}


def loss_fn(name: str, j: float = DEFAULT_J):
  if name not in LOSSES:
    raise ValueError(f"unknown loss {name!r}; use one of {tuple(LOSSES)}")
  return (lambda s, y: map_loss(s, y, j)) if name == "map" else LOSSES[name]


def predict(scores, output: str):
  """The answer: smallest RBF distance, or largest logit for the linear output."""
  return jnp.argmax(scores, axis=1) if output == "linear" else jnp.argmin(scores, axis=1)
