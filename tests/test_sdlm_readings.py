"""The readings of the paper's SDLM that the verdict compares (issue: the authors' initialisation,
their two curvature choices, and what SDLM did, recorded per pass).

References are hand-computed: the bounds v/sqrt(F) from each layer's fan-in as the paper counts
it, the curvature of a 2x2 subsampling and of a squared distance worked out on tiny inputs, and
effective rates eta/(mu + h) for a handful of h values.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lenet_jax import paper, sdlm, tables
from lenet_jax.layers import Stage, pool_stage as _pool_stage
from lenet_jax.model import LeNet5

TABLE_I = tables.c3_table("partial")


def _params(model, seed=0):
  x = jnp.zeros((1, 32, 32, 1))
  return jax.tree.map(np.asarray, model.init(jax.random.PRNGKey(seed), x)["params"])


def _c3_dense(compact):
  """(5, 5, 60) connected kernels -> (5, 5, 6, 16) with NaN where Table I has no link."""
  dense = np.full((5, 5, 6, 16), np.nan)
  rows, cols = np.nonzero(TABLE_I)
  dense[:, :, rows, cols] = compact
  return dense


# ---------------------------------------------------------------------------------- 1. init lush


@pytest.mark.parametrize("v", [1.0, 1.2])
def test_lush_init_every_layer(v):
  p = _params(LeNet5(weight_init="lush", init_scale=v), seed=3)
  # Fan-ins: C1 5x5x1 = 25 -> 1/5; C5 5x5x16 = 400 -> 1/20; F6 120 -> 1/sqrt(120).
  for name, bound in (("C1", v / 5.0), ("C5", v / 20.0), ("F6", v / np.sqrt(120.0))):
    w = p[name]["w"]
    assert np.abs(w).max() <= bound * (1 + 1e-6), name
    assert np.abs(w).max() > 0.9 * bound, name            # fills the range: uniform
    assert w.min() < -0.5 * bound and w.max() > 0.5 * bound, name
    np.testing.assert_array_equal(p[name]["b"], 0.0)
  # C3: 25 x (3, 4 or 6) inputs per receiving map -> v/sqrt(75), v/sqrt(100), v/sqrt(150).
  dense = _c3_dense(p["C3"]["w"])
  for o, n_in in enumerate([3] * 6 + [4] * 9 + [6]):
    wo = dense[:, :, TABLE_I[:, o], o]
    bound = v / np.sqrt(25.0 * n_in)
    assert np.abs(wo).max() <= bound * (1 + 1e-6), o
    assert np.abs(wo).max() > 0.8 * bound, o
  np.testing.assert_array_equal(p["C3"]["b"], 0.0)
  for name in ("S2", "S4"):
    np.testing.assert_array_equal(p[name]["coef"], np.float32(v / 2.0))
    np.testing.assert_array_equal(p[name]["bias"], 0.0)


def test_lush_init_differs_from_the_paper_text():
  lush, paper = _params(LeNet5(weight_init="lush")), _params(LeNet5(weight_init="fan_in"))
  # The paper's +-2.4/F for C5 is 0.006; the authors' 1/sqrt(400) is 0.05.
  assert np.abs(paper["C5"]["w"]).max() <= 2.4 / 400 * (1 + 1e-6)
  assert np.abs(lush["C5"]["w"]).max() > 0.04


def test_init_scale_is_validated(tmp_path):
  from lenet_jax import config
  import experiments
  c = experiments.load("sdlm_paper").get_config()
  c.init_scale = 0.0
  with pytest.raises(ValueError, match="init_scale"):
    config.validate(c)


# ------------------------------------------------------------- 2. the authors' curvature choices


def _s_stage(curvature):
  return _pool_stage("S", 1, 1, "trainable", None, curvature)


X = np.array([1.0, 2.0, -3.0, 0.5], np.float32).reshape(1, 2, 2, 1)   # one 2x2 window
C = np.array([0.3], np.float32).reshape(1, 1, 1, 1)                      # d2E/da^2 there
P = {"coef": np.array([0.7], np.float32), "bias": np.array([0.1], np.float32)}


def _rule(stage):
  if stage.curvature is not None:
    return stage.curvature(P, jnp.asarray(X), jnp.asarray(C))
  return sdlm._bilinear_curvature(stage.apply, P, jnp.asarray(X), jnp.asarray(C))


def test_subsample_per_connection_is_the_paper_rule():
  hp, hx = _rule(_s_stage("per_connection"))
  # sum_j x_j^2 = 1 + 4 + 9 + 0.25 = 14.25
  np.testing.assert_allclose(np.asarray(hp["coef"]), [0.3 * 14.25], rtol=1e-6)
  np.testing.assert_allclose(np.asarray(hp["bias"]), [0.3], rtol=1e-6)
  np.testing.assert_allclose(np.asarray(hx).ravel(), [0.3 * 0.49] * 4, rtol=1e-6)


def test_subsample_window_sum_is_the_authors_rule():
  hp, hx = _rule(_s_stage("window_sum"))
  # (sum_j x_j)^2 = (1 + 2 - 3 + 0.5)^2 = 0.25
  np.testing.assert_allclose(np.asarray(hp["coef"]), [0.3 * 0.25], rtol=1e-6)
  np.testing.assert_allclose(np.asarray(hp["bias"]), [0.3], rtol=1e-6)
  np.testing.assert_allclose(np.asarray(hx).ravel(), [0.3 * 0.49] * 4, rtol=1e-6)


def test_window_sum_sums_over_batch_and_windows():
  x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4, 1) / 8.0
  x = np.concatenate([x, -x], 0)                                         # two patterns
  c = np.full((2, 2, 2, 1), 0.5, np.float32)
  hp, _ = _s_stage("window_sum").curvature(P, jnp.asarray(x), jnp.asarray(c))
  ref = 0.0
  for n in range(2):
    for i in range(2):
      for j in range(2):
        ref += 0.5 * x[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2, 0].sum() ** 2
  np.testing.assert_allclose(np.asarray(hp["coef"]), [ref], rtol=1e-6)


def _dense_only():
  apply = lambda p, x: x @ p["w"] + p["b"]
  return [Stage("F", apply, None, {"w": ((2, 3), 2), "b": ((3,), 2)}, 3, 0, 9)]


def _rbf_map(z, labels):
  protos = jnp.array([[1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]])
  y = jnp.sum((z[:, None, :] - protos[None]) ** 2, axis=-1)
  return jnp.mean(y[jnp.arange(z.shape[0]), labels]
                  + jnp.log(jnp.exp(-1.0) + jnp.sum(jnp.exp(-y), axis=-1)))


@pytest.mark.slow
def test_constant_output_curvature_is_the_squared_distance_s():
  params = {"F": {"w": np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], np.float32),
                  "b": np.zeros(3, np.float32)}}
  x = np.array([[0.1, -0.2], [0.3, 0.05]], np.float32)   # near the origin: the log-add matters
  labels = np.array([0, 1])
  h = sdlm.gauss_newton_diag(_dense_only(), _rbf_map, params, x, labels, "constant")
  # d2/dz^2 of sum_j (z_j - w_Dj)^2 is 2 for every output; h_w[j, i] = mean_p 2 x_pj^2.
  np.testing.assert_allclose(np.asarray(h["F"]["w"]),
                             np.repeat([[2 * (0.01 + 0.09) / 2], [2 * (0.04 + 0.0025) / 2]],
                                       3, 1),
                             rtol=1e-6)
  np.testing.assert_allclose(np.asarray(h["F"]["b"]), [2.0] * 3, rtol=1e-6)
  # The exact diagonal includes the log-add term, so it differs.
  exact = sdlm.gauss_newton_diag(_dense_only(), _rbf_map, params, x, labels, "exact")
  assert np.abs(np.asarray(exact["F"]["b"]) - 2.0).max() > 0.1


def test_constant_output_curvature_needs_an_rbf_output():
  from lenet_jax import config
  import experiments
  c = experiments.load("sdlm_paper_authors").get_config()
  c.output, c.loss = "linear", "cross_entropy"
  with pytest.raises(ValueError, match="rbf"):
    config.validate(c)
  with pytest.raises(ValueError, match="output curvature"):
    sdlm.gauss_newton_diag(_dense_only(), _rbf_map, {"F": {}}, np.zeros((1, 2)),
                           np.zeros(1, int), "halfway")


# ------------------------------------------------------------------- 3. what SDLM did, recorded


def test_curvature_summary_by_hand():
  h = {"C1": {"w": np.array([0.0, 1.0, 4.0]), "b": np.array([2.0])},
       "F6": {"w": np.array([0.01, 0.03])}}
  eta, mu = 0.0005, 0.02
  s = sdlm.curvature_summary(h, eta, mu)
  assert s["h"]["C1"] == {"min": 0.0, "median": 1.5, "max": 4.0}
  assert s["h"]["F6"] == {"min": 0.01, "median": 0.02, "max": 0.03}
  # Rates: 0.025, 4.9e-4, 1.24e-4, 2.5e-4 (C1); 0.0167, 0.01 (F6). Inside 7e-5..0.016: four.
  assert s["rate_max"] == pytest.approx(0.0005 / 0.02)
  assert s["rate_min"] == pytest.approx(0.0005 / 4.02)
  assert s["share_in_paper_range"] == pytest.approx(4 / 6)
  assert paper.FIRST_PASS_RATES == (7e-5, 0.016)


@pytest.mark.slow
def test_results_record_sdlm_per_pass_and_lane(mnist_dir, tmp_path):
  from conftest import small_config
  from lenet_jax import train
  import experiments
  c = small_config(mnist_dir, seeds=2, epochs=2)
  for k in ("init", "sdlm_mu", "sdlm_first_pass_refresh"):
    c[k] = experiments.load("sdlm_paper").get_config()[k]
  r = train.train_and_evaluate(c, str(tmp_path / "run"), progress=False)
  for lane in r["lanes"]:
    assert len(lane["passes"]) == 2
    for p in lane["passes"]:
      s = p["sdlm"]
      assert set(s["h"]) == {"C1", "S2", "C3", "S4", "C5", "F6"}
      for layer in s["h"].values():
        assert 0 <= layer["min"] <= layer["median"] <= layer["max"]
      # The rates' extremes are those of the extreme h.
      hmax = max(v["max"] for v in s["h"].values())
      assert p["effective_lr_min"] == pytest.approx(p["eta"] / (0.02 + hmax), rel=1e-5)
      assert 0.0 <= s["share_in_paper_range"] <= 1.0
  assert r["lanes"][0]["passes"][0]["sdlm"] != r["lanes"][1]["passes"][0]["sdlm"]


@pytest.mark.slow
def test_hessian_once_keeps_the_estimate_of_pass_1(mnist_dir, tmp_path):
  """sdlm_hessian=once (the authors' Lush demo) estimates h before pass 1 only, so pass 2
  records pass 1's h and rates; every_pass (the paper) re-estimates it before pass 2."""
  from conftest import small_config
  from lenet_jax import train
  runs = {}
  for when in ("every_pass", "once"):
    c = small_config(mnist_dir, epochs=2, init="lush", sdlm_mu=0.02, sdlm_hessian=when)
    runs[when] = train.train_and_evaluate(c, str(tmp_path / when), progress=False)["passes"]
  every, once = runs["every_pass"], runs["once"]
  assert once[0]["sdlm"] == every[0]["sdlm"]          # the same first estimate
  assert once[1]["sdlm"]["h"] == once[0]["sdlm"]["h"]
  assert every[1]["sdlm"]["h"] != every[0]["sdlm"]["h"]
  hmax = max(v["max"] for v in once[0]["sdlm"]["h"].values())
  assert once[1]["effective_lr_min"] == pytest.approx(once[1]["eta"] / (0.02 + hmax), rel=1e-5)
