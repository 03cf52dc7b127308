"""Independent tests for lenet_jax/sdlm.py (the paper's Appendix C).

References:
  * the exact Hessian diagonal of a linear layer under squared error, by hand
    (d2E/dW_ij^2 = mean_p x_pi^2, d2E/db_j^2 = 1) and by jax.hessian on a flat vector;
  * a float64 NumPy implementation, written here with explicit loops, of the paper's
    recursion: d2E/da_i^2 = f'(a_i)^2 sum_k u_ki^2 d2E/da_k^2,
    d2E/du_ij^2 = d2E/da_i^2 x_j^2, summed over the connections sharing a weight,
    averaged over patterns; the output curvature is the exact diagonal of the head loss
    Hessian w.r.t. the last output, clipped at 0 (computed analytically here);
  * the update -eta/(mu + h) g and the paper's eta schedule.

JAX runs in float32 (x64 off). Tolerances: curvature estimates rtol 1e-4 and an absolute
floor of 1e-6 * max|h| of that tensor (float32 rounding of sums of squares of O(1) terms);
optimiser updates rtol 1e-6.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from lenet_jax import losses, ops, sdlm
from lenet_jax.layers import Stage, pool_stage as _pool_stage
from lenet_jax.model import LeNet5, head, run_stages

A, S = 1.7159, 2.0 / 3.0


def assert_h_close(got, ref, rtol=1e-4):
  got = np.asarray(got, np.float64)
  ref = np.asarray(ref, np.float64)
  assert got.shape == ref.shape
  np.testing.assert_allclose(got, ref, rtol=rtol, atol=1e-6 * max(np.abs(ref).max(), 1e-12))


def gn_diag(stages, head_loss, params, x, labels):
  """sdlm.gauss_newton_diag under jit (much faster than op-by-op on CPU)."""
  fn = jax.jit(lambda p, xx, ll: sdlm.gauss_newton_diag(stages, head_loss, p, xx, ll))
  return fn(params, x, labels)


# ---------------------------------------------------------------------------
# Stages used by the tests (model.Stage: linear apply + optional elementwise act)
# ---------------------------------------------------------------------------


def dense_stage(name, fin, fout, act, flatten=False):
  def apply(p, x):
    if flatten:
      x = x.reshape(x.shape[0], -1)
    return x @ p["w"] + p["b"]
  return Stage(name, apply, act, {"w": ((fin, fout), fin), "b": ((fout,), fin)}, fout, 0,
               fout * (fin + 1))


def conv_stage(name, k, cin, cout, act):
  conv = ops.batched(ops.conv2d)
  return Stage(name, lambda p, x: conv(x, p["w"], p["b"]), act,
               {"w": ((k, k, cin, cout), k * k * cin), "b": ((cout,), k * k * cin)},
               cout, 0, 0)


def sq_head(z, t):
  """Mean over the batch of 0.5 * sum_k (z_k - t_k)^2; labels are target vectors."""
  return jnp.mean(0.5 * jnp.sum((z - t) ** 2, axis=-1))


def cos_head(z, t):
  """-sum_k cos(z_k - t_k): curvature cos(z_k - t_k) is negative for |z - t| > pi/2."""
  return jnp.mean(-jnp.sum(jnp.cos(z - t), axis=-1))


PROTOS = np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]], np.float32)   # 3 classes, 2-d codes
MAP_J = 0.7


def rbf_map_head(z, labels):
  y = jnp.sum((z[:, None, :] - PROTOS[None]) ** 2, axis=-1)
  return losses.map_loss(y, labels, MAP_J)


# ---------------------------------------------------------------------------
# NumPy float64 reference of the recursion
# ---------------------------------------------------------------------------


def np_tanh_d(a):
  return 1.0 - np.tanh(a) ** 2


def np_squash_d(a):
  return A * S * (1.0 - np.tanh(S * a) ** 2)


def np_out_curv(head_kind, z, label):
  """Exact d2E/dz_k^2 for one pattern, clipped at 0."""
  z = np.asarray(z, np.float64)
  if head_kind == "sq":
    d = np.ones_like(z)
  elif head_kind == "cos":
    d = np.cos(z - label)
  elif head_kind == "rbf_map":
    # E = y_D + log(e^-j + sum_i e^-y_i), y_i = sum_k (z_k - w_ik)^2.
    w = PROTOS.astype(np.float64)
    y = ((z[None] - w) ** 2).sum(-1)
    q = np.exp(-y) / (np.exp(-MAP_J) + np.exp(-y).sum())
    g = 2 * (z[None] - w)                      # dy_i/dz_k
    d = 2 - 2 * q.sum() + (q[:, None] * g ** 2).sum(0) - ((q[:, None] * g).sum(0)) ** 2
  else:
    raise ValueError(head_kind)
  return np.maximum(d, 0.0)


def np_dense_fwd(w, b, x):
  out = np.zeros(w.shape[1])
  for i in range(w.shape[1]):
    out[i] = b[i] + sum(w[j, i] * x[j] for j in range(w.shape[0]))
  return out


def np_dense_curv(w, x, c):
  """Returns (h_w, h_b, c_x) for a dense layer a_i = sum_j w_ji x_j + b_i."""
  hw = np.zeros_like(w)
  hb = np.zeros(w.shape[1])
  cx = np.zeros(w.shape[0])
  for i in range(w.shape[1]):
    hb[i] += c[i]
    for j in range(w.shape[0]):
      hw[j, i] += c[i] * x[j] ** 2
      cx[j] += w[j, i] ** 2 * c[i]
  return hw, hb, cx


def np_conv_fwd(w, b, x):
  k, _, cin, cout = w.shape
  n = x.shape[0] - k + 1
  out = np.zeros((n, n, cout))
  for r in range(n):
    for c in range(n):
      for o in range(cout):
        out[r, c, o] = b[o] + np.sum(x[r:r + k, c:c + k, :] * w[:, :, :, o])
  return out


def np_conv_curv(w, x, ca):
  """Shared weights: h_w sums c_a x^2 over every position that uses the weight."""
  k, _, cin, cout = w.shape
  n = ca.shape[0]
  hw, hb, cx = np.zeros_like(w), np.zeros(cout), np.zeros_like(x)
  for r in range(n):
    for c in range(n):
      for o in range(cout):
        hb[o] += ca[r, c, o]
        for di in range(k):
          for dj in range(k):
            for ci in range(cin):
              hw[di, dj, ci, o] += ca[r, c, o] * x[r + di, c + dj, ci] ** 2
              cx[r + di, c + dj, ci] += w[di, dj, ci, o] ** 2 * ca[r, c, o]
  return hw, hb, cx


def np_pool_fwd(kind, x, coef=None, bias=None):
  n = x.shape[0] // 2
  out = np.zeros((n, n, x.shape[2]))
  for r in range(n):
    for c in range(n):
      win = x[2 * r:2 * r + 2, 2 * c:2 * c + 2, :]
      if kind == "trainable":
        out[r, c] = coef * win.sum(axis=(0, 1)) + bias
      elif kind == "avg":
        out[r, c] = win.mean(axis=(0, 1))
      else:
        out[r, c] = win.max(axis=(0, 1))
  return out


def np_pool_curv(kind, x, ca, coef=None):
  n = ca.shape[0]
  m = x.shape[2]
  hc, hb, cx = np.zeros(m), np.zeros(m), np.zeros_like(x)
  for r in range(n):
    for c in range(n):
      for ch in range(m):
        win = x[2 * r:2 * r + 2, 2 * c:2 * c + 2, ch]
        for di in range(2):
          for dj in range(2):
            if kind == "trainable":
              hc[ch] += ca[r, c, ch] * win[di, dj] ** 2
              cx[2 * r + di, 2 * c + dj, ch] += coef[ch] ** 2 * ca[r, c, ch]
            elif kind == "avg":
              cx[2 * r + di, 2 * c + dj, ch] += 0.25 ** 2 * ca[r, c, ch]
            else:
              is_max = (di, dj) == np.unravel_index(np.argmax(win), (2, 2))
              cx[2 * r + di, 2 * c + dj, ch] += float(is_max) * ca[r, c, ch]
        if kind == "trainable":
          hb[ch] += ca[r, c, ch]
  return hc, hb, cx


# ---------------------------------------------------------------------------
# 1. A single linear layer with squared error: the estimate is exact
# ---------------------------------------------------------------------------


def _linear_setup(n, seed):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 3)).astype(np.float32)
  t = rng.normal(size=(n, 2)).astype(np.float32)
  params = {"L": {"w": jnp.asarray(rng.normal(size=(3, 2)).astype(np.float32)),
                  "b": jnp.asarray(rng.normal(size=(2,)).astype(np.float32))}}
  stage = dense_stage("L", 3, 2, None)
  return stage, params, x, t


@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 6])
def test_linear_layer_squared_error_exact(n):
  stage, params, x, t = _linear_setup(n, seed=n)
  h = gn_diag([stage], sq_head, params, jnp.asarray(x), jnp.asarray(t))
  x64 = x.astype(np.float64)
  ref_w = np.repeat((x64 ** 2).mean(axis=0)[:, None], 2, axis=1)   # mean_p x_pi^2
  assert_h_close(h["L"]["w"], ref_w)
  assert_h_close(h["L"]["b"], np.ones(2))

  # Exact Hessian of the batch-mean loss by jax.hessian on the flattened parameters.
  flat, unravel = ravel_pytree(params["L"])

  def loss(v):
    p = unravel(v)
    return sq_head(jnp.asarray(x) @ p["w"] + p["b"], jnp.asarray(t))

  exact = np.diagonal(np.asarray(jax.hessian(loss)(flat)))
  est, _ = ravel_pytree(h["L"])
  np.testing.assert_allclose(np.asarray(est), exact, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# 2. Multi-layer networks against the NumPy recursion
# ---------------------------------------------------------------------------


def _dense_net(seed):
  rng = np.random.default_rng(seed)
  stages = [dense_stage("D1", 5, 4, jnp.tanh),
            dense_stage("D2", 4, 3, ops.squash),
            dense_stage("D3", 3, 2, None)]
  params = {name: {"w": jnp.asarray(rng.normal(size=(fi, fo)).astype(np.float32) * 0.8),
                   "b": jnp.asarray(rng.normal(size=(fo,)).astype(np.float32) * 0.5)}
            for name, fi, fo in (("D1", 5, 4), ("D2", 4, 3), ("D3", 3, 2))}
  return stages, params


def np_dense_net_h(params, x, labels, head_kind):
  p = jax.tree.map(lambda v: np.asarray(v, np.float64), params)
  acc = {k: {"w": np.zeros_like(v["w"]), "b": np.zeros_like(v["b"])} for k, v in p.items()}
  P = x.shape[0]
  for n in range(P):
    x0 = x[n].astype(np.float64)
    a1 = np_dense_fwd(p["D1"]["w"], p["D1"]["b"], x0)
    x1 = np.tanh(a1)
    a2 = np_dense_fwd(p["D2"]["w"], p["D2"]["b"], x1)
    x2 = A * np.tanh(S * a2)
    a3 = np_dense_fwd(p["D3"]["w"], p["D3"]["b"], x2)
    c = np_out_curv(head_kind, a3, labels[n])
    hw, hb, c = np_dense_curv(p["D3"]["w"], x2, c)
    acc["D3"]["w"] += hw; acc["D3"]["b"] += hb
    c = np_squash_d(a2) ** 2 * c
    hw, hb, c = np_dense_curv(p["D2"]["w"], x1, c)
    acc["D2"]["w"] += hw; acc["D2"]["b"] += hb
    c = np_tanh_d(a1) ** 2 * c
    hw, hb, c = np_dense_curv(p["D1"]["w"], x0, c)
    acc["D1"]["w"] += hw; acc["D1"]["b"] += hb
  return jax.tree.map(lambda v: v / P, acc)


def _labels(head_kind, rng, n):
  if head_kind == "rbf_map":
    return rng.integers(0, 3, n).astype(np.int32)
  return (rng.normal(size=(n, 2)) * 2.5).astype(np.float32)


@pytest.mark.parametrize("head_kind", ["sq", "cos", "rbf_map"])
def test_dense_network_matches_numpy_recursion(head_kind):
  stages, params = _dense_net(seed=10)
  rng = np.random.default_rng(11)
  x = rng.normal(size=(7, 5)).astype(np.float32)
  labels = _labels(head_kind, rng, 7)
  head_loss = {"sq": sq_head, "cos": cos_head, "rbf_map": rbf_map_head}[head_kind]
  h = gn_diag(stages, head_loss, params, jnp.asarray(x), jnp.asarray(labels))
  ref = np_dense_net_h(params, x, labels, head_kind)
  assert set(h) == set(ref)
  for name in ref:
    for k in ("w", "b"):
      assert_h_close(h[name][k], ref[name][k])
      assert np.all(np.asarray(h[name][k]) >= 0)
  if head_kind == "cos":
    # The clipping is exercised: some output curvatures are negative before the clip.
    a3 = []
    p = jax.tree.map(lambda v: np.asarray(v, np.float64), params)
    for n in range(7):
      a1 = np.tanh(np_dense_fwd(p["D1"]["w"], p["D1"]["b"], x[n].astype(np.float64)))
      a2 = A * np.tanh(S * np_dense_fwd(p["D2"]["w"], p["D2"]["b"], a1))
      a3.append(np_dense_fwd(p["D3"]["w"], p["D3"]["b"], a2))
    curv = np.cos(np.array(a3) - labels)
    assert (curv < 0).any() and (curv > 0).any()


@pytest.mark.slow
def test_dense_network_fprime_matters_and_last_layer_is_exact():
  """Dropping the activations (f' = 1) changes the first layer's estimate; for the linear
  network the last layer's estimate is the exact Hessian diagonal."""
  stages, params = _dense_net(seed=12)
  rng = np.random.default_rng(13)
  x = rng.normal(size=(5, 5)).astype(np.float32)
  t = _labels("sq", rng, 5)
  h = gn_diag(stages, sq_head, params, jnp.asarray(x), jnp.asarray(t))
  # A variant with linear activations (f' = 1) must differ from the real estimate for D1.
  lin = [s._replace(act=None) for s in stages]
  h_lin = gn_diag(lin, sq_head, params, jnp.asarray(x), jnp.asarray(t))
  assert np.abs(np.asarray(h["D1"]["w"]) - np.asarray(h_lin["D1"]["w"])).max() > 1e-3
  # For the all-linear network with squared error, the Gauss-Newton diagonal is the exact
  # Hessian diagonal only for the last layer; check it there against jax.hessian.
  flat, unravel = ravel_pytree(params["D3"])

  def loss(v):
    p = dict(params, D3=unravel(v))
    return sq_head(run_stages(lin, p, jnp.asarray(x)), jnp.asarray(t))

  exact = np.diagonal(np.asarray(jax.hessian(loss)(flat)))
  np.testing.assert_allclose(np.asarray(ravel_pytree(h_lin["D3"])[0]), exact, rtol=1e-4,
                             atol=1e-6)


@pytest.mark.parametrize("pooling", ["trainable", "avg", "max"])
def test_conv_pool_network_matches_numpy_recursion(pooling):
  """conv 3x3 (6x6x2 -> 4x4x3, tanh) -> 2x2 pooling (the model's own pool stages) ->
  dense 12 -> 3 (squash) -> dense 3 -> 2, squared error."""
  rng = np.random.default_rng(20)
  stages = [conv_stage("C", 3, 2, 3, jnp.tanh),
            _pool_stage("P", 3, 2, pooling, ops.squash),
            dense_stage("D", 12, 3, ops.squash, flatten=True),
            dense_stage("O", 3, 2, None)]
  params = {"C": {"w": rng.normal(size=(3, 3, 2, 3)) * 0.4, "b": rng.normal(size=(3,)) * 0.3},
            "D": {"w": rng.normal(size=(12, 3)) * 0.5, "b": rng.normal(size=(3,)) * 0.3},
            "O": {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=(2,)) * 0.3}}
  if pooling == "trainable":
    params["P"] = {"coef": rng.normal(size=(3,)) * 0.5, "bias": rng.normal(size=(3,)) * 0.3}
  params = jax.tree.map(lambda v: jnp.asarray(np.asarray(v, np.float32)), params)
  x = rng.normal(size=(4, 6, 6, 2)).astype(np.float32)
  t = (rng.normal(size=(4, 2)) * 2).astype(np.float32)
  h = gn_diag(stages, sq_head, params, jnp.asarray(x), jnp.asarray(t))

  p = jax.tree.map(lambda v: np.asarray(v, np.float64), params)
  acc = jax.tree.map(np.zeros_like, p)
  for n in range(4):
    x0 = x[n].astype(np.float64)
    a1 = np_conv_fwd(p["C"]["w"], p["C"]["b"], x0)
    x1 = np.tanh(a1)
    if pooling == "trainable":
      a2 = np_pool_fwd("trainable", x1, p["P"]["coef"], p["P"]["bias"])
      x2 = A * np.tanh(S * a2)
    else:
      x2 = np_pool_fwd(pooling, x1)
    a3 = np_dense_fwd(p["D"]["w"], p["D"]["b"], x2.reshape(-1))
    x3 = A * np.tanh(S * a3)
    a4 = np_dense_fwd(p["O"]["w"], p["O"]["b"], x3)
    c = np_out_curv("sq", a4, t[n])
    hw, hb, c = np_dense_curv(p["O"]["w"], x3, c)
    acc["O"]["w"] += hw; acc["O"]["b"] += hb
    c = np_squash_d(a3) ** 2 * c
    hw, hb, c = np_dense_curv(p["D"]["w"], x2.reshape(-1), c)
    acc["D"]["w"] += hw; acc["D"]["b"] += hb
    c = c.reshape(x2.shape)
    if pooling == "trainable":
      c = np_squash_d(a2) ** 2 * c
      hc, hbias, c = np_pool_curv("trainable", x1, c, p["P"]["coef"])
      acc["P"]["coef"] += hc; acc["P"]["bias"] += hbias
    else:
      _, _, c = np_pool_curv(pooling, x1, c)
    c = np_tanh_d(a1) ** 2 * c
    hw, hb, _ = np_conv_curv(p["C"]["w"], x0, c)
    acc["C"]["w"] += hw; acc["C"]["b"] += hb
  ref = jax.tree.map(lambda v: v / 4, acc)
  assert set(h) == set(ref)
  for name in ref:
    for k in ref[name]:
      assert_h_close(h[name][k], ref[name][k])


# ---------------------------------------------------------------------------
# 3. The real LeNet-5: h >= 0 everywhere
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [{}, {"pooling": "max", "activation": "relu"}])
def test_lenet5_hessian_nonnegative_and_finite(kw):
  m = LeNet5(**kw)
  params = m.init(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 1)))["params"]
  rng = np.random.default_rng(30)
  x = jnp.asarray(rng.uniform(-0.1, 1.175, size=(3, 32, 32, 1)).astype(np.float32))
  y = jnp.asarray(rng.integers(0, 10, 3).astype(np.int32))
  hd = head("rbf_bitmap", m.prototypes())
  head_loss = lambda z, t: losses.map_loss(hd(z), t)
  h = gn_diag(m.stages(), head_loss, params, x, y)
  assert jax.tree.structure(h) == jax.tree.structure(params)
  for path, v in jax.tree_util.tree_leaves_with_path(h):
    v = np.asarray(v)
    assert np.isfinite(v).all(), path
    assert v.min() >= 0.0, path
  # not all zero: every layer's biases receive some curvature
  for name in params:
    leaves = jax.tree_util.tree_leaves(h[name])
    assert max(float(np.asarray(v).max()) for v in leaves) > 0, name


# ---------------------------------------------------------------------------
# 4. The update rule
# ---------------------------------------------------------------------------


def _tree(rng):
  return {"a": {"w": rng.normal(size=(3, 2)).astype(np.float32)},
          "b": rng.normal(size=(4,)).astype(np.float32)}


def test_update_is_minus_eta_over_mu_plus_h_times_grad():
  rng = np.random.default_rng(40)
  params = jax.tree.map(jnp.asarray, _tree(rng))
  grads = jax.tree.map(jnp.asarray, _tree(rng))
  hess = jax.tree.map(lambda v: jnp.abs(v) * 3, _tree(rng))
  mu = 0.02
  sched = sdlm.paper_schedule(2)      # boundaries at steps 4, 10, 16, 24
  tx = sdlm.sdlm(sched, mu=mu)
  update = jax.jit(tx.update)
  state = tx.init(params)
  # Before set_hessian: h = 0, update = -eta/mu g.
  upd, state = update(grads, state, params)
  for u, g in zip(jax.tree_util.tree_leaves(upd), jax.tree_util.tree_leaves(grads)):
    np.testing.assert_allclose(np.asarray(u), -0.0005 / mu * np.asarray(g, np.float64),
                               rtol=1e-6)
  assert int(state.count) == 1
  state = sdlm.set_hessian(state, hess)
  for leaf_got, leaf_ref in zip(jax.tree_util.tree_leaves(sdlm.get_hessian(state)),
                                jax.tree_util.tree_leaves(hess)):
    np.testing.assert_array_equal(np.asarray(leaf_got), np.asarray(leaf_ref))
  expected_eta = {1: 0.0005, 2: 0.0005, 3: 0.0005, 4: 0.0002, 5: 0.0002, 9: 0.0002,
                  10: 0.0001}
  for count in range(1, 11):
    assert int(state.count) == count
    upd, state = update(grads, state, params)
    if count in expected_eta:
      eta = expected_eta[count]
      for u, g, hh in zip(*(jax.tree_util.tree_leaves(t) for t in (upd, grads, hess))):
        ref = -eta / (mu + np.asarray(hh, np.float64)) * np.asarray(g, np.float64)
        np.testing.assert_allclose(np.asarray(u), ref, rtol=1e-6)
  assert int(state.count) == 11


def test_update_constant_rate_and_mu():
  g = {"w": jnp.asarray([1.0, -2.0, 0.5])}
  h = {"w": jnp.asarray([0.0, 0.98, 4.98])}
  tx = sdlm.sdlm(0.1, mu=0.02)
  state = sdlm.set_hessian(tx.init(g), h)
  upd, _ = tx.update(g, state)
  # -0.1/(0.02 + h) * g = [-5, 0.2, -0.01]
  np.testing.assert_allclose(np.asarray(upd["w"]), [-5.0, 0.2, -0.01], rtol=1e-6)


def test_sdlm_inside_chain():
  rng = np.random.default_rng(41)
  params = jax.tree.map(jnp.asarray, _tree(rng))
  grads = jax.tree.map(jnp.asarray, _tree(rng))
  hess = jax.tree.map(lambda v: jnp.abs(v), _tree(rng))
  tx = optax.chain(optax.identity(), sdlm.sdlm(0.001, mu=0.5), optax.scale(2.0))
  state = tx.init(params)
  state = sdlm.set_hessian(state, hess)
  got_h = sdlm.get_hessian(state)
  for a, b in zip(jax.tree_util.tree_leaves(got_h), jax.tree_util.tree_leaves(hess)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  upd, state = tx.update(grads, state, params)
  for u, g, hh in zip(*(jax.tree_util.tree_leaves(t) for t in (upd, grads, hess))):
    ref = 2.0 * -0.001 / (0.5 + np.asarray(hh, np.float64)) * np.asarray(g, np.float64)
    np.testing.assert_allclose(np.asarray(u), ref, rtol=1e-6)
  # The hessian survives the update (held fixed within a pass).
  for a, b in zip(jax.tree_util.tree_leaves(sdlm.get_hessian(state)),
                  jax.tree_util.tree_leaves(hess)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # jit-compatible
  upd2, _ = jax.jit(tx.update)(grads, state, params)
  for a, b in zip(jax.tree_util.tree_leaves(upd2), jax.tree_util.tree_leaves(upd)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


# ---------------------------------------------------------------------------
# 5. The paper's eta schedule
# ---------------------------------------------------------------------------


def test_paper_schedule_steps_per_pass_10():
  sched = sdlm.paper_schedule(steps_per_pass=10)
  # passes 1-2: 0.0005, 3-5: 0.0002, 6-8: 0.0001, 9-12: 0.00005, 13+: 0.00001 (the paper)
  expected = [(0, 19, 0.0005), (20, 49, 0.0002), (50, 79, 0.0001), (80, 119, 0.00005),
              (120, 300, 0.00001)]
  for lo, hi, eta in expected:
    for step in range(lo, hi + 1):
      assert float(sched(step)) == pytest.approx(eta, rel=1e-6), step


def test_paper_schedule_per_pass_table():
  """Pass p (1-based) with one step per pass gets the paper's eta for that pass."""
  paper = {1: 5e-4, 2: 5e-4, 3: 2e-4, 4: 2e-4, 5: 2e-4, 6: 1e-4, 7: 1e-4, 8: 1e-4,
           9: 5e-5, 10: 5e-5, 11: 5e-5, 12: 5e-5, 13: 1e-5, 20: 1e-5}
  sched = sdlm.paper_schedule(steps_per_pass=1)
  for p, eta in paper.items():
    assert float(sched(p - 1)) == pytest.approx(eta, rel=1e-6), p
