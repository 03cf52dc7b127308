"""Independent tests for lenet_jax/ops.py.

Every op is compared against a float64 NumPy reference written directly from
the spec (plain Python loops for the convolution and pooling ops).  The ops
themselves run in float32 (x64 is NOT enabled here); the inputs are cast to
float32 first, so the only discrepancy is float32 rounding inside the op.

Tolerances (stated once, used throughout):
  * sums of products (conv2d, subsample, rbf_scores): an error bound scaled to
    the magnitude of the terms, |got - ref| <= 1e-5 * S + 1e-6, where S is the
    same sum taken over absolute values (|x * w| terms plus |b|).  At most 100
    terms are summed here, so float32 accumulation error is < 100 * 6e-8 * S.
  * elementwise ops (squash, logistic): rtol=1e-5, atol=1e-6; relu is exact.
  * jit / vmap against per-example calls: rtol=1e-6, plus atol=1e-6 * S for
    sums (XLA may change the accumulation order when batching).
  * integer-valued worked examples: atol=1e-6 (they are exact in float32).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lenet_jax import ops

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FEW = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SQUASH_A = 1.7159


# ---------------------------------------------------------------------------
# NumPy float64 references
# ---------------------------------------------------------------------------


def _pair(v):
  if isinstance(v, (tuple, list)):
    assert len(v) == 2
    return int(v[0]), int(v[1])
  return int(v), int(v)


def ref_conv2d(x, w, b=None, stride=1, padding=0, connections=None):
  """Cross-correlation by the spec's formula, float64, plain loops.

  Returns (out, scale) where scale is the same sum over absolute values
  (used for the error bound)."""
  x = np.asarray(x, np.float64)
  w = np.asarray(w, np.float64)
  sh, sw = _pair(stride)
  ph, pw = _pair(padding)
  H, W, cin = x.shape
  kh, kw, cin_w, cout = w.shape
  assert cin == cin_w
  xpad = np.zeros((H + 2 * ph, W + 2 * pw, cin))
  xpad[ph:ph + H, pw:pw + W, :] = x
  ho = (H + 2 * ph - kh) // sh + 1
  wo = (W + 2 * pw - kw) // sw + 1
  out = np.zeros((ho, wo, cout))
  scale = np.zeros((ho, wo, cout))
  for i in range(ho):
    for j in range(wo):
      for o in range(cout):
        acc = 0.0
        acc_abs = 0.0
        for c in range(cin):
          if connections is not None and not connections[c][o]:
            continue  # disconnected pair: skipped entirely
          for di in range(kh):
            for dj in range(kw):
              t = xpad[i * sh + di, j * sw + dj, c] * w[di, dj, c, o]
              acc += t
              acc_abs += abs(t)
        if b is not None:
          acc += float(b[o])
          acc_abs += abs(float(b[o]))
        out[i, j, o] = acc
        scale[i, j, o] = acc_abs
  return out, scale


def ref_pool(x, reduce):
  x = np.asarray(x, np.float64)
  H, W, C = x.shape
  out = np.zeros((H // 2, W // 2, C))
  for i in range(H // 2):
    for j in range(W // 2):
      for c in range(C):
        window = [x[2 * i + a, 2 * j + bb, c] for a in (0, 1) for bb in (0, 1)]
        out[i, j, c] = reduce(window)
  return out


def ref_subsample(x, coef, bias):
  x = np.asarray(x, np.float64)
  s = ref_pool(x, sum)
  s_abs = ref_pool(np.abs(x), sum)
  coef = np.asarray(coef, np.float64)
  bias = np.asarray(bias, np.float64)
  return s * coef + bias, s_abs * np.abs(coef) + np.abs(bias)


def assert_close_scaled(got, ref, scale, rel=1e-5, floor=1e-6):
  got = np.asarray(got, np.float64)
  assert got.shape == ref.shape, (got.shape, ref.shape)
  err = np.abs(got - ref)
  bound = rel * scale + floor
  bad = err > bound
  assert not bad.any(), (
      f"max err {err.max():.3g}; first bad index {np.argwhere(bad)[0]}: "
      f"got {got[tuple(np.argwhere(bad)[0])]}, ref {ref[tuple(np.argwhere(bad)[0])]}"
  )


def f32(a):
  return np.asarray(a, np.float32)


# ---------------------------------------------------------------------------
# conv2d: random cases against the loop reference
# ---------------------------------------------------------------------------


@st.composite
def conv_cases(draw, with_connections=None):
  H = draw(st.integers(1, 9))
  W = draw(st.integers(1, 9))
  if draw(st.booleans()):
    ph = pw = draw(st.integers(0, 2))
    padding = ph
  else:
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    padding = (ph, pw)
  kh = draw(st.integers(1, min(5, H + 2 * ph)))
  kw = draw(st.integers(1, min(5, W + 2 * pw)))
  if draw(st.booleans()):
    stride = draw(st.integers(1, 3))
  else:
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
  cin = draw(st.integers(1, 4))
  cout = draw(st.integers(1, 4))
  use_bias = draw(st.booleans())
  if with_connections is None:
    use_conn = draw(st.booleans())
  else:
    use_conn = with_connections
  seed = draw(st.integers(0, 2**32 - 1))
  rng = np.random.default_rng(seed)
  x = f32(rng.normal(size=(H, W, cin)))
  w = f32(rng.normal(size=(kh, kw, cin, cout)))  # generic => asymmetric
  b = f32(rng.normal(size=(cout,))) if use_bias else None
  conn = rng.random((cin, cout)) < 0.5 if use_conn else None
  return x, w, b, stride, padding, conn


def _call_conv(x, w, b, stride, padding, conn, impl="xla"):
  kwargs = dict(stride=stride, padding=padding, impl=impl)
  if conn is not None:
    kwargs["connections"] = conn
  return ops.conv2d(jnp.asarray(x), jnp.asarray(w),
                    None if b is None else jnp.asarray(b), **kwargs)


@pytest.mark.slow
@SETTINGS
@given(conv_cases(), st.sampled_from(["xla", "im2col"]))
def test_conv2d_matches_loop_reference(case, impl):
  x, w, b, stride, padding, conn = case
  got = _call_conv(x, w, b, stride, padding, conn, impl)
  ref, scale = ref_conv2d(x, w, b, stride, padding, conn)
  assert got.dtype == jnp.float32
  assert_close_scaled(got, ref, scale)


def ref_conv2d_grads(x, w, b, stride, padding, connections, g):
  """float64 loops: gradients of sum(g * conv2d(x, w, b)) with respect to x and w."""
  x, w, g = (np.asarray(v, np.float64) for v in (x, w, g))
  sh, sw = _pair(stride)
  ph, pw = _pair(padding)
  H, W, cin = x.shape
  kh, kw, _, cout = w.shape
  mask = np.ones((cin, cout)) if connections is None else np.asarray(connections, np.float64)
  gx = np.zeros((H + 2 * ph, W + 2 * pw, cin))
  gw = np.zeros_like(w)
  xpad = np.zeros_like(gx)
  xpad[ph:ph + H, pw:pw + W] = x
  for i in range(g.shape[0]):
    for j in range(g.shape[1]):
      for o in range(cout):
        for a in range(kh):
          for bb in range(kw):
            for c in range(cin):
              gw[a, bb, c, o] += g[i, j, o] * xpad[i * sh + a, j * sw + bb, c] * mask[c, o]
              gx[i * sh + a, j * sw + bb, c] += g[i, j, o] * w[a, bb, c, o] * mask[c, o]
  return gx[ph:ph + H, pw:pw + W], gw


@pytest.mark.slow
@FEW
@given(conv_cases(), st.sampled_from(["xla", "im2col"]))
def test_conv2d_gradients_match_loop_reference(case, impl):
  # The model trains through either implementation, so their gradients are checked too.
  # (XLA 0.10.2's convolution gradient aborts the process for a few degenerate shapes, e.g. a
  # 1x8 input, 3x2 kernel, stride 2, padding 1; the model's shapes are not among them.)
  x, w, b, stride, padding, conn = case
  if impl == "xla" and (x.shape[0] < w.shape[0] or x.shape[1] < w.shape[1]):
    return
  g = np.random.default_rng(0).normal(size=_call_conv(x, w, b, stride, padding, conn).shape)
  f = lambda xx, ww: jnp.sum(jnp.asarray(g, jnp.float32)
                             * _call_conv(xx, ww, b, stride, padding, conn, impl))
  gx, gw = jax.grad(f, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(w))
  rx, rw = ref_conv2d_grads(x, w, b, stride, padding, conn, g)
  np.testing.assert_allclose(np.asarray(gx), rx, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(np.asarray(gw), rw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(32, 6, 1, 6), (14, 5, 6, 16), (5, 5, 16, 120)],
                         ids=["C1", "C3", "C5"])
@pytest.mark.slow
def test_im2col_gradient_at_lenet_shapes_matches_loop_reference(shape):
  # im2col's gradient is written by hand (ops._im2col_conv); the model's three convolutions,
  # alone and vmapped over two models with their own weights (how lanes train).
  n, k, cin, cout = shape
  k = 5
  rng = np.random.default_rng(n)
  x, w = (f32(rng.normal(size=s)) for s in ((2, n, n, cin), (2, k, k, cin, cout)))
  g = rng.normal(size=(2, n - k + 1, n - k + 1, cout))
  f = lambda xx, ww, gg: jnp.sum(gg * ops.conv2d(xx, ww, impl="im2col"))
  grads = jax.vmap(jax.grad(f, argnums=(0, 1)))(jnp.asarray(x), jnp.asarray(w),
                                               jnp.asarray(g, jnp.float32))
  for m in range(2):
    rx, rw = ref_conv2d_grads(x[m], w[m], None, 1, 0, None, g[m])
    np.testing.assert_allclose(np.asarray(grads[0][m]), rx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(grads[1][m]), rw, rtol=1e-4, atol=1e-4)


def test_conv2d_unknown_impl_names_the_choices():
  with pytest.raises(ValueError, match="im2col"):
    ops.conv2d(jnp.zeros((5, 5, 1)), jnp.zeros((3, 3, 1, 1)), impl="fft")


@pytest.mark.slow
@SETTINGS
@given(conv_cases(with_connections=True))
def test_conv2d_connections_match_skip_loop(case):
  x, w, b, stride, padding, conn = case
  got = _call_conv(x, w, b, stride, padding, conn)
  ref, scale = ref_conv2d(x, w, b, stride, padding, conn)
  assert_close_scaled(got, ref, scale)
  # "equivalently w is multiplied by the table"
  masked = _call_conv(x, w * conn[None, None].astype(np.float32), b,
                      stride, padding, None)
  assert_close_scaled(got, np.asarray(masked, np.float64), scale)


@pytest.mark.slow
@FEW
@given(conv_cases(with_connections=False))
def test_conv2d_bias_none_equals_zero_bias(case):
  x, w, _, stride, padding, _ = case
  cout = w.shape[-1]
  a = _call_conv(x, w, None, stride, padding, None)
  z = _call_conv(x, w, np.zeros(cout, np.float32), stride, padding, None)
  np.testing.assert_allclose(np.asarray(a), np.asarray(z), rtol=1e-6, atol=1e-6)


@FEW
@given(
    n=st.integers(1, 40),
    p=st.integers(0, 3),
    s=st.integers(1, 4),
    data=st.data(),
)
def test_conv_output_size_counts_positions(n, p, s, data):
  k = data.draw(st.integers(1, n + 2 * p))
  # brute force: number of window start positions 0, s, 2s, ... that fit
  count = sum(1 for start in range(0, n + 2 * p, s) if start + k <= n + 2 * p)
  got = ops.conv_output_size(n, k, padding=p, stride=s)
  assert got == count
  assert got == (n - k + 2 * p + s) // s


def test_conv2d_explicit_asymmetric_stride_and_padding():
  # Non-square input, different (h, w) padding and stride: catches swaps.
  rng = np.random.default_rng(0)
  x = f32(rng.normal(size=(7, 9, 2)))
  w = f32(rng.normal(size=(3, 2, 2, 3)))
  b = f32(rng.normal(size=(3,)))
  got = ops.conv2d(x, w, b, stride=(1, 3), padding=(2, 0))
  ref, scale = ref_conv2d(x, w, b, (1, 3), (2, 0))
  assert got.shape == (9, 3, 3)
  assert_close_scaled(got, ref, scale)
  swapped = ops.conv2d(x, w, b, stride=(3, 1), padding=(0, 2))
  assert swapped.shape != got.shape


def test_conv2d_1x1_kernel_is_channel_mixing():
  rng = np.random.default_rng(1)
  x = f32(rng.normal(size=(5, 6, 3)))
  w = f32(rng.normal(size=(1, 1, 3, 4)))
  b = f32(rng.normal(size=(4,)))
  got = np.asarray(ops.conv2d(x, w, b), np.float64)
  ref = x.astype(np.float64) @ w[0, 0].astype(np.float64) + b
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_flipped_kernel_gives_a_different_answer():
  """Power check: the reference distinguishes correlation from convolution,
  and the module agrees with correlation only."""
  x = f32(np.arange(5 * 6, dtype=np.float64).reshape(5, 6, 1) % 7)
  k = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]], np.float32)  # asymmetric
  w = k[:, :, None, None]
  w_flip = np.ascontiguousarray(w[::-1, ::-1])
  ref, scale = ref_conv2d(x, w)
  ref_flip, _ = ref_conv2d(x, w_flip)
  assert np.abs(ref - ref_flip).max() > 1.0  # the two really differ here
  got = np.asarray(ops.conv2d(x, w), np.float64)
  assert_close_scaled(got, ref, scale)
  assert np.abs(got - ref_flip).max() > 1.0


# ---------------------------------------------------------------------------
# conv2d: the study note's worked examples
# ---------------------------------------------------------------------------


def _edge_image():
  img = np.ones((6, 8), np.float32)
  img[:, 2:6] = 0.0  # columns 2..5 are zero
  return img


def test_worked_example_vertical_edges():
  img = _edge_image()
  w = np.array([[1.0, -1.0]], np.float32)[:, :, None, None]  # 1 row, 2 cols
  got = np.asarray(ops.conv2d(img[:, :, None], w))
  assert got.shape == (6, 7, 1)
  expected = np.zeros((6, 7), np.float32)
  expected[:, 1] = 1.0
  expected[:, 5] = -1.0
  np.testing.assert_allclose(got[:, :, 0], expected, atol=1e-6)


def test_worked_example_horizontal_edges_by_transpose():
  img_t = _edge_image().T.copy()  # 8x6
  w_t = np.array([[1.0], [-1.0]], np.float32)[:, :, None, None]  # 2 rows, 1 col
  got = np.asarray(ops.conv2d(img_t[:, :, None], w_t))
  assert got.shape == (7, 6, 1)
  expected = np.zeros((6, 7), np.float32)
  expected[:, 1] = 1.0
  expected[:, 5] = -1.0
  np.testing.assert_allclose(got[:, :, 0], expected.T, atol=1e-6)


@pytest.mark.parametrize(
    "n, k, padding, stride, expected",
    [
        (4, 3, 1, 1, 4),
        (4, 3, 2, 1, 6),
        (4, 2, 0, 2, 2),
        # LeNet-5
        (32, 5, 0, 1, 28),
        (14, 5, 0, 1, 10),
        (5, 5, 0, 1, 1),
        # kernel exactly as large as the padded input is allowed
        (3, 5, 1, 1, 1),
    ],
)
def test_output_shapes(n, k, padding, stride, expected):
  assert ops.conv_output_size(n, k, padding=padding, stride=stride) == expected
  # conv_output_size(n, k, padding, stride) positional order per the spec
  assert ops.conv_output_size(n, k, padding, stride) == expected
  x = jnp.ones((n, n, 1), jnp.float32)
  w = jnp.ones((k, k, 1, 1), jnp.float32)
  out = ops.conv2d(x, w, stride=stride, padding=padding)
  assert out.shape == (expected, expected, 1)


def test_lenet5_layer_shapes():
  rng = np.random.default_rng(2)
  c1 = ops.conv2d(f32(rng.normal(size=(32, 32, 1))), f32(rng.normal(size=(5, 5, 1, 6))),
                  f32(rng.normal(size=(6,))))
  assert c1.shape == (28, 28, 6)
  c3 = ops.conv2d(f32(rng.normal(size=(14, 14, 6))), f32(rng.normal(size=(5, 5, 6, 16))),
                  f32(rng.normal(size=(16,))))
  assert c3.shape == (10, 10, 16)
  c5 = ops.conv2d(f32(rng.normal(size=(5, 5, 16))), f32(rng.normal(size=(5, 5, 16, 120))),
                  f32(rng.normal(size=(120,))))
  assert c5.shape == (1, 1, 120)


@pytest.mark.parametrize(
    "n, k, padding, stride, numbers",
    [
        (13, 17, 1, 1, ["17", "13"]),  # 17 > 13 + 2
        (6, 11, 2, 1, ["11", "6"]),  # 11 > 6 + 4
        (13, 3, 0, 0, ["0"]),  # stride 0
        (13, 3, 0, -3, ["-3"]),  # negative stride
        (13, 3, -2, 1, ["-2"]),  # negative padding
    ],
)
def test_conv_output_size_errors(n, k, padding, stride, numbers):
  with pytest.raises(ValueError) as exc:
    ops.conv_output_size(n, k, padding=padding, stride=stride)
  msg = str(exc.value)
  for num in numbers:
    assert num in msg, f"message {msg!r} does not name {num}"


# ---------------------------------------------------------------------------
# connection tables
# ---------------------------------------------------------------------------

# LeNet-5 C3 table (LeCun et al. 1998, Table I): rows = S2 maps, cols = C3 maps
_C3 = [
    "X...XXX..XXXX.XX",
    "XX...XXX..XXXX.X",
    "XXX...XXX..X.XXX",
    ".XXX..XXXX..X.XX",
    "..XXX..XXXX.XX.X",
    "...XXX..XXXX.XXX",
]
C3_TABLE = np.array([[ch == "X" for ch in row] for row in _C3], bool)


def test_lenet_c3_table_matches_skip_loop():
  assert C3_TABLE.shape == (6, 16) and C3_TABLE.sum() == 60
  rng = np.random.default_rng(3)
  x = f32(rng.normal(size=(14, 14, 6)))
  w = f32(rng.normal(size=(5, 5, 6, 16)))
  b = f32(rng.normal(size=(16,)))
  got = ops.conv2d(x, w, b, connections=C3_TABLE)
  assert got.shape == (10, 10, 16)
  ref, scale = ref_conv2d(x, w, b, connections=C3_TABLE)
  assert_close_scaled(got, ref, scale)
  # same result with the table given as a jax array
  got_j = ops.conv2d(x, w, b, connections=jnp.asarray(C3_TABLE))
  np.testing.assert_allclose(np.asarray(got_j), np.asarray(got), rtol=1e-6, atol=1e-6)
  # and it differs from the fully connected layer
  full = np.asarray(ops.conv2d(x, w, b))
  assert np.abs(full - np.asarray(got)).max() > 1e-2


@pytest.mark.parametrize("c, o", [(2, 0), (3, 0), (5, 15), (0, 12)])
def test_changing_one_table_entry_changes_only_that_map(c, o):
  rng = np.random.default_rng(4)
  x = f32(rng.normal(size=(14, 14, 6)))
  w = f32(rng.normal(size=(5, 5, 6, 16)))
  b = f32(rng.normal(size=(16,)))
  table2 = C3_TABLE.copy()
  table2[c, o] = not table2[c, o]
  a = np.asarray(ops.conv2d(x, w, b, connections=C3_TABLE), np.float64)
  a2 = np.asarray(ops.conv2d(x, w, b, connections=table2), np.float64)
  ref2, scale2 = ref_conv2d(x, w, b, connections=table2)
  assert_close_scaled(a2, ref2, scale2)
  assert np.abs(a[:, :, o] - a2[:, :, o]).max() > 1e-2
  others = [m for m in range(16) if m != o]
  np.testing.assert_allclose(a2[:, :, others], a[:, :, others], rtol=1e-6, atol=1e-5)


# ---------------------------------------------------------------------------
# receptive_field
# ---------------------------------------------------------------------------


def test_receptive_field_lenet5():
  got = ops.receptive_field([(5, 1), (2, 2), (5, 1), (2, 2), (5, 1)])
  assert isinstance(got, list)
  assert [int(v) for v in got] == [5, 6, 14, 16, 32]
  assert all(int(v) == v for v in got)


def brute_receptive_field(layers, unit):
  """For each depth d, the input positions that output unit `unit` of layer
  d depends on, by propagating index sets backwards through a 1-D chain in
  which unit i of a (kernel k, stride s) layer reads inputs i*s .. i*s+k-1.
  Returns the sizes (span of the dependency set)."""
  sizes = []
  for depth in range(1, len(layers) + 1):
    deps = {unit}
    for k, s in reversed(layers[:depth]):
      deps = {i * s + d for i in deps for d in range(k)}
    span = max(deps) - min(deps) + 1
    # with k >= s every layer is gap-free, so span == number of pixels
    assert span == len(deps)
    sizes.append(span)
  return sizes


@st.composite
def layer_stacks(draw):
  n = draw(st.integers(1, 6))
  layers = []
  for _ in range(n):
    s = draw(st.integers(1, 3))
    k = draw(st.integers(s, 7))  # k >= s: no gaps in the receptive field
    layers.append((k, s))
  return layers


@SETTINGS
@given(layer_stacks(), st.integers(0, 5))
def test_receptive_field_matches_brute_force(layers, unit):
  got = ops.receptive_field(layers)
  assert [int(v) for v in got] == brute_receptive_field(layers, unit)


# ---------------------------------------------------------------------------
# subsample / avg_pool / max_pool
# ---------------------------------------------------------------------------


@st.composite
def pool_inputs(draw):
  H = 2 * draw(st.integers(1, 6))
  W = 2 * draw(st.integers(1, 6))
  C = draw(st.integers(1, 5))
  seed = draw(st.integers(0, 2**32 - 1))
  rng = np.random.default_rng(seed)
  return rng, f32(rng.normal(size=(H, W, C)))


@pytest.mark.slow
@SETTINGS
@given(pool_inputs())
def test_subsample_matches_loops(inp):
  rng, x = inp
  C = x.shape[-1]
  coef = f32(rng.normal(size=(C,)))
  bias = f32(rng.normal(size=(C,)))
  got = ops.subsample(x, coef, bias)
  ref, scale = ref_subsample(x, coef, bias)
  assert got.shape == (x.shape[0] // 2, x.shape[1] // 2, C)
  assert_close_scaled(got, ref, scale)


def test_subsample_per_map_coef_bias_no_squash():
  x = np.zeros((4, 4, 3), np.float32)
  x[:, :, 0] = 1.0
  x[:, :, 1] = 2.0
  x[:, :, 2] = -3.0
  coef = np.array([1.0, 0.5, 10.0], np.float32)
  bias = np.array([0.0, -1.0, 100.0], np.float32)
  got = np.asarray(ops.subsample(x, coef, bias))
  # sums of 4: 4, 8, -12 -> 4, 3, -20  (a squash would bound these by 1.7159)
  expected = np.broadcast_to(np.array([4.0, 3.0, -20.0], np.float32), (2, 2, 3))
  np.testing.assert_allclose(got, expected, atol=1e-5)


@SETTINGS
@given(pool_inputs())
def test_avg_pool_matches_loops(inp):
  _, x = inp
  got = ops.avg_pool(x)
  ref = ref_pool(x, lambda v: sum(v) / 4.0)
  scale = ref_pool(np.abs(x), lambda v: sum(v) / 4.0)
  assert_close_scaled(got, ref, scale)


@pytest.mark.slow
@SETTINGS
@given(pool_inputs())
def test_max_pool_matches_loops(inp):
  _, x = inp
  got = np.asarray(ops.max_pool(x), np.float64)
  ref = ref_pool(x, max)
  assert got.shape == ref.shape
  np.testing.assert_array_equal(got, ref)  # max of float32 values is exact


# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------

_ACT_X = np.concatenate([
    np.linspace(-30.0, 30.0, 241),
    np.random.default_rng(5).normal(scale=3.0, size=200),
]).astype(np.float32)


def test_squash_formula():
  got = np.asarray(ops.squash(jnp.asarray(_ACT_X)), np.float64)
  ref = SQUASH_A * np.tanh(2.0 * _ACT_X.astype(np.float64) / 3.0)
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_squash_at_plus_minus_one():
  assert abs(float(ops.squash(jnp.float32(1.0))) - 1.0) < 1e-4
  assert abs(float(ops.squash(jnp.float32(-1.0))) + 1.0) < 1e-4


def test_squash_odd_and_bounded():
  x = np.concatenate([_ACT_X, np.array([1e3, 1e6, 1e30, -1e30, 0.0], np.float32)])
  pos = np.asarray(ops.squash(jnp.asarray(x)), np.float64)
  neg = np.asarray(ops.squash(jnp.asarray(-x)), np.float64)
  np.testing.assert_allclose(neg, -pos, rtol=1e-6, atol=1e-7)
  assert np.all(np.isfinite(pos))
  assert np.all(np.abs(pos) <= SQUASH_A + 1e-6)
  assert float(ops.squash(jnp.float32(0.0))) == 0.0


def test_logistic_formula():
  got = np.asarray(ops.logistic(jnp.asarray(_ACT_X)), np.float64)
  ref = 1.0 / (1.0 + np.exp(-_ACT_X.astype(np.float64)))
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
  assert abs(float(ops.logistic(jnp.float32(0.0))) - 0.5) < 1e-7


def test_relu_formula():
  got = np.asarray(ops.relu(jnp.asarray(_ACT_X)))
  np.testing.assert_array_equal(got, np.maximum(_ACT_X, 0.0))


# ---------------------------------------------------------------------------
# rbf_scores
# ---------------------------------------------------------------------------


def ref_rbf(x, protos):
  x = np.asarray(x, np.float64)
  p = np.asarray(protos, np.float64)
  d = x[None, :] - p
  return (d ** 2).sum(axis=1), (d ** 2).sum(axis=1)


@FEW
@given(st.integers(1, 100), st.integers(0, 2**32 - 1))
def test_rbf_scores_matches_numpy(n, seed):
  rng = np.random.default_rng(seed)
  x = f32(rng.normal(size=(n,)))
  protos = f32(rng.choice([-1.0, 1.0], size=(10, n)) + 0.1 * rng.normal(size=(10, n)))
  got = ops.rbf_scores(x, protos)
  assert got.shape == (10,)
  ref, scale = ref_rbf(x, protos)
  assert_close_scaled(got, ref, scale)


def test_rbf_scores_lenet_size_and_zero_at_prototype():
  rng = np.random.default_rng(6)
  protos = f32(rng.choice([-1.0, 1.0], size=(10, 84)))
  x = protos[3].copy()
  got = np.asarray(ops.rbf_scores(x, protos), np.float64)
  ref, scale = ref_rbf(x, protos)
  assert got.shape == (10,)
  assert got[3] == 0.0
  assert int(np.argmin(got)) == 3
  assert_close_scaled(got, ref, scale)


# ---------------------------------------------------------------------------
# jit and vmap
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stride, padding, conn",
    [(1, 0, None), ((2, 1), (1, 2), None), (1, 1, "random")],
)
def test_conv2d_jit_and_vmap(stride, padding, conn):
  rng = np.random.default_rng(7)
  xs = f32(rng.normal(size=(5, 8, 7, 3)))
  w = f32(rng.normal(size=(3, 2, 3, 4)))
  b = f32(rng.normal(size=(4,)))
  kwargs = dict(stride=stride, padding=padding)
  if conn is not None:
    kwargs["connections"] = rng.random((3, 4)) < 0.5
  f = functools.partial(ops.conv2d, **kwargs)
  per = np.stack([np.asarray(f(x, w, b)) for x in xs])
  scale = np.stack([ref_conv2d(x, w, b, stride, padding, kwargs.get("connections"))[1]
                    for x in xs])
  jitted = np.stack([np.asarray(jax.jit(f)(x, w, b)) for x in xs])
  vm = np.asarray(jax.vmap(f, in_axes=(0, None, None))(xs, w, b))
  jvm = np.asarray(jax.jit(jax.vmap(f, in_axes=(0, None, None)))(xs, w, b))
  for other in (jitted, vm, jvm):
    assert other.shape == per.shape
    assert np.all(np.abs(other - per) <= 1e-6 * np.abs(per) + 1e-6 * scale + 1e-7)


def test_subsample_jit_and_vmap():
  rng = np.random.default_rng(8)
  xs = f32(rng.normal(size=(6, 10, 8, 4)))
  coef = f32(rng.normal(size=(4,)))
  bias = f32(rng.normal(size=(4,)))
  per = np.stack([np.asarray(ops.subsample(x, coef, bias)) for x in xs])
  scale = np.stack([ref_subsample(x, coef, bias)[1] for x in xs])
  jitted = np.stack([np.asarray(jax.jit(ops.subsample)(x, coef, bias)) for x in xs])
  vm = np.asarray(jax.vmap(ops.subsample, in_axes=(0, None, None))(xs, coef, bias))
  jvm = np.asarray(jax.jit(jax.vmap(ops.subsample, in_axes=(0, None, None)))(xs, coef, bias))
  for other in (jitted, vm, jvm):
    assert other.shape == per.shape == (6, 5, 4, 4)
    assert np.all(np.abs(other - per) <= 1e-6 * np.abs(per) + 1e-6 * scale + 1e-7)


def test_pools_and_activations_jit_and_vmap():
  rng = np.random.default_rng(9)
  xs = f32(rng.normal(size=(4, 6, 6, 2)))
  for fn in (ops.avg_pool, ops.max_pool, ops.squash, ops.logistic, ops.relu):
    per = np.stack([np.asarray(fn(x)) for x in xs])
    vm = np.asarray(jax.jit(jax.vmap(fn))(xs))
    np.testing.assert_allclose(vm, per, rtol=1e-6, atol=1e-6, err_msg=fn.__name__)


def test_rbf_scores_jit_and_vmap():
  rng = np.random.default_rng(10)
  xs = f32(rng.normal(size=(7, 84)))
  protos = f32(rng.choice([-1.0, 1.0], size=(10, 84)))
  per = np.stack([np.asarray(ops.rbf_scores(x, protos)) for x in xs])
  scale = np.stack([ref_rbf(x, protos)[1] for x in xs])
  jitted = np.stack([np.asarray(jax.jit(ops.rbf_scores)(x, protos)) for x in xs])
  vm = np.asarray(jax.vmap(ops.rbf_scores, in_axes=(0, None))(xs, protos))
  jvm = np.asarray(jax.jit(jax.vmap(ops.rbf_scores, in_axes=(0, None)))(xs, protos))
  for other in (jitted, vm, jvm):
    assert other.shape == per.shape == (7, 10)
    assert np.all(np.abs(other - per) <= 1e-6 * np.abs(per) + 1e-6 * scale + 1e-7)
