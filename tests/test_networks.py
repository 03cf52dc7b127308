"""The networks of Figure 9 (lenet_jax.networks): their counts against the paper's, and each
network's forward pass and SDLM curvature pass against a float64 NumPy reference written here
from the layer definitions (windows cut by a loop over kernel offsets; the paper's curvature
rule d2E/da^2 = f'(a)^2 d2E/dx^2, d2E/dw^2 = sum over the connections of d2E/da^2 x^2,
d2E/dx^2 = sum over the outgoing connections of w^2 d2E/da^2, averaged over patterns).

The models run in float32: forward outputs agree to 1e-4 relative, curvatures to 1e-3 relative
with an absolute floor of 1e-6 of the tensor's largest value.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lenet_jax import networks, paper, sdlm, tables
from lenet_jax.losses import map_loss, mse_loss
from lenet_jax.model import Network, describe, head

A, S = 1.7159, 2.0 / 3.0


# --- counts: the paper's numbers, typed here -------------------------------------------------

FULLY_CONNECTED = {  # (hidden, side): parameters = connections, from Figures 9, 11 and 12
    ((300,), 28): 784 * 300 + 300 + 300 * 10 + 10,                       # 238,510
    ((1000,), 28): 784 * 1000 + 1000 + 1000 * 10 + 10,                   # 795,010
    ((300, 100), 28): 266_610,
    ((500, 150), 28): 469_160,
    ((300,), 20): 123_310,                                               # 400-300-10
}


@pytest.mark.parametrize("hidden,side", list(FULLY_CONNECTED))
def test_fully_connected_counts_are_the_papers(hidden, side):
  total = describe(Network(network="mlp", hidden=hidden, side=side, output="squash"))[-1]
  assert total["params"] == total["connections"] == FULLY_CONNECTED[(hidden, side)]


def test_lenet1_counts_are_the_papers_exactly():
  # "4635 units, 98442 connections, and 2578 independent parameters" (LeCun et al. 1990).
  total = describe(Network(network="lenet1", side=28, output="squash"))[-1]
  assert (total["units"], total["connections"], total["params"]) == (4635, 98_442, 2_578)


def test_lenet4_counts_within_5_percent_of_the_papers():
  # "about 260,000 connections and ... about 17,000 free parameters".
  total = describe(Network(network="lenet4", output="squash"))[-1]
  assert abs(total["params"] - 17_000) <= 0.05 * 17_000
  assert abs(total["connections"] - 260_000) <= 0.05 * 260_000


def test_lenet5_local_counts():
  # Every position of C1 (28x28 x 6 maps of 25 + 1) and C3 (10x10 x Table I's 60 kernels of 25
  # and 16 biases) has its own weights; the other layers are LeNet-5's.
  rows = {r["layer"]: r for r in describe(Network(network="lenet5_local", output="rbf_bitmap"))}
  assert rows["C1"]["params"] == rows["C1"]["connections"] == 28 * 28 * 6 * 26
  assert rows["C3"]["params"] == rows["C3"]["connections"] == 100 * (60 * 25 + 16)
  lenet5 = {r["layer"]: r for r in describe(Network())}
  assert rows["total"]["connections"] == lenet5["total"]["connections"] == paper.CONNECTIONS
  assert rows["total"]["params"] == 60_000 - 156 - 1_516 + 122_304 + 151_600


def _typed(rows):
  return np.array([[c == "X" for c in row] for row in rows.split()])


def test_connection_tables_are_the_chosen_ones():
  # Typed here: a change of connectivity fails this test even where the counts stay the same.
  assert (tables.LENET1_H3 == _typed("""
      X.XXXX...... .XXXXX...... ......X.XXXX .......XXXXX""")).all()
  assert tables.LENET1_H3.sum() == 20   # 20 of the 48 possible kernels (LeCun et al. 1990)
  assert (tables.LENET4_C3 == _typed("""
      X..XX..XX..XX..X X..XX..XX..XX... XX..XX..XX..XX.. XX..XX..XX...X..
      .XX..XX..XX..XX. .XX..XX..XX...X. ..XX..XX..XX..XX ..XX..XX..XX...X""")).all()
  # F5 unit u reads 5 consecutive S4 maps from u mod 16 (u < 80), else 4.
  for u in range(120):
    want = {(u + i) % 16 for i in range(5 if u < 80 else 4)}
    assert set(np.flatnonzero(tables.LENET4_F5[:, u])) == want, u


# --- float64 NumPy references ----------------------------------------------------------------

def f(a):
  return A * np.tanh(S * a)


def f_prime(a):
  return A * S * (1.0 - np.tanh(S * a) ** 2)


def windows(x, k):
  """(N, H, W, C) -> (N, oh, ow, k, k, C): each output position's window, by kernel offsets."""
  n, h, w, c = x.shape
  oh, ow = h - k + 1, w - k + 1
  out = np.zeros((n, oh, ow, k, k, c))
  for a in range(k):
    for b in range(k):
      out[:, :, :, a, b, :] = x[:, a:a + oh, b:b + ow, :]
  return out


def dense_kernel(w, table, lead):
  """The compact kernels (lead..., n_connections) placed into (lead..., cin, cout)."""
  rows, cols = np.nonzero(table)
  full = np.zeros(lead + table.shape)
  for i, (r, c) in enumerate(zip(rows, cols)):
    full[..., r, c] = w[..., i]
  return full


def compact(full, table):
  rows, cols = np.nonzero(table)
  return np.stack([full[..., r, c] for r, c in zip(rows, cols)], axis=-1)


class Conv:
  def __init__(self, k, table=None, local=False):
    self.k, self.table, self.local = k, table, local

  def weights(self, p):
    w = np.asarray(p["w"], np.float64)
    if self.table is None:
      return w
    return dense_kernel(w, self.table, w.shape[:-1])

  def fwd(self, p, x):
    win, w = windows(x, self.k), self.weights(p)
    spec = "npqabc,pqabco->npqo" if self.local else "npqabc,abco->npqo"
    return np.einsum(spec, win, w) + np.asarray(p["b"], np.float64)

  def curv(self, p, x, ca):
    win, w, k = windows(x, self.k), self.weights(p), self.k
    if self.local:
      hw, hb = np.einsum("npqabc,npqo->pqabco", win ** 2, ca), ca.sum(0)
    else:
      hw, hb = np.einsum("npqabc,npqo->abco", win ** 2, ca), ca.sum((0, 1, 2))
    cx = np.zeros_like(x)
    oh, ow = ca.shape[1:3]
    for a in range(k):
      for b in range(k):
        w2 = w[:, :, a, b] ** 2 if self.local else w[a, b] ** 2
        spec = "npqo,pqco->npqc" if self.local else "npqo,co->npqc"
        cx[:, a:a + oh, b:b + ow] += np.einsum(spec, ca, w2)
    if self.table is not None:
      hw = compact(hw, self.table)
    return {"w": hw, "b": hb}, cx


class Sub:
  """The paper's trainable subsampling: coef * (2x2 sum of the source map) + bias."""
  def __init__(self, source=None):
    self.source = source

  def pick(self, x):
    return x if self.source is None else x[..., list(self.source)]

  def fwd(self, p, x):
    xs = self.pick(x)
    n, h, w, c = xs.shape
    sums = xs.reshape(n, h // 2, 2, w // 2, 2, c).sum((2, 4))
    return sums * np.asarray(p["coef"], np.float64) + np.asarray(p["bias"], np.float64)

  def curv(self, p, x, ca):
    xs = self.pick(x)
    n, h, w, c = xs.shape
    sq = (xs ** 2).reshape(n, h // 2, 2, w // 2, 2, c).sum((2, 4))
    coef = np.asarray(p["coef"], np.float64)
    cxs = np.repeat(np.repeat(ca * coef ** 2, 2, 1), 2, 2)
    cx = np.zeros_like(x)
    for k, m in enumerate(self.source or range(c)):
      cx[..., m] += cxs[..., k]
    return {"coef": (ca * sq).sum((0, 1, 2)), "bias": ca.sum((0, 1, 2))}, cx


class Dense:
  def fwd(self, p, x):
    return x.reshape(x.shape[0], -1) @ np.asarray(p["w"], np.float64) + np.asarray(p["b"],
                                                                                 np.float64)

  def curv(self, p, x, ca):
    flat = x.reshape(x.shape[0], -1)
    w = np.asarray(p["w"], np.float64)
    return {"w": (flat ** 2).T @ ca, "b": ca.sum(0)}, (ca @ (w ** 2).T).reshape(x.shape)


REFERENCE = {  # the layers of each network, written from the module docstring's descriptions
    "lenet1": [("H1", Conv(5)), ("H2", Sub()), ("H3", Conv(5, tables.LENET1_H3)),
               ("H4", Sub()), ("OUTPUT", Dense())],
    "lenet4": [("C1", Conv(5)), ("S2", Sub((0, 0, 1, 1, 2, 2, 3, 3))),
               ("C3", Conv(5, tables.LENET4_C3)), ("S4", Sub()), ("F5", Conv(5, tables.LENET4_F5)),
               ("OUTPUT", Dense())],
    "mlp": [("H1", Dense()), ("H2", Dense()), ("OUTPUT", Dense())],
    "lenet5_local": [("C1", Conv(5, np.ones((1, 6), bool), local=True)), ("S2", Sub()),
                     ("C3", Conv(5, tables.C3_PARTIAL, local=True)), ("S4", Sub()),
                     ("C5", Conv(5)), ("F6", Dense())],
}
SETUPS = {  # network -> Network fields
    "lenet1": dict(network="lenet1", side=28, output="squash"),
    "lenet4": dict(network="lenet4", output="squash"),
    "mlp": dict(network="mlp", hidden=(30, 20), side=12, output="squash"),
    "lenet5_local": dict(network="lenet5_local", output="rbf_bitmap"),
}


def reference(name, params, x, labels, j=0.1):
  """(scores, h) of the network `name` in float64: forward, then the curvature recursion from
  the exact diagonal of the loss's Hessian w.r.t. the last stage's outputs."""
  p = jax.tree.map(lambda v: np.asarray(v, np.float64), params)
  inputs, pre, h = [], [], np.asarray(x, np.float64)
  for layer, op in REFERENCE[name]:
    inputs.append(h)
    a = op.fwd(p[layer], h)
    pre.append(a)
    h = f(a)
  if name == "lenet5_local":
    protos = tables.bitmap_prototypes().astype(np.float64)
    y = ((h[:, None, :] - protos[None]) ** 2).sum(-1)
    q = np.exp(-y) / (np.exp(-j) + np.exp(-y).sum(1, keepdims=True))
    g = 2 * (h[:, None, :] - protos[None])
    c = 2 - 2 * q.sum(1, keepdims=True) + (q[..., None] * g ** 2).sum(1) \
        - (q[..., None] * g).sum(1) ** 2
    c, scores = np.maximum(c, 0.0), y
  else:
    c, scores = np.full_like(h, 2.0), h    # sum_k (z_k - t_k)^2: d2/dz_k^2 = 2
  hess = {}
  for (layer, op), xin, a in zip(reversed(REFERENCE[name]), reversed(inputs), reversed(pre)):
    c = c * f_prime(a) ** 2
    hess[layer], c = op.curv(p[layer], xin, c)
  return scores, jax.tree.map(lambda v: v / x.shape[0], hess)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(REFERENCE))
def test_forward_and_curvature_match_the_numpy_reference(name):
  model = Network(weight_init="fan_in", **SETUPS[name])
  rng = np.random.default_rng(3)
  x = rng.uniform(-0.1, 1.175, (3, *model.input_shape)).astype(np.float32)
  labels = np.array([1, 7, 4])
  params = model.init(jax.random.PRNGKey(1), jnp.zeros((1, *model.input_shape)))["params"]
  # Biases and coefficients away from the init's special values, so that every term counts.
  params = jax.tree.map(lambda v: v + 0.05 * jnp.asarray(rng.standard_normal(v.shape),
                                                           jnp.float32), params)
  ref_scores, ref_h = reference(name, params, x, labels)
  scores = jax.jit(lambda p, v: model.apply({"params": p}, v))(params, x)
  np.testing.assert_allclose(np.asarray(scores), ref_scores, rtol=1e-4, atol=1e-4)

  out = head(model.output, model.prototypes())
  loss = (lambda z, t: map_loss(out(z), t, 0.1)) if name == "lenet5_local" else mse_loss
  got = jax.jit(lambda p, v, t: sdlm.gauss_newton_diag(model.stages(), loss, p, v, t))(
      params, x, labels)
  assert set(got) == set(ref_h)
  for layer in ref_h:
    for k, ref in ref_h[layer].items():
      g = np.asarray(got[layer][k], np.float64)
      assert g.shape == ref.shape, (layer, k)
      np.testing.assert_allclose(g, ref, rtol=1e-3, atol=1e-6 * np.abs(ref).max(),
                                 err_msg=f"{name} {layer}/{k}")


def test_unknown_network_and_bad_hidden_are_refused():
  with pytest.raises(ValueError, match="unknown network"):
    networks.build_stages("lenet7")
  with pytest.raises(ValueError, match="hidden"):
    networks.build_stages("mlp", hidden=(0,), output="squash")
  with pytest.raises(ValueError, match="84"):
    networks.build_stages("lenet4", output="rbf_bitmap")
