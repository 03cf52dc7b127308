"""Independent tests for lenet_jax/losses.py.

References are float64 NumPy written from the paper's equations
(LeCun et al. 1998, Section II-C):
  Eq. 8 (MLE):  E = (1/P) sum_p y_{D_p}
  Eq. 9 (MAP):  E = (1/P) sum_p [ y_{D_p} + log(e^{-j} + sum_i e^{-y_i}) ]
The log-sum is evaluated in the reference with an explicit max shift in float64 so that it
is exact to ~1e-15 for any magnitude.

The losses run in float32 (x64 off). Tolerance: rtol 1e-5 plus atol 1e-5 * (1 + max|y|)
(float32 rounding of the distances themselves dominates; for y ~ 500 that is ~5e-3 absolute).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lenet_jax import losses


def _tol(y):
  return dict(rtol=1e-5, atol=1e-5 * (1.0 + float(np.abs(y).max())))


def ref_map(y, labels, j):
  y = np.asarray(y, np.float64)
  total = 0.0
  for p in range(y.shape[0]):
    terms = np.concatenate([[-j], -y[p]])
    m = terms.max()
    total += y[p, labels[p]] + m + np.log(np.sum(np.exp(terms - m)))
  return total / y.shape[0]


def ref_map_naive(y, labels, j):
  """Literal Eq. 9, valid where the exponentials do not underflow."""
  y = np.asarray(y, np.float64)
  return np.mean([y[p, labels[p]] + np.log(np.exp(-j) + np.exp(-y[p]).sum())
                  for p in range(y.shape[0])])


def ref_mle(y, labels):
  y = np.asarray(y, np.float64)
  return np.mean([y[p, labels[p]] for p in range(y.shape[0])])


def ref_ce(z, labels):
  z = np.asarray(z, np.float64)
  out = []
  for p in range(z.shape[0]):
    m = z[p].max()
    out.append(-(z[p, labels[p]] - m - np.log(np.exp(z[p] - m).sum())))
  return np.mean(out)


def _dist(rng, n, scale=20.0):
  return (rng.random((n, 10)) * scale).astype(np.float32)


# ---------------------------------------------------------------------------
# MAP (Eq. 9)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("j", [0.1, 1.0, 5.0, 30.0])
def test_map_loss_matches_eq9(j):
  rng = np.random.default_rng(int(j * 10))
  y = _dist(rng, 7, scale=10.0)
  labels = rng.integers(0, 10, 7)
  got = float(losses.map_loss(jnp.asarray(y), jnp.asarray(labels), j))
  np.testing.assert_allclose(got, ref_map_naive(y, labels, j), **_tol(y))
  np.testing.assert_allclose(got, ref_map(y, labels, j), **_tol(y))


def test_map_loss_hand_example():
  # One pattern: y_0 = 1, y_1 = 2, the other eight 1000 (e^-1000 = 0 in any float);
  # j = 1, label 0 -> E = 1 + log(e^-1 + e^-1 + e^-2) = 1.00339...
  y = np.full((1, 10), 1e3, np.float32)   # other classes: e^-1000 ~ 0
  y[0, 0], y[0, 1] = 1.0, 2.0
  got = float(losses.map_loss(jnp.asarray(y), jnp.asarray([0]), 1.0))
  expected = 1.0 + np.log(2 * np.exp(-1.0) + np.exp(-2.0))
  assert abs(got - expected) < 1e-6


def test_map_loss_default_j():
  rng = np.random.default_rng(1)
  y = _dist(rng, 5)
  labels = rng.integers(0, 10, 5)
  got = float(losses.map_loss(jnp.asarray(y), jnp.asarray(labels)))
  np.testing.assert_allclose(got, ref_map(y, labels, losses.DEFAULT_J), **_tol(y))
  assert losses.DEFAULT_J > 0   # the paper: j > 0


@pytest.mark.slow
def test_map_loss_large_distances_are_stable():
  """y ~ 500: e^{-y} underflows in float32 (and e^{-500} ~ 7e-218 in float64); the loss must
  stay finite and correct."""
  rng = np.random.default_rng(2)
  y = (480 + rng.random((4, 10)) * 40).astype(np.float32)
  labels = rng.integers(0, 10, 4)
  for j in (0.1, 2.0, 600.0):
    got = float(losses.map_loss(jnp.asarray(y), jnp.asarray(labels), j))
    assert np.isfinite(got)
    np.testing.assert_allclose(got, ref_map(y, labels, j), **_tol(y))
  # With every y huge and small j, the rubbish class dominates: E -> y_correct - j.
  got = float(losses.map_loss(jnp.asarray(y), jnp.asarray(labels), 0.5))
  np.testing.assert_allclose(got, ref_mle(y, labels) - 0.5, **_tol(y))
  # Gradients are finite too.
  g = jax.grad(lambda d: losses.map_loss(d, jnp.asarray(labels), 0.1))(jnp.asarray(y))
  assert np.isfinite(np.asarray(g)).all()


def test_map_loss_gradient_matches_eq9():
  """dE/dy_k = (1/P) [ [k = D_p] - e^{-y_k} / (e^{-j} + sum_i e^{-y_i}) ]."""
  rng = np.random.default_rng(3)
  y = _dist(rng, 3, scale=5.0)
  labels = rng.integers(0, 10, 3)
  j = 1.5
  g = np.asarray(jax.grad(lambda d: losses.map_loss(d, jnp.asarray(labels), j))(
      jnp.asarray(y)), np.float64)
  y64 = y.astype(np.float64)
  ref = np.zeros_like(y64)
  for p in range(3):
    z = np.exp(-j) + np.exp(-y64[p]).sum()
    ref[p] = -np.exp(-y64[p]) / z
    ref[p, labels[p]] += 1.0
  ref /= 3
  np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)


def test_map_loss_differs_from_mle_and_depends_on_j():
  rng = np.random.default_rng(4)
  y = _dist(rng, 4, scale=3.0)
  labels = jnp.asarray(rng.integers(0, 10, 4))
  a = float(losses.map_loss(jnp.asarray(y), labels, 0.1))
  b = float(losses.map_loss(jnp.asarray(y), labels, 3.0))
  c = float(losses.mle_loss(jnp.asarray(y), labels))
  assert abs(a - b) > 1e-3 and abs(a - c) > 1e-3


# ---------------------------------------------------------------------------
# MLE (Eq. 8), cross-entropy
# ---------------------------------------------------------------------------


def test_mle_loss_matches_eq8():
  rng = np.random.default_rng(5)
  y = _dist(rng, 9)
  labels = rng.integers(0, 10, 9)
  got = float(losses.mle_loss(jnp.asarray(y), jnp.asarray(labels)))
  np.testing.assert_allclose(got, ref_mle(y, labels), **_tol(y))
  # hand example
  y2 = np.arange(20, dtype=np.float32).reshape(2, 10)
  assert float(losses.mle_loss(jnp.asarray(y2), jnp.asarray([3, 7]))) == pytest.approx(
      (3 + 17) / 2, abs=1e-6)


@pytest.mark.slow
def test_cross_entropy_matches_numpy():
  rng = np.random.default_rng(6)
  z = (rng.normal(size=(6, 10)) * 5).astype(np.float32)
  labels = rng.integers(0, 10, 6)
  got = float(losses.cross_entropy(jnp.asarray(z), jnp.asarray(labels)))
  np.testing.assert_allclose(got, ref_ce(z, labels), **_tol(z))
  # uniform logits: log 10
  assert float(losses.cross_entropy(jnp.zeros((2, 10)), jnp.asarray([0, 9]))) == \
      pytest.approx(np.log(10), abs=1e-6)
  # large logits stay finite
  big = z * 100
  got = float(losses.cross_entropy(jnp.asarray(big), jnp.asarray(labels)))
  assert np.isfinite(got)
  np.testing.assert_allclose(got, ref_ce(big, labels), **_tol(big))


# ---------------------------------------------------------------------------
# predict, loss_fn
# ---------------------------------------------------------------------------


def test_predict_argmin_for_rbf_argmax_for_linear():
  s = jnp.asarray(np.array([[3.0, 1.0, 2.0, 9.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.5],
                            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]], np.float32))
  for out in ("rbf_bitmap", "rbf_random"):
    np.testing.assert_array_equal(np.asarray(losses.predict(s, out)), [9, 0])
  np.testing.assert_array_equal(np.asarray(losses.predict(s, "linear")), [3, 9])


def test_loss_fn_names():
  rng = np.random.default_rng(7)
  y = _dist(rng, 3)
  labels = rng.integers(0, 10, 3)
  yj, lj = jnp.asarray(y), jnp.asarray(labels)
  np.testing.assert_allclose(float(losses.loss_fn("map")(yj, lj)),
                             ref_map(y, labels, losses.DEFAULT_J), **_tol(y))
  np.testing.assert_allclose(float(losses.loss_fn("map", j=2.5)(yj, lj)),
                             ref_map(y, labels, 2.5), **_tol(y))
  np.testing.assert_allclose(float(losses.loss_fn("mle")(yj, lj)), ref_mle(y, labels),
                             **_tol(y))
  np.testing.assert_allclose(float(losses.loss_fn("cross_entropy")(yj, lj)),
                             ref_ce(y, labels), **_tol(y))
  z = np.tanh(y / 10.0)
  np.testing.assert_allclose(float(losses.loss_fn("mse")(jnp.asarray(z), lj)),
                             ref_mse(z, labels), rtol=1e-5, atol=1e-6)
  assert set(losses.LOSSES) == {"map", "mle", "mse", "cross_entropy"}


def ref_mse(z, labels):
  """Squared error to +1 at the correct class and -1 elsewhere, summed per pattern, loops."""
  total = 0.0
  for zi, t in zip(np.asarray(z, np.float64), labels):
    total += sum((zi[k] - (1.0 if k == t else -1.0)) ** 2 for k in range(len(zi)))
  return total / len(labels)


def test_mse_hand_example_and_squash_answer():
  # Two classes' outputs at their targets cost 0; one unit off by 0.5 costs 0.25.
  z = jnp.asarray([[1.0, -1.0, -1.0], [-1.0, -1.0, 0.5]])
  assert float(losses.mse_loss(z, jnp.asarray([0, 2]))) == pytest.approx((0.0 + 0.25) / 2)
  # Squashed outputs: the largest unit is the answer.
  np.testing.assert_array_equal(np.asarray(losses.predict(z, "squash")), [0, 2])


def test_loss_fn_unknown_name():
  with pytest.raises(ValueError, match="unknown loss"):
    losses.loss_fn("hinge")
