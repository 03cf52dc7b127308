"""The classical classifiers of Figure 9 (LeCun et al. 1998, Section III.C): linear, pairwise
linear, K-NN Euclidean, 40 PCA + quadratic, 1000 RBF + linear (run as rows: baseline_rows).

Every fit takes uint8 (N, H, W) images and their labels. The models see the pixels as x / 255,
in [0, 1]: the paper's -0.1..1.175 (data.preprocess) is an affine map of it, which each model's
bias (or mean subtraction) absorbs, so only the ridge's scale would change, and the ridge is
chosen on the validation split anyway. K-NN alone keeps the raw 0..255 values, which have the
same neighbours.

Least squares is accumulated and solved from its normal equations in float64 (NumPy and SciPy):
they square the condition number of the inputs, so at the small ridges tried float32 rounding
of the Gram matrix would be amplified into the weights. Distances, projections, k-means and the
Gaussian units are float32 JAX, jit-compiled, at full float32 precision on every device (an
accelerator's default TF32 matrix products would blur near distances).

Parameters: the numbers stored; multiply-adds: one per weight applied (a bias counts), pair
products and exponentials not counted: the convention that gives Figures 11 and 12's counts.
"""
from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

N_CLASSES = 10
CODINGS = ("pm1", "01")   # targets +1 / -1, or 1 / 0
QUADRATIC_KINDS = ("cross_and_linear", "all_pairs")
# The ridges the least-squares rows try on the validation split, per image (0: pseudo-inverse).
RIDGES = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
VALIDATION = 10_000       # the last training images, held out to choose what the paper leaves open
_HIGHEST = jax.lax.Precision.HIGHEST
_CHUNK_ROWS = 8192        # images per float64 Gram update: bounds the float64 copy in memory
_DISTANCE_BYTES = 1 << 28  # float32 distances held at once by k-NN and the Gaussian units


def pixels(images) -> np.ndarray:
  """uint8 (N, H, W) -> float32 (N, H * W) in [0, 1]."""
  images = np.asarray(images)
  return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


def targets(labels, coding: str = "pm1", n_classes: int = N_CLASSES) -> np.ndarray:
  """float64 (N, C): +1 for each image's class, -1 ("pm1") or 0 ("01") for the others."""
  if coding not in CODINGS:
    raise ValueError(f"coding: unknown {coding!r}; use one of {', '.join(CODINGS)}")
  low = -1.0 if coding == "pm1" else 0.0
  t = np.full((len(labels), n_classes), low)
  t[np.arange(len(labels)), np.asarray(labels)] = 1.0
  return t


# --- least squares ------------------------------------------------------------------------------


class Normal(NamedTuple):
  """The normal equations of least squares with a bias, summed over `count` images."""
  gram: np.ndarray    # float64 (D + 1, D + 1): [x, 1]^T [x, 1]
  cross: np.ndarray   # float64 (D + 1, C): [x, 1]^T t
  count: int


def normal_equations(x, t) -> Normal:
  """Normal of features x (N, D) and targets t (N, C), accumulated in float64 by chunks."""
  x, t = np.asarray(x), np.asarray(t, np.float64)
  d = x.shape[1]
  gram, cross = np.zeros((d + 1, d + 1)), np.zeros((d + 1, t.shape[1]))
  for start in range(0, len(x), _CHUNK_ROWS):
    a = np.ones((min(_CHUNK_ROWS, len(x) - start), d + 1))
    a[:, :d] = x[start:start + _CHUNK_ROWS]
    gram += a.T @ a
    cross += a.T @ t[start:start + _CHUNK_ROWS]
  return Normal(gram, cross, len(x))


def solve(ne: Normal, ridge: float) -> tuple[np.ndarray, np.ndarray]:
  """Weights (D, C) and bias (C,), float64, minimising the mean over the images of the squared
  error plus ridge * ||weights||^2; the bias is not penalised, so that adding a constant to
  every target (1/0 for +1/-1) only shifts it, and the scores keep their order. ridge = 0
  gives the pseudo-inverse's minimum-norm solution (MNIST's Gram matrix is singular)."""
  d = ne.gram.shape[0] - 1
  g, r = ne.gram / ne.count, ne.cross / ne.count
  g[np.arange(d), np.arange(d)] += ridge
  try:
    w = scipy.linalg.solve(g, r, assume_a="pos") if ridge > 0 else None
  except np.linalg.LinAlgError:   # a ridge too small to make g numerically positive definite
    w = None
  if w is None:
    w = scipy.linalg.lstsq(g, r)[0]
  return w[:d], w[d]


@jax.jit
def _affine(x, weights, bias):
  return jnp.dot(x, weights, precision=_HIGHEST) + bias


class Linear(NamedTuple):
  """Scores x @ weights + bias; the highest wins."""
  weights: np.ndarray   # (D, C)
  bias: np.ndarray      # (C,)

  def parameters(self) -> int:
    return self.weights.size + self.bias.size

  def multiply_adds(self) -> int:
    return self.parameters()


def linear_scores(model: Linear, x) -> np.ndarray:
  """float32 (N, C) scores of features x (N, D)."""
  return np.asarray(_affine(jnp.asarray(x, jnp.float32), jnp.asarray(model.weights, jnp.float32),
                            jnp.asarray(model.bias, jnp.float32)))


def linear_fit(images, labels, *, ridge: float, coding: str = "pm1") -> Linear:
  """The paper's linear classifier: one weighted sum of the pixels plus a bias per class,
  trained by least squares (the linear system solved directly) to the targets of `coding`."""
  return Linear(*solve(normal_equations(pixels(images), targets(labels, coding)), ridge))


def linear_predict(model: Linear, images) -> np.ndarray:
  """Predicted classes: the highest score (ties: the lowest class)."""
  return linear_scores(model, pixels(images)).argmax(1)


# --- pairwise linear ----------------------------------------------------------------------------

PAIRS = np.array(list(itertools.combinations(range(N_CLASSES), 2)))   # units i/j, i < j: (45, 2)
# What a unit i/j passes to the scores: its weighted sum (linear), or the sign of it (threshold:
# an Adaline, trained as a linear unit and thresholded to +-1, so that each unit casts one vote).
PAIRWISE_OUTPUTS = ("linear", "threshold")


class Pairwise(NamedTuple):
  """The 45 units i/j: weights (D, U), bias (U,), their classes pairs (U, 2) = (i, j), and the
  output each passes on (PAIRWISE_OUTPUTS)."""
  weights: np.ndarray
  bias: np.ndarray
  pairs: np.ndarray
  outputs: str = "linear"

  def parameters(self) -> int:
    return self.weights.size + self.bias.size

  def multiply_adds(self) -> int:
    return self.parameters()


def class_normal_equations(x, labels, n_classes: int = N_CLASSES) -> list[Normal]:
  """Per class c: Normal of its images with target 1, whose sums make every unit i/j's."""
  labels = np.asarray(labels)
  return [normal_equations(x[labels == c], np.ones((int(np.sum(labels == c)), 1)))
          for c in range(n_classes)]


def pairwise_from_classes(per_class: list[Normal], ridge: float, outputs: str = "linear",
                          pairs=PAIRS) -> Pairwise:
  """Each unit i/j by least squares on classes i (+1) and j (-1) only: its normal equations
  are the sums of the two classes' Gram matrices, and class i's target sums minus class j's."""
  if outputs not in PAIRWISE_OUTPUTS:
    raise ValueError(f"outputs: unknown {outputs!r}; use one of {', '.join(PAIRWISE_OUTPUTS)}")
  weights, bias = [], []
  for i, j in pairs:
    a, b = per_class[i], per_class[j]
    if not a.count or not b.count:
      raise ValueError(f"unit {i}/{j}: class {i if not a.count else j} has no training image")
    w, c = solve(Normal(a.gram + b.gram, a.cross - b.cross, a.count + b.count), ridge)
    weights.append(w[:, 0])
    bias.append(c[0])
  return Pairwise(np.stack(weights, 1), np.array(bias), np.asarray(pairs), outputs)


def pairwise_fit(images, labels, *, ridge: float, outputs: str = "linear") -> Pairwise:
  """The paper's pairwise linear classifier: 45 units i/j, each a weighted sum plus bias trained
  by least squares to +1 on class i and -1 on class j, not trained on the other classes."""
  return pairwise_from_classes(class_normal_equations(pixels(images), labels), ridge, outputs)


def pairwise_scores(outputs, pairs, n_classes: int = N_CLASSES) -> np.ndarray:
  """Score of class i: the sum of the outputs of units i/x minus the sum of those of units y/i."""
  sign = np.zeros((len(pairs), n_classes))
  sign[np.arange(len(pairs)), np.asarray(pairs)[:, 0]] = 1.0
  sign[np.arange(len(pairs)), np.asarray(pairs)[:, 1]] = -1.0
  return np.asarray(outputs, np.float64) @ sign


def pairwise_classes(sums, pairs, outputs: str, n_classes: int = N_CLASSES) -> np.ndarray:
  """Predicted classes from the units' weighted sums (N, U): the highest score; with threshold
  outputs a tie in votes goes to the tied class whose score from the sums is highest (then, as
  for linear outputs, to the lowest class)."""
  scores = pairwise_scores(sums, pairs, n_classes)
  if outputs == "threshold":
    votes = pairwise_scores(np.sign(sums), pairs, n_classes)
    scores = np.where(votes == votes.max(1, keepdims=True), scores, -np.inf)
  return scores.argmax(1)


def pairwise_predict(model: Pairwise, images) -> np.ndarray:
  sums = linear_scores(Linear(model.weights, model.bias), pixels(images))
  return pairwise_classes(sums, model.pairs, model.outputs)


# --- K-NN Euclidean ------------------------------------------------------------------------------


class KNN(NamedTuple):
  """Every training image is stored and each test image compared with all of them."""
  images: np.ndarray   # uint8 (N, H, W)
  labels: np.ndarray
  k: int

  def parameters(self) -> int:
    return self.images.size

  def multiply_adds(self) -> int:
    return self.images.size   # one (a - b)^2 accumulation per pixel per training image


@functools.partial(jax.jit, static_argnames="k")
def _nearest(train, train_sq, test, k):
  # ||a||^2 is the same for every training image b, so ||b||^2 - 2 a.b orders them alike.
  d = train_sq[None, :] - 2 * jnp.dot(test, train.T, precision=_HIGHEST)
  return jax.lax.top_k(-d, k)[1]


def knn_neighbours(train_images, test_images, k: int) -> np.ndarray:
  """int (N_test, k): the training images nearest each test image in Euclidean distance, nearest
  first (equal distances: the lower training index first). Computed on the raw 0..255 pixels
  (integer sums below 2^24 are exact in float32) by test chunks that hold at most 256 MiB of
  distances."""
  train = np.asarray(train_images).reshape(len(train_images), -1).astype(np.float32)
  test = np.asarray(test_images).reshape(len(test_images), -1).astype(np.float32)
  if not 1 <= k <= len(train):
    raise ValueError(f"k: must be in 1..{len(train)} (the training images), got {k}")
  chunk = max(1, min(len(test), _DISTANCE_BYTES // (4 * len(train))))
  train_j = jnp.asarray(train)
  train_sq = jnp.sum(train_j * train_j, axis=1)
  out = []
  for start in range(0, len(test), chunk):
    part = test[start:start + chunk]
    padded = np.zeros((chunk, test.shape[1]), np.float32)   # one shape: one compilation
    padded[:len(part)] = part
    out.append(np.asarray(_nearest(train_j, train_sq, jnp.asarray(padded), k))[:len(part)])
  return np.concatenate(out) if out else np.zeros((0, k), np.int32)


def knn_vote(neighbour_labels, n_classes: int = N_CLASSES) -> np.ndarray:
  """The class with most votes among the neighbours' labels (N, k), nearest first; a tie between
  classes goes to the one whose first neighbour is nearest (k = 3 with three different classes:
  the nearest neighbour's class)."""
  labels = np.asarray(neighbour_labels)
  n, k = labels.shape
  hit = labels[:, :, None] == np.arange(n_classes)[None, None, :]        # (N, k, C)
  votes = hit.sum(1)
  first = np.where(hit, np.arange(k)[None, :, None], k).min(1)           # rank of the first
  return ((k + 1) * votes - first).argmax(1)   # one vote outweighs any difference of ranks


def knn_predict(train_x, train_y, test_x, k: int) -> np.ndarray:
  """K-NN Euclidean: each test image gets the majority class of its k nearest training images
  (knn_neighbours), ties between classes broken by the nearest neighbour (knn_vote)."""
  return knn_vote(np.asarray(train_y)[knn_neighbours(train_x, test_x, k)])


# --- 40 PCA + quadratic --------------------------------------------------------------------------


class PCA(NamedTuple):
  mean: np.ndarray         # float32 (D,)
  components: np.ndarray   # float32 (D, n): the leading principal directions, by column


def pca_fit(x, n: int = 40) -> PCA:
  """The paper's procedure: each input's mean subtracted, the covariance matrix (float64)
  diagonalised by SVD, the n leading singular vectors kept; each one's sign fixed so that its
  largest entry in magnitude is positive."""
  x = np.asarray(x)
  if not 1 <= n <= x.shape[1]:
    raise ValueError(f"components: must be in 1..{x.shape[1]} (the inputs), got {n}")
  mean = x.mean(0, dtype=np.float64)
  centred = normal_equations(x - mean.astype(x.dtype), np.zeros((len(x), 0)))
  u = np.linalg.svd(centred.gram[:-1, :-1] / len(x), hermitian=True)[0][:, :n]
  u *= np.sign(u[np.abs(u).argmax(0), np.arange(n)])
  return PCA(mean.astype(np.float32), u.astype(np.float32))


@jax.jit
def _project(x, mean, components):
  return jnp.dot(x - mean, components, precision=_HIGHEST)


def pca_project(model: PCA, x) -> np.ndarray:
  """float32 (N, n): the principal components of features x (N, D)."""
  return np.asarray(_project(jnp.asarray(x, jnp.float32), model.mean, model.components))


def _pair_indices(n: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
  if kind not in QUADRATIC_KINDS:
    raise ValueError(f"kind: unknown {kind!r}; use one of {', '.join(QUADRATIC_KINDS)}")
  return np.triu_indices(n, k=1 if kind == "cross_and_linear" else 0)


@functools.partial(jax.jit, static_argnames="kind")
def _quadratic(p, kind):
  i, j = _pair_indices(p.shape[1], kind)
  products = p[:, i] * p[:, j]
  return jnp.concatenate([p, products], 1) if kind == "cross_and_linear" else products


def quadratic_features(p, kind: str = "cross_and_linear") -> np.ndarray:
  """float32 (N, n (n + 1) / 2) for n components p (N, n): 820 for 40, 821 inputs with the bias.
  The paper's 821 fits two readings of "all products of pairs of input variables":
  cross_and_linear, the n components and their products p_i p_j, i < j (a polynomial of degree
  2 without squares); all_pairs, the products p_i p_j, i <= j (squares, no linear terms)."""
  _pair_indices(np.shape(p)[1], kind)
  return np.asarray(_quadratic(jnp.asarray(p, jnp.float32), kind))


class PCAQuadratic(NamedTuple):
  pca: PCA
  kind: str
  linear: Linear

  def parameters(self) -> int:
    return self.pca.mean.size + self.pca.components.size + self.linear.parameters()

  def multiply_adds(self) -> int:
    return self.pca.components.size + self.linear.multiply_adds()


def pca_quadratic_fit(images, labels, *, n: int = 40, kind: str = "cross_and_linear",
                      ridge: float, coding: str = "pm1") -> PCAQuadratic:
  """The paper's 40 PCA + quadratic: the projection on the n principal components (pca_fit),
  their quadratic features (quadratic_features), and a linear classifier on them trained by
  least squares (linear_fit's procedure)."""
  x = pixels(images)
  pca = pca_fit(x, n)
  q = quadratic_features(pca_project(pca, x), kind)
  return PCAQuadratic(pca, kind, Linear(*solve(normal_equations(q, targets(labels, coding)),
                                               ridge)))


def pca_quadratic_predict(model: PCAQuadratic, images) -> np.ndarray:
  q = quadratic_features(pca_project(model.pca, pixels(images)), model.kind)
  return linear_scores(model.linear, q).argmax(1)


# --- 1000 RBF + linear ---------------------------------------------------------------------------


def _squared_distances(x, centres):
  d = (jnp.sum(x * x, 1)[:, None] + jnp.sum(centres * centres, 1)[None, :]
       - 2 * jnp.dot(x, centres.T, precision=_HIGHEST))
  return jnp.maximum(d, 0.0)


@functools.partial(jax.jit, static_argnames="iterations")
def _lloyd(x, centres, iterations):
  def step(_, c):
    nearest = jnp.argmin(_squared_distances(x, c), 1)          # ties: the lowest centre
    member = jax.nn.one_hot(nearest, c.shape[0], dtype=x.dtype)
    counts = member.sum(0)[:, None]
    sums = jnp.dot(member.T, x, precision=_HIGHEST)
    return jnp.where(counts > 0, sums / jnp.maximum(counts, 1), c)
  return jax.lax.fori_loop(0, iterations, step, centres)


def kmeans(x, centres, iterations: int) -> np.ndarray:
  """Lloyd's k-means from the given centres: each point assigned to its nearest centre (ties:
  the lowest index), each centre moved to the mean of its points (one with none stays put),
  `iterations` times. Batch updates rather than the paper's adaptive (online) ones: they move
  towards the same fixed points and do not depend on the order of the images."""
  return np.asarray(_lloyd(jnp.asarray(x, jnp.float32), jnp.asarray(centres, jnp.float32),
                           iterations))


def distortion(x, centres) -> float:
  """Mean over the points of the squared distance to their nearest centre."""
  d = _squared_distances(jnp.asarray(x, jnp.float32), jnp.asarray(centres, jnp.float32))
  return float(jnp.mean(jnp.min(d, 1)))


def rbf_centres(x, labels, *, units: int, iterations: int, seed: int,
                n_classes: int = N_CLASSES) -> tuple[np.ndarray, float]:
  """The paper's first layer: for each class, `units` centres by k-means on that class's images
  only, started from `units` of them drawn with `seed`. Returns the centres (C * units, D),
  class by class, and the mean squared distance of each image to its class's nearest centre,
  the unit of the Gaussians' width."""
  x, labels = np.asarray(x), np.asarray(labels)
  rng = np.random.default_rng(seed)
  centres, total = [], 0.0
  for c in range(n_classes):
    own = x[labels == c]
    if len(own) < units:
      raise ValueError(f"units: class {c} has {len(own)} training images, fewer than the "
                       f"{units} centres asked for; use fewer units")
    group = kmeans(own, own[rng.choice(len(own), units, replace=False)], iterations)
    centres.append(group)
    total += distortion(own, group) * len(own)
  return np.concatenate(centres), total / len(x)


@jax.jit
def _gaussians(x, centres, sigma2):
  return jnp.exp(-_squared_distances(x, centres) / (2 * sigma2))


def rbf_features(x, centres, sigma2: float) -> np.ndarray:
  """float32 (N, U): exp(-||x - c||^2 / (2 sigma2)) of every Gaussian unit, by chunks of images."""
  x = np.asarray(x, np.float32)
  chunk = max(1, _DISTANCE_BYTES // (4 * len(centres)))
  centres_j = jnp.asarray(centres, jnp.float32)
  parts = [np.asarray(_gaussians(jnp.asarray(x[s:s + chunk]), centres_j, sigma2))
           for s in range(0, len(x), chunk)]
  return np.concatenate(parts) if parts else np.zeros((0, len(centres)), np.float32)


class RBF(NamedTuple):
  centres: np.ndarray   # (U, D)
  sigma2: float         # the width of every unit, squared
  linear: Linear        # the second layer

  def parameters(self) -> int:
    return self.centres.size + 1 + self.linear.parameters()

  def multiply_adds(self) -> int:
    return self.centres.size + self.linear.multiply_adds()


def rbf_fit(images, labels, *, units: int = 100, iterations: int = 20, width: float = 1.0,
            ridge: float, coding: str = "pm1", seed: int = 0) -> RBF:
  """The paper's 1000 RBF + linear: 10 groups of `units` Gaussian units, each group's centres
  by k-means on one class (rbf_centres), every unit of width sigma with sigma^2 = width times
  the mean squared distance of a training image to its class's nearest centre; the second
  layer by the regularised pseudo-inverse (least squares with `ridge`) to `coding`'s targets."""
  x = pixels(images)
  centres, spread = rbf_centres(x, labels, units=units, iterations=iterations, seed=seed)
  sigma2 = width * spread
  h = rbf_features(x, centres, sigma2)
  return RBF(centres, sigma2, Linear(*solve(normal_equations(h, targets(labels, coding)), ridge)))


def rbf_predict(model: RBF, images) -> np.ndarray:
  h = rbf_features(pixels(images), model.centres, model.sigma2)
  return linear_scores(model.linear, h).argmax(1)
