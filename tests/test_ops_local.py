"""ops.local2d, the locally connected ("unshared") layer, against a float64 NumPy loop reference.

y[i, j, o] = sum_{a, c, k} x[i + a, j + c, k] * w[i, j, a, c, k, o] + b[i, j, o], with a
(Cin, Cout) connection table zeroing unconnected kernels.

Tolerance: |got - ref| <= 3e-5 * S + 1e-6, where S is the same sum over the absolute values of
its terms. The longest sum here has 400 terms (an input gradient of C3: 25 positions times 16
maps), so float32 accumulation error is below 400 * 6e-8 * S; jit and vmap are held to the same
bound against per-example calls (XLA may change the accumulation order when batching).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lenet_jax import ops

# LeNet-5's C3 connection table (LeCun et al. 1998, Table I): rows S2 maps, columns C3 maps.
_C3 = ["X...XXX..XXXX.XX", "XX...XXX..XXXX.X", "XXX...XXX..X.XXX",
       ".XXX..XXXX..X.XX", "..XXX..XXXX.XX.X", "...XXX..XXXX.XXX"]
C3_TABLE = np.array([[ch == "X" for ch in row] for row in _C3])

# (H, W, Cin), (kh, kw, Cout): LeNet-5's unshared C1 and C3, non-square shapes, one position
# (the whole input as one window), one row of positions, 1x1 kernels.
SHAPES = {"C1": ((32, 32, 1), (5, 5, 6)), "C3": ((14, 14, 6), (5, 5, 16)),
          "5x7x2": ((5, 7, 2), (3, 2, 3)), "one window": ((4, 3, 3), (4, 3, 2)),
          "one row": ((3, 6, 2), (3, 2, 4)), "1x1": ((4, 5, 3), (1, 1, 2))}


def make(shape, seed, models=None):
  """float32 x, w, b and an output cotangent g for one (H, W, Cin), (kh, kw, Cout) shape."""
  (h, wd, cin), (kh, kw, cout) = shape
  oh, ow = h - kh + 1, wd - kw + 1
  lead = () if models is None else (models,)
  rng = np.random.default_rng(seed)
  return [rng.normal(size=lead + s).astype(np.float32)
          for s in ((h, wd, cin), (oh, ow, kh, kw, cin, cout), (oh, ow, cout), (oh, ow, cout))]


def ref_local2d(x, w, b, g, connections=None):
  """float64 loops: y = local2d(x, w, b) and the gradients of sum(g * y) with respect to x, w
  and b, each as (value, sum of its terms' absolute values)."""
  x, w, b, g = (np.asarray(v, np.float64) for v in (x, w, b, g))
  oh, ow, kh, kw, cin, cout = w.shape
  if connections is not None:
    w = w * np.asarray(connections, np.float64)
  y, y_abs = b.copy(), np.abs(b)
  dx, dx_abs = np.zeros_like(x), np.zeros_like(x)
  dw, dw_abs = np.zeros_like(w), np.zeros_like(w)
  for i in range(oh):
    for j in range(ow):
      for a in range(kh):
        for c in range(kw):
          pixel, kernel = x[i + a, j + c], w[i, j, a, c]   # (cin,), (cin, cout)
          y[i, j] += pixel @ kernel
          y_abs[i, j] += np.abs(pixel) @ np.abs(kernel)
          dx[i + a, j + c] += kernel @ g[i, j]
          dx_abs[i + a, j + c] += np.abs(kernel) @ np.abs(g[i, j])
          dw[i, j, a, c] = np.outer(pixel, g[i, j])
          dw_abs[i, j, a, c] = np.abs(dw[i, j, a, c])
  if connections is not None:
    dw = dw * np.asarray(connections, np.float64)   # an unconnected kernel's weights are unused
  return [(y, y_abs), (dx, dx_abs), (dw, dw_abs), (g, np.abs(g))]


def assert_close_scaled(got, ref, scale, rel=3e-5, floor=1e-6, what=""):
  got = np.asarray(got, np.float64)
  assert got.shape == ref.shape, (what, got.shape, ref.shape)
  err = np.abs(got - ref)
  bad = err > rel * scale + floor
  assert not bad.any(), f"{what}: max err {err.max():.3g} at {np.argwhere(bad)[0]}"


def value_and_grads(x, w, b, g, **kwargs):
  y, vjp = jax.vjp(lambda x, w, b: ops.local2d(x, w, b, **kwargs), x, w, b)
  return (y, *vjp(g))


def table_for(shape, seed):
  """C3's table at C3's shape, else a random one with every output map connected somewhere."""
  (_, _, cin), (_, _, cout) = shape
  if (cin, cout) == C3_TABLE.shape:
    return C3_TABLE
  table = np.random.default_rng(seed).random((cin, cout)) < 0.5
  table[0] = True
  return table


@pytest.mark.parametrize("connected", [False, True], ids=["full", "table"])
@pytest.mark.parametrize("name", list(SHAPES))
def test_local2d_value_and_gradients_match_loop_reference(name, connected):
  x, w, b, g = make(SHAPES[name], seed=len(name))
  kwargs = {"connections": table_for(SHAPES[name], 1)} if connected else {}
  got = jax.jit(lambda *a: value_and_grads(*a, **kwargs))(x, w, b, g)
  refs = ref_local2d(x, w, b, g, kwargs.get("connections"))
  for what, out, (ref, scale) in zip(("y", "dx", "dw", "db"), got, refs):
    assert out.dtype == jnp.float32
    assert_close_scaled(out, ref, scale, what=what)


def test_local2d_without_bias_is_the_sum_alone():
  x, w, b, g = make(SHAPES["5x7x2"], seed=2)
  (ref, scale), *_ = ref_local2d(x, w, np.zeros_like(b), g)
  assert_close_scaled(ops.local2d(x, w), ref, scale)
  assert_close_scaled(ops.local2d(x, w, None, connections=np.ones((2, 3), bool)), ref, scale)


def test_each_position_reads_only_its_own_weights():
  # The layer's defining property: changing one position's kernels changes that output only.
  x, w, b, _ = make(SHAPES["C3"], seed=3)
  w2 = w.copy()
  w2[4, 7] += 1.0
  y, y2 = (np.asarray(ops.local2d(x, ww, b)) for ww in (w, w2))
  changed = np.abs(y2 - y).max(axis=-1) > 1e-3
  assert changed[4, 7] and changed.sum() == 1


@pytest.mark.parametrize("connected", [False, True], ids=["full", "table"])
@pytest.mark.parametrize("name", ["C1", "C3", "5x7x2", "one window"])
def test_local2d_with_equal_weights_everywhere_is_conv2d(name, connected):
  (h, wd, cin), (kh, kw, cout) = SHAPES[name]
  oh, ow = h - kh + 1, wd - kw + 1
  rng = np.random.default_rng(4)
  x = rng.normal(size=(h, wd, cin)).astype(np.float32)
  kernel = rng.normal(size=(kh, kw, cin, cout)).astype(np.float32)
  bias = rng.normal(size=(cout,)).astype(np.float32)
  kwargs = {"connections": table_for(SHAPES[name], 5)} if connected else {}
  local = ops.local2d(x, np.broadcast_to(kernel, (oh, ow) + kernel.shape),
                      np.broadcast_to(bias, (oh, ow, cout)), **kwargs)
  shared = ops.conv2d(x, kernel, bias, **kwargs)
  scale = ref_local2d(x, np.broadcast_to(kernel, (oh, ow) + kernel.shape),
                      np.broadcast_to(bias, (oh, ow, cout)), np.zeros((oh, ow, cout)),
                      kwargs.get("connections"))[0][1]
  assert_close_scaled(local, np.asarray(shared, np.float64), 2 * scale)


@pytest.mark.parametrize("connected", [False, True], ids=["full", "table"])
def test_local2d_jit_and_batched_agree_with_per_example_calls(connected):
  shape = SHAPES["C3"]
  kwargs = {"connections": C3_TABLE} if connected else {}
  xs = np.random.default_rng(6).normal(size=(5,) + shape[0]).astype(np.float32)
  _, w, b, g = make(shape, seed=7)
  per = np.stack([np.asarray(ops.local2d(x, w, b, **kwargs)) for x in xs])
  scale = np.stack([ref_local2d(x, w, b, g, kwargs.get("connections"))[0][1] for x in xs])
  jitted = np.stack([np.asarray(jax.jit(lambda *a: ops.local2d(*a, **kwargs))(x, w, b))
                     for x in xs])
  batched = ops.batched(ops.local2d, **kwargs)
  assert per.shape == (5, 10, 10, 16)
  for what, other in (("jit", jitted), ("batched", batched(xs, w, b)),
                      ("jit of batched", jax.jit(batched)(xs, w, b))):
    assert_close_scaled(other, per.astype(np.float64), scale, what=what)


@pytest.mark.parametrize("name", ["C1", "C3"])
def test_local2d_vmapped_over_models_matches_loop_reference(name):
  # Models with their own weights, each on its own batch (how lanes train): values and
  # gradients of every model against the reference.
  models, batch = 2, 3
  shape = SHAPES[name]
  kwargs = {"connections": C3_TABLE} if name == "C3" else {}
  x, w, b, _ = make(shape, seed=8, models=models)
  xs = np.random.default_rng(9).normal(size=(models, batch) + shape[0]).astype(np.float32)
  gs = np.random.default_rng(10).normal(size=(models, batch) + b.shape[1:]).astype(np.float32)

  def model_value_and_grads(xs, w, b, gs):
    ys, vjp = jax.vjp(lambda xs, w, b: ops.batched(ops.local2d, **kwargs)(xs, w, b), xs, w, b)
    return (ys, *vjp(gs))

  ys, dxs, dw, db = jax.jit(jax.vmap(model_value_and_grads))(xs, w, b, gs)
  for m in range(models):
    refs = [ref_local2d(xs[m, n], w[m], b[m], gs[m, n], kwargs.get("connections"))
            for n in range(batch)]
    for n in range(batch):
      assert_close_scaled(ys[m, n], *refs[n][0], what=f"y {m} {n}")
      assert_close_scaled(dxs[m, n], *refs[n][1], what=f"dx {m} {n}")
    # Weights are shared by a model's batch: their gradients add up over it.
    for what, got, k in (("dw", dw, 2), ("db", db, 3)):
      ref = sum(r[k][0] for r in refs)
      scale = sum(r[k][1] for r in refs)
      assert_close_scaled(got[m], ref, scale, what=f"{what} {m}")


@pytest.mark.parametrize("x_shape, w_shape, b_shape, table_shape, words", [
    ((5, 5), (3, 3, 3, 3, 1, 2), None, None, ["(H, W, Cin)"]),
    ((5, 5, 1), (3, 3, 1, 2), None, None, ["(oh, ow, kh, kw, Cin, Cout)"]),
    ((5, 5, 2), (3, 3, 3, 3, 1, 2), None, None, ["(3, 3, 3, 3, 2, Cout)"]),
    ((5, 6, 1), (3, 3, 3, 3, 1, 2), None, None, ["(3, 4, 3, 3, 1, Cout)"]),
    ((5, 5, 1), (0, 0, 6, 6, 1, 2), None, None, ["6x6"]),
    ((5, 5, 1), (3, 3, 3, 3, 1, 2), (2,), None, ["(3, 3, 2)", "(2,)"]),
    ((5, 5, 1), (3, 3, 3, 3, 1, 2), None, (2, 1), ["(1, 2)", "(2, 1)"]),
])
def test_local2d_rejects_shapes_that_do_not_fit(x_shape, w_shape, b_shape, table_shape, words):
  b = None if b_shape is None else jnp.zeros(b_shape)
  table = None if table_shape is None else np.ones(table_shape, bool)
  with pytest.raises(ValueError) as exc:
    ops.local2d(jnp.zeros(x_shape), jnp.zeros(w_shape), b, connections=table)
  for word in words:
    assert word in str(exc.value), (word, str(exc.value))
