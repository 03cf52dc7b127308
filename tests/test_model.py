"""Independent tests for lenet_jax/model.py (LeNet5, build_stages, describe).

References are written from the paper (LeCun et al. 1998, Section II-B and Table I):
  * the per-layer parameter and connection counts are the paper's numbers;
  * Table I is re-typed here from the paper;
  * the forward pass is re-implemented in float64 NumPy (window sums via einsum,
    the paper's subsampling coef * sum(2x2) + bias, f(a) = 1.7159 tanh(2a/3),
    Euclidean RBF distances y_i = sum_j (x_j - w_ij)^2).

The model runs in float32 (x64 is not enabled). Tolerances:
  * hidden stage outputs vs the float64 reference: atol 1e-5 (values are O(1),
    sums have at most 400 terms of size <= ~0.05 after the +-2.4/F init);
  * RBF distances (O(100)): rtol 1e-4, atol 1e-4;
  * "no dependence" checks on structurally zero weights: atol 1e-6, with a power check
    that a connected input changes the output by more than 1e-3.
"""


import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lenet_jax import layers, networks, tables
from lenet_jax.config import CHOICES
from lenet_jax.model import LeNet5, describe, run_stages

A, S = 1.7159, 2.0 / 3.0

# Table I, typed from the paper (rows: S2 map 0-5, columns: C3 map 0-15).
_TABLE_I_FACTS = """
S2-0  X . . . X X X . . X X  X  X  .  X  X
S2-1  X X . . . X X X . . X  X  X  X  .  X
S2-2  X X X . . . X X X . .  X  .  X  X  X
S2-3  . X X X . . X X X X .  .  X  .  X  X
S2-4  . . X X X . . X X X X  .  X  X  .  X
S2-5  . . . X X X . . X X X  X  .  X  X  X
"""
TABLE_I = np.array([[c == "X" for c in line.split()[1:]]
                    for line in _TABLE_I_FACTS.strip().splitlines()], dtype=bool)


def _init(model, seed=0):
  return model.init(jax.random.PRNGKey(seed), jnp.zeros((1, 32, 32, 1)))["params"]


def _np(tree):
  return jax.tree.map(lambda v: np.asarray(v, np.float64), tree)


def _count(tree):
  return sum(int(np.prod(v.shape)) for v in jax.tree_util.tree_leaves(tree))


@pytest.fixture(scope="module")
def paper_params():
  return _init(LeNet5(), seed=0)


def _inputs(n, seed):
  # MNIST-like range: background -0.1, ink 1.175.
  rng = np.random.default_rng(seed)
  return rng.uniform(-0.1, 1.175, size=(n, 32, 32, 1)).astype(np.float32)


# ---------------------------------------------------------------------------
# float64 NumPy reference forward pass, from the paper
# ---------------------------------------------------------------------------


def np_squash(a):
  return A * np.tanh(S * a)


def np_conv(x, w, b):
  """x (N,H,W,C), w (k,k,C,O): valid cross-correlation + bias, float64."""
  k = w.shape[0]
  win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))  # N,h,w,C,k,k
  return np.einsum("nhwcij,ijco->nhwo", win, w) + b


def np_subsample(x, coef, bias):
  n, h, w, c = x.shape
  s = x.reshape(n, h // 2, 2, w // 2, 2, c).sum(axis=(2, 4))
  return s * coef + bias


def scatter_c3(wc, table):
  """Compact (5,5,60) kernel -> dense (5,5,6,16), kernels ordered as np.nonzero(table)
  (row-major: S2 map, then C3 map)."""
  dense = np.zeros((5, 5) + table.shape, np.float64)
  k = 0
  for i in range(table.shape[0]):
    for o in range(table.shape[1]):
      if table[i, o]:
        dense[:, :, i, o] = wc[:, :, k]
        k += 1
  assert k == wc.shape[-1]
  return dense


def np_c3_loops(x, dense, b, table):
  """Partially connected 5x5 convolution with explicit loops: map o sums only its inputs."""
  h = x.shape[0] - 4
  out = np.zeros((h, h, table.shape[1]))
  for o in range(table.shape[1]):
    for r in range(h):
      for c in range(h):
        acc = b[o]
        for i in range(table.shape[0]):
          if table[i, o]:
            acc += np.sum(x[r:r + 5, c:c + 5, i] * dense[:, :, i, o])
        out[r, c, o] = acc
  return out


def np_lenet5(p, x, protos, act=None):
  """The paper's LeNet-5, float64; returns (RBF distances, list of stage outputs)."""
  f = np_squash if act is None else act
  p = _np(p)
  x = np.asarray(x, np.float64)
  outs = []
  h = f(np_conv(x, p["C1"]["w"], p["C1"]["b"]))
  outs.append(h)
  h = f(np_subsample(h, p["S2"]["coef"], p["S2"]["bias"]))
  outs.append(h)
  h = f(np_conv(h, scatter_c3(p["C3"]["w"], TABLE_I), p["C3"]["b"]))
  outs.append(h)
  h = f(np_subsample(h, p["S4"]["coef"], p["S4"]["bias"]))
  outs.append(h)
  h = f(np_conv(h, p["C5"]["w"], p["C5"]["b"]))
  outs.append(h)
  h = f(h.reshape(h.shape[0], -1) @ p["F6"]["w"] + p["F6"]["b"])
  outs.append(h)
  protos = np.asarray(protos, np.float64)
  d = ((h[:, None, :] - protos[None]) ** 2).sum(-1)
  return d, outs


# ---------------------------------------------------------------------------
# Counts: the paper's table
# ---------------------------------------------------------------------------

PAPER_PARAMS = {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164}
PAPER_CONNECTIONS = {"C1": 122304, "S2": 5880, "C3": 151600, "S4": 2000, "C5": 48120,
                     "F6": 10164, "OUTPUT": 840, "total": 340908}
PAPER_MAPS = {"C1": (6, 28), "S2": (6, 14), "C3": (16, 10), "S4": (16, 5), "C5": (120, 1)}


def test_param_counts_per_layer(paper_params):
  got = {name: _count(v) for name, v in paper_params.items()}
  assert got == PAPER_PARAMS
  assert _count(paper_params) == 60000


def test_param_counts_full_c3():
  params = _init(LeNet5(c3="full"))
  assert _count(params["C3"]) == 16 * (6 * 25 + 1) == 2416
  assert _count(params) == 60000 - 1516 + 2416 == 60900


def test_describe_matches_paper():
  rows = {r["layer"]: r for r in describe(LeNet5())}
  assert list(rows) == ["C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT", "total"]
  for name, conns in PAPER_CONNECTIONS.items():
    assert rows[name]["connections"] == conns, name
  for name, n in PAPER_PARAMS.items():
    assert rows[name]["params"] == n, name
  assert rows["OUTPUT"]["params"] == 0
  assert rows["total"]["params"] == 60000
  for name, (maps, size) in PAPER_MAPS.items():
    assert (rows[name]["maps"], rows[name]["size"]) == (maps, size), name
  assert rows["F6"]["maps"] == 84
  assert rows["OUTPUT"]["maps"] == 10


def test_describe_full_c3():
  rows = {r["layer"]: r for r in describe(LeNet5(c3="full"))}
  assert rows["C3"]["params"] == 2416
  # 100 positions x 16 maps x (150 weights + 1 bias)
  assert rows["C3"]["connections"] == 100 * 16 * 151 == 241600
  assert rows["total"]["params"] == 60900


def test_c5_is_a_convolution(paper_params):
  """C5 on a larger input gives maps larger than 1x1 (facts: not a dense layer)."""
  c5 = networks.build_stages()[4]
  assert c5.name == "C5"
  x = np.random.default_rng(0).normal(size=(1, 7, 7, 16)).astype(np.float32)
  got = np.asarray(c5.apply(paper_params["C5"], jnp.asarray(x)))
  assert got.shape == (1, 3, 3, 120)
  ref = np_conv(x.astype(np.float64), _np(paper_params["C5"]["w"]), _np(paper_params["C5"]["b"]))
  np.testing.assert_allclose(got, ref, atol=1e-5)


# ---------------------------------------------------------------------------
# Table I
# ---------------------------------------------------------------------------


def test_table_i_matches_facts():
  assert TABLE_I.shape == (6, 16) and TABLE_I.sum() == 60
  col = TABLE_I.sum(axis=0)
  assert list(col) == [3] * 6 + [4] * 9 + [6]
  np.testing.assert_array_equal(tables.C3_PARTIAL, TABLE_I)
  np.testing.assert_array_equal(tables.c3_table("partial"), TABLE_I)
  assert tables.c3_table("full").all() and tables.c3_table("full").shape == (6, 16)


def test_table_i_neighbourhood_structure():
  """Maps 0-5 read 3 neighbouring S2 maps, 6-11 4 neighbouring, 12-14 4 non-neighbouring
  (cyclically), 15 all six."""
  def cyclic_run(rows):
    s = set(rows)
    return any(s == {(st + d) % 6 for d in range(len(s))} for st in range(6))
  for o in range(16):
    rows = np.nonzero(TABLE_I[:, o])[0]
    if o < 6:
      assert len(rows) == 3 and cyclic_run(rows)
    elif o < 12:
      assert len(rows) == 4 and cyclic_run(rows)
    elif o < 15:
      assert len(rows) == 4 and not cyclic_run(rows)
    else:
      assert len(rows) == 6


def test_c3_output_matches_loop_reference(paper_params):
  stages = networks.build_stages()
  c3 = stages[2]
  assert c3.name == "C3"
  assert paper_params["C3"]["w"].shape == (5, 5, 60)
  rng = np.random.default_rng(1)
  x = rng.normal(size=(2, 14, 14, 6)).astype(np.float32)
  p = dict(paper_params["C3"])
  # Larger random weights than the init so the check has teeth.
  p["w"] = jnp.asarray(rng.normal(size=(5, 5, 60)).astype(np.float32))
  p["b"] = jnp.asarray(rng.normal(size=(16,)).astype(np.float32))
  got = np.asarray(c3.apply(p, jnp.asarray(x)))
  assert got.shape == (2, 10, 10, 16)
  pw, pb = _np(p["w"]), _np(p["b"])
  dense = scatter_c3(pw, TABLE_I)
  for n in range(2):
    ref = np_c3_loops(x[n].astype(np.float64), dense, pb, TABLE_I)
    # 150 terms of size ~1: float32 error well below 1e-4
    np.testing.assert_allclose(got[n], ref, atol=1e-4)
  # Power: a one-entry change of the table (map 0 also reading S2-3) changes map 0.
  table2 = TABLE_I.copy()
  table2[3, 0] = True
  dense2 = dense.copy()
  dense2[:, :, 3, 0] = rng.normal(size=(5, 5))
  ref2 = np_c3_loops(x[0].astype(np.float64), dense2, pb, table2)
  assert np.abs(ref2[:, :, 0] - got[0][:, :, 0]).max() > 1e-2
  # ... and dropping an X (S2-0 -> C3-0) changes it too.
  table3 = TABLE_I.copy()
  table3[0, 0] = False
  ref3 = np_c3_loops(x[0].astype(np.float64), dense, pb, table3)
  assert np.abs(ref3[:, :, 0] - got[0][:, :, 0]).max() > 1e-2


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 20], ids=["im2col", "xla-conv"])
def test_c3_compact_weight_gradient_matches_numpy(paper_params, batch):
  """d(sum g * C3(x))/dw for the 60 connected kernels: for connection (i -> o) and tap (a, b),
  the sum over positions of g[o] times input map i shifted by (a, b); float64 NumPy."""
  c3 = networks.build_stages()[2]
  rng = np.random.default_rng(5)
  x = rng.normal(size=(batch, 14, 14, 6))
  g = rng.normal(size=(batch, 10, 10, 16))
  f = lambda w: jnp.sum(jnp.asarray(g, jnp.float32) * c3.apply(
      dict(paper_params["C3"], w=w), jnp.asarray(x, jnp.float32)))
  got = np.asarray(jax.grad(f)(paper_params["C3"]["w"]))
  rows, cols = np.nonzero(TABLE_I)
  ref = np.zeros((5, 5, len(rows)))
  for a in range(5):
    for b in range(5):
      win = x[:, a:a + 10, b:b + 10, :]              # (batch, 10, 10, 6)
      dense = np.einsum("nijc,nijo->co", win, g)       # (6 inputs, 16 maps)
      ref[a, b] = dense[rows, cols]
  np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-3 * np.sqrt(batch))


@pytest.mark.parametrize("batch", [1, 20], ids=["im2col", "dense"])
def test_c5_and_its_gradients_match_numpy(paper_params, batch):
  """C5 (one 5x5 window over S4's 16 maps) and its two gradients against a float64 NumPy
  loop: batches of 16 or more compute it as a dense layer (layers._conv)."""
  c5 = networks.build_stages()[4]
  rng = np.random.default_rng(7)
  x = rng.normal(size=(batch, 5, 5, 16))
  g = rng.normal(size=(batch, 1, 1, 120))
  w, b = (np.asarray(paper_params["C5"][k], np.float64) for k in ("w", "b"))
  ref = np.zeros((batch, 120))
  for n in range(batch):
    for o in range(120):
      ref[n, o] = b[o] + sum(x[n, i, j, c] * w[i, j, c, o]
                             for i in range(5) for j in range(5) for c in range(16))
  f = lambda p, xx: c5.apply(p, xx)
  got, vjp = jax.vjp(f, paper_params["C5"], jnp.asarray(x, jnp.float32))
  assert got.shape == (batch, 1, 1, 120)
  np.testing.assert_allclose(np.asarray(got)[:, 0, 0], ref, rtol=1e-4, atol=1e-4)
  dp, dx = vjp(jnp.asarray(g, jnp.float32))
  np.testing.assert_allclose(np.asarray(dp["w"]), np.einsum("nijc,no->ijco", x, g[:, 0, 0]),
                             rtol=1e-4, atol=1e-4 * np.sqrt(batch))
  np.testing.assert_allclose(np.asarray(dp["b"]), g.sum(axis=(0, 1, 2)), rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(np.asarray(dx), np.einsum("ijco,no->nijc", w, g[:, 0, 0]),
                             rtol=1e-4, atol=1e-4)


def test_c3_disconnected_inputs_do_not_reach_map(paper_params):
  """Perturbing S2 map i changes C3 map o iff Table I has an X at (i, o)."""
  c3 = networks.build_stages()[2]
  rng = np.random.default_rng(2)
  x = rng.normal(size=(1, 14, 14, 6)).astype(np.float32)
  base = np.asarray(c3.apply(paper_params["C3"], jnp.asarray(x)))
  for i in range(6):
    x2 = x.copy()
    x2[..., i] += rng.normal(size=(1, 14, 14)).astype(np.float32) * 3
    out = np.asarray(c3.apply(paper_params["C3"], jnp.asarray(x2)))
    diff = np.abs(out - base).max(axis=(0, 1, 2))
    assert np.all(diff[~TABLE_I[i]] <= 1e-6), (i, diff)
    assert np.all(diff[TABLE_I[i]] > 1e-3), (i, diff)


# ---------------------------------------------------------------------------
# Full forward pass against NumPy
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_forward_matches_numpy_reference(paper_params):
  m = LeNet5()
  x = _inputs(2, seed=3)
  got = np.asarray(m.apply({"params": paper_params}, jnp.asarray(x)))
  assert got.shape == (2, 10)
  ref, outs = np_lenet5(paper_params, x, tables.bitmap_prototypes())
  np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
  # Intermediate stages too (shapes 28/14/10/5/1 and values).
  stages = m.stages()
  h = jnp.asarray(x)
  for s, r in zip(stages, outs):
    h = s.act(s.apply(paper_params.get(s.name, {}), h))
    assert h.shape == r.shape, s.name
    np.testing.assert_allclose(np.asarray(h), r, atol=1e-5, err_msg=s.name)
  # Power: the same reference with the logistic function in place of the scaled tanh
  # (the classic misreading of the paper's "sigmoid") is far from the model.
  assert np.abs(np_squash(1.0) - 1.0) < 1e-4 and np.abs(np_squash(-1.0) + 1.0) < 1e-4
  wrong, _ = np_lenet5(paper_params, x, tables.bitmap_prototypes(),
                       act=lambda a: 1 / (1 + np.exp(-a)))
  assert np.abs(wrong - got).max() > 1.0


def test_forward_larger_weights_matches_numpy():
  """Same check with weights scaled up so the squashing is well into its non-linear range
  (the +-2.4/F init keeps activations small, where tanh is nearly linear)."""
  m = LeNet5()
  params = _init(m, seed=5)
  params = jax.tree.map(lambda v: v * 4.0, params)
  x = _inputs(2, seed=6)
  got = np.asarray(m.apply({"params": params}, jnp.asarray(x)))
  ref, outs = np_lenet5(params, x, tables.bitmap_prototypes())
  assert max(np.abs(o).max() for o in outs) > 1.0   # actually non-linear
  np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------
# Prototypes
# ---------------------------------------------------------------------------


def test_bitmap_prototypes_structure():
  p = tables.bitmap_prototypes()
  assert p.shape == (10, 84)
  assert set(np.unique(p)) == {-1.0, 1.0}
  for d in range(10):
    grid = p[d].reshape(12, 7)
    assert (grid > 0).any()
    # room for descenders: the bottom rows of the 12-row cell are background
    assert np.all(grid[-2:] == -1.0), d
    lines = tables.render(p[d]).splitlines()
    assert len(lines) == 12 and all(len(l) == 7 for l in lines)
  # ten distinct codes
  ham = (p[:, None, :] != p[None, :, :]).sum(-1)
  assert np.all(ham[~np.eye(10, dtype=bool)] > 0)


def test_prototypes_are_constants_not_params(paper_params):
  assert set(paper_params) == {"C1", "S2", "C3", "S4", "C5", "F6"}
  m = LeNet5()
  np.testing.assert_array_equal(np.asarray(m.prototypes()), tables.bitmap_prototypes())
  # Distances are computed against the bitmaps: feed F6 outputs in.
  stages = m.stages()
  x = jnp.asarray(_inputs(1, seed=7))
  f6 = np.asarray(run_stages(stages, paper_params, x), np.float64)
  scores = np.asarray(m.apply({"params": paper_params}, x))
  ref = ((f6[:, None, :] - tables.bitmap_prototypes()[None].astype(np.float64)) ** 2).sum(-1)
  np.testing.assert_allclose(scores, ref, rtol=1e-5, atol=1e-4)


def test_rbf_random_prototypes_seeded_and_used(paper_params):
  m0 = LeNet5(output="rbf_random", prototype_seed=0)
  m0b = LeNet5(output="rbf_random", prototype_seed=0)
  m1 = LeNet5(output="rbf_random", prototype_seed=1)
  p0, p0b, p1 = (np.asarray(m.prototypes()) for m in (m0, m0b, m1))
  assert p0.shape == (10, 84) and set(np.unique(p0)) == {-1.0, 1.0}
  np.testing.assert_array_equal(p0, p0b)
  assert (p0 != p1).sum() > 10
  assert (p0 != tables.bitmap_prototypes()).sum() > 10
  # Same parameters, different codes -> different scores; scores use the random codes.
  x = jnp.asarray(_inputs(1, seed=8))
  s_rand = np.asarray(m0.apply({"params": paper_params}, x))
  s_bmp = np.asarray(LeNet5().apply({"params": paper_params}, x))
  assert np.abs(s_rand - s_bmp).max() > 0.1   # F6 outputs are small at init: d ~ 84
  f6 = np.asarray(run_stages(m0.stages(), paper_params, x), np.float64)
  ref = ((f6[:, None, :] - p0[None].astype(np.float64)) ** 2).sum(-1)
  np.testing.assert_allclose(s_rand, ref, rtol=1e-5, atol=1e-4)


def test_linear_output_is_trainable_layer():
  m = LeNet5(output="linear")
  params = _init(m)
  assert m.prototypes() is None
  assert params["OUTPUT"]["w"].shape == (84, 10)
  assert _count(params["OUTPUT"]) == 84 * 10 + 10
  assert _count(params) == 60000 + 850
  x = jnp.asarray(_inputs(2, seed=9))
  got = np.asarray(m.apply({"params": params}, x))
  f6 = np.asarray(run_stages(m.stages()[:-1], params, x), np.float64)
  ref = f6 @ _np(params["OUTPUT"]["w"]) + _np(params["OUTPUT"]["b"])
  np.testing.assert_allclose(got, ref, atol=1e-5)


# ---------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------


def _fan_ins():
  c3 = 25 * TABLE_I.sum(axis=0)   # per receiving C3 map
  return {"C1": 25, "S2": 4, "C3": c3, "S4": 4, "C5": 400, "F6": 120}


def test_fan_in_init_bounds_and_spread(paper_params):
  p = _np(paper_params)
  fans = _fan_ins()
  for name in ("C1", "C5", "F6"):
    bound = 2.4 / fans[name]
    w, b = p[name]["w"], p[name]["b"]
    assert np.abs(w).max() <= bound * (1 + 1e-6), name
    assert np.abs(b).max() <= bound * (1 + 1e-6), name
    # spread: weights fill most of the range (uniform, not squeezed)
    assert np.abs(w).max() > 0.9 * bound, name
    assert w.min() < -0.5 * bound and w.max() > 0.5 * bound, name
  for name in ("S2", "S4"):
    for k in ("coef", "bias"):
      assert np.abs(p[name][k]).max() <= 0.6 * (1 + 1e-6), (name, k)
  both = np.concatenate([p["S2"]["coef"], p["S2"]["bias"], p["S4"]["coef"], p["S4"]["bias"]])
  assert np.abs(both).max() > 0.8 * 0.6


def test_fan_in_init_c3_per_map(paper_params):
  """C3 bound is 2.4/(25 x connected inputs) per receiving map: 75, 100 or 150."""
  p = _np(paper_params)
  dense = scatter_c3(p["C3"]["w"], TABLE_I)
  fans = _fan_ins()["C3"]
  assert list(fans) == [75] * 6 + [100] * 9 + [150]
  for o in range(16):
    bound = 2.4 / fans[o]
    wo = dense[:, :, TABLE_I[:, o], o]
    assert wo.size == fans[o]
    assert np.abs(wo).max() <= bound * (1 + 1e-6), o
    # Fills the range: > 0.8*bound. (With 75 weights per map this also rules out the
    # bound of a 100-input map, 2.4/100 < 0.8 * 2.4/75.)
    assert np.abs(wo).max() > 0.8 * bound, o
    assert abs(p["C3"]["b"][o]) <= bound * (1 + 1e-6), o


@pytest.mark.slow
def test_flax_default_init():
  params = _np(_init(LeNet5(weight_init="flax_default"), seed=1))
  for name in ("C1", "C3", "C5", "F6"):
    np.testing.assert_array_equal(params[name]["b"], 0.0)
  for name in ("S2", "S4"):
    np.testing.assert_array_equal(params[name]["bias"], 0.0)
  # lecun_normal: std 1/sqrt(F); C5 has 48,000 weights, F = 400.
  std = params["C5"]["w"].std()
  assert abs(std - 1 / 20) < 0.05 * (1 / 20)
  fan_in_params = _np(_init(LeNet5(), seed=1))
  assert np.abs(params["C5"]["w"] - fan_in_params["C5"]["w"]).max() > 1e-3


def test_unknown_options_raise():
  for kw in (dict(c3="half"), dict(pooling="l2"), dict(activation="gelu"),
             dict(output="softmax"), dict(weight_init="zeros")):
    with pytest.raises(ValueError):
      _init(LeNet5(**kw))


# ---------------------------------------------------------------------------
# Option combinations
# ---------------------------------------------------------------------------

# A covering sample: every value of every option appears at least once.
COMBOS = [
    ("partial", "trainable", "scaled_tanh", "rbf_bitmap", "fan_in"),
    ("full", "avg", "relu", "linear", "flax_default"),
    ("partial", "max", "logistic", "rbf_random", "lush"),
    ("full", "max", "scaled_tanh", "linear", "fan_in"),
    ("partial", "trainable", "scaled_tanh", "squash", "lush"),
]


def test_combos_cover_every_option():
  for k, values in enumerate((CHOICES["c3"], CHOICES["pooling"],
                              tuple(layers.ACTIVATIONS), CHOICES["output"],
                              CHOICES["init"])):
    assert {c[k] for c in COMBOS} == set(values)


@pytest.mark.slow
@pytest.mark.parametrize("c3,pooling,activation,output,init", COMBOS)
def test_option_combination_shapes_and_grads(c3, pooling, activation, output, init):
  m = LeNet5(c3=c3, pooling=pooling, activation=activation, output=output, weight_init=init)
  params = _init(m)
  x = jnp.asarray(_inputs(3, seed=10))

  def loss(p):
    return jnp.sum(m.apply({"params": p}, x) ** 2)

  scores, grads = jax.jit(lambda p: (m.apply({"params": p}, x), jax.grad(loss)(p)))(params)
  assert scores.shape == (3, 10)
  assert np.isfinite(np.asarray(scores)).all()
  leaves = jax.tree_util.tree_leaves(grads)
  assert all(np.isfinite(np.asarray(g)).all() for g in leaves)
  # at least the last layer receives gradient
  last = "OUTPUT" if output == "linear" else "F6"
  assert np.abs(np.asarray(grads[last]["w"])).max() > 0
  has_pool_params = pooling == "trainable"
  assert ("S2" in params) == has_pool_params and ("S4" in params) == has_pool_params


# ---------------------------------------------------------------------------
# Each option changes what it should
# ---------------------------------------------------------------------------


def _hidden(stages, params, x):
  outs, h = [], x
  for s in stages:
    h = s.apply(params.get(s.name, {}), h)
    if s.act is not None:
      h = s.act(h)
    outs.append((s.name, np.asarray(h, np.float64)))
  return outs


def test_activation_relu_logistic_scaled_tanh(paper_params):
  x = jnp.asarray(_inputs(2, seed=11)) - 0.5   # some negative pre-activations in C1
  relu_outs = _hidden(networks.build_stages(activation="relu"), paper_params, x)
  tanh_outs = _hidden(networks.build_stages(), paper_params, x)
  logi_outs = _hidden(networks.build_stages(activation="logistic"), paper_params, x)
  for (n, r), (_, t), (_, l) in zip(relu_outs, tanh_outs, logi_outs):
    assert r.min() >= 0.0, n
    assert (r == 0).any(), n          # relu actually clips something
    assert t.min() < 0.0, n           # the scaled tanh does not
    assert l.min() > 0.0 and l.max() < 1.0, n
  # C1 with relu equals max(0, conv) from NumPy.
  p = _np(paper_params)
  c1 = np_conv(np.asarray(x, np.float64), p["C1"]["w"], p["C1"]["b"])
  np.testing.assert_allclose(relu_outs[0][1], np.maximum(c1, 0), atol=1e-5)
  np.testing.assert_allclose(logi_outs[0][1], 1 / (1 + np.exp(-c1)), atol=1e-5)


def test_pooling_options(paper_params):
  x = jnp.asarray(_inputs(2, seed=12))
  p = {k: v for k, v in paper_params.items() if k not in ("S2", "S4")}
  avg = _hidden(networks.build_stages(pooling="avg"), p, x)
  mx = _hidden(networks.build_stages(pooling="max"), p, x)
  c1 = avg[0][1]
  n, h, w, c = c1.shape
  win = c1.reshape(n, h // 2, 2, w // 2, 2, c)
  np.testing.assert_allclose(avg[1][1], win.mean(axis=(2, 4)), atol=1e-6)
  np.testing.assert_allclose(mx[1][1], win.max(axis=(2, 4)), atol=1e-6)
  assert np.abs(avg[1][1] - mx[1][1]).max() > 1e-3
  # trainable pooling = squash(coef * sum + bias)
  tr = _hidden(networks.build_stages(pooling="trainable"), paper_params, x)
  pp = _np(paper_params)
  ref = np_squash(win.sum(axis=(2, 4)) * pp["S2"]["coef"] + pp["S2"]["bias"])
  np.testing.assert_allclose(tr[1][1], ref, atol=1e-5)
  assert np.abs(tr[1][1] - avg[1][1]).max() > 1e-3
  # final scores differ too
  s = [np.asarray(LeNet5(pooling=k).apply({"params": paper_params if k == "trainable" else p},
                                          x)) for k in ("trainable", "avg", "max")]
  assert np.abs(s[0] - s[1]).max() > 1e-3 and np.abs(s[1] - s[2]).max() > 1e-3


def test_c3_full_differs_from_partial():
  mp, mf = LeNet5(), LeNet5(c3="full")
  pf = _init(mf)
  assert pf["C3"]["w"].shape == (5, 5, 6, 16)
  # Partial params equal to full params restricted to Table I -> same C3 output only if
  # the full kernel is zero off the table; with the full kernel intact they differ.
  pp = dict(pf)
  rows, cols = np.nonzero(TABLE_I)
  pp["C3"] = {"w": pf["C3"]["w"][:, :, rows, cols], "b": pf["C3"]["b"]}
  x = jnp.asarray(_inputs(2, seed=13))
  sp = np.asarray(mp.apply({"params": pp}, x))
  sf = np.asarray(mf.apply({"params": pf}, x))
  assert np.abs(sp - sf).max() > 1e-4
  masked = dict(pf)
  masked["C3"] = {"w": pf["C3"]["w"] * TABLE_I[None, None], "b": pf["C3"]["b"]}
  sm = np.asarray(mf.apply({"params": masked}, x))
  np.testing.assert_allclose(sp, sm, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# Disconnected C3 weights stay disconnected through training
# ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("optimizer,lr", [("sdlm", 0.0), ("sgd", 0.01), ("adam", 0.001)])
def test_disconnected_c3_weights_stay_zero_after_training(optimizer, lr):
  from lenet_jax.config import paper_config
  from lenet_jax import sdlm, step

  cfg = paper_config()
  cfg.optimizer = optimizer
  cfg.learning_rate = lr
  cfg.sdlm_samples = 4
  recipe = step.make_recipe(cfg, steps_per_pass=10)
  state = step.init(recipe, 0)
  w0 = np.array(state["params"]["C3"]["w"])
  rng = np.random.default_rng(14)
  x = jnp.asarray(_inputs(8, seed=15))
  y = jnp.asarray(rng.integers(0, 10, size=8).astype(np.int32))
  if optimizer == "sdlm":
    state = jax.jit(functools.partial(step.refresh, recipe))(state, x, y, 0, 0)
    h = sdlm.get_hessian(state["opt_state"])
    assert h["C3"]["w"].shape == (5, 5, 60)
  for _ in range(3):
    state, metrics = jax.jit(functools.partial(step.train_step, recipe))(state, (x, y))
    assert np.isfinite(float(metrics["loss"]))
  params = state["params"]
  w = np.asarray(params["C3"]["w"], np.float64)
  assert w.shape == (5, 5, 60)                 # no parameters for disconnected kernels
  assert np.abs(w - w0).max() > 0              # training moved the C3 weights
  dense = scatter_c3(w, TABLE_I)
  assert np.all(dense[:, :, ~TABLE_I] == 0.0)
  # Behaviour: the trained C3 stage ignores disconnected S2 maps.
  c3 = recipe.stages[2]
  xs = np.random.default_rng(16).normal(size=(1, 14, 14, 6)).astype(np.float32)
  base = np.asarray(c3.apply(params["C3"], jnp.asarray(xs)))
  for i in range(6):
    x2 = xs.copy()
    x2[..., i] += 3.0 * np.random.default_rng(17 + i).normal(size=(1, 14, 14))
    diff = np.abs(np.asarray(c3.apply(params["C3"], jnp.asarray(x2))) - base).max(
        axis=(0, 1, 2))
    assert np.all(diff[~TABLE_I[i]] <= 1e-6), (optimizer, i)
    assert np.all(diff[TABLE_I[i]] > 1e-4), (optimizer, i)
  # and matches the loop reference with the trained weights
  ref = np_c3_loops(xs[0].astype(np.float64), dense, _np(params["C3"]["b"]), TABLE_I)
  np.testing.assert_allclose(base[0], ref, atol=1e-5)
