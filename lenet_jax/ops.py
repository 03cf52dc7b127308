"""LeNet-5's building blocks as pure functions of one example laid out (height, width, channels).

Every function is jit-compatible; `batched` lifts one to a leading batch axis with `jax.vmap`
(weights shared), which is the form the model uses.
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from lenet_jax import paper

# The paper's squashing function f(a) = A tanh(S a); A and S make f(1) = 1 and f(-1) = -1.
SQUASH_A, SQUASH_S = paper.SQUASH_A, paper.SQUASH_S


def _pair(v, name):
  if isinstance(v, int):
    return (v, v)
  v = tuple(v)
  if len(v) != 2:
    raise ValueError(f"{name} must be an int or an (h, w) pair, got {v!r}")
  return v


def conv_output_size(n: int, k: int, padding: int = 0, stride: int = 1) -> int:
  """Output length of a convolution: floor((n - k + 2p + s) / s), the study note's formula."""
  if stride < 1:
    raise ValueError(f"stride must be >= 1, got stride={stride}")
  if padding < 0:
    raise ValueError(f"padding must be >= 0, got padding={padding}")
  if k > n + 2 * padding:
    raise ValueError(
        f"kernel {k} is larger than the padded input {n} + 2*{padding} = {n + 2 * padding}")
  return (n - k + 2 * padding + stride) // stride


def receptive_field(layers: Sequence[tuple[int, int]]) -> list[int]:
  """Receptive field (input pixels along one side) of one unit after each (kernel, stride) layer."""
  sizes, size, jump = [], 1, 1
  for kernel, stride in layers:
    # A unit sees `kernel` units of the layer below, which sit `jump` input pixels apart.
    size += (kernel - 1) * jump
    jump *= stride
    sizes.append(size)
  return sizes


def conv2d(x, w, b=None, *, stride=1, padding=0, connections=None, impl="xla"):
  """Cross-correlation (no kernel flip) of x (H, W, Cin) with w (kh, kw, Cin, Cout).

  `connections`, a boolean (Cin, Cout) table, zeroes the kernels of unconnected pairs so that
  output map o reads only the input maps it is connected to (C3's Table I).
  `impl` picks how XLA computes the same sums: "xla" one convolution op, "im2col" the kh*kw
  shifted views of x side by side, then one matmul (with a hand-written gradient for stride 1).
  On CPU im2col runs faster for a LeNet-5 training step at batch 1 and under a vmap over models
  with their own weights (which XLA turns into a grouped convolution), slower at large batches.
  """
  sh, sw = _pair(stride, "stride")
  ph, pw = _pair(padding, "padding")
  kh, kw, cin, cout = w.shape
  oh = conv_output_size(x.shape[0], kh, ph, sh)
  ow = conv_output_size(x.shape[1], kw, pw, sw)
  if connections is not None:
    w = w * jnp.asarray(connections, w.dtype)[None, None]
  if impl == "xla":
    y = jax.lax.conv_general_dilated(
        x[None], w, window_strides=(1, 1), padding=((ph, ph), (pw, pw)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
    if (sh, sw) != (1, 1):
      # Every stride-th output of the stride-1 convolution, because XLA 0.10.2's CPU compiler
      # aborts the process on the gradient of some strided convolutions.
      y = y[::sh, ::sw]
  elif impl == "im2col":
    xp = jnp.pad(x, ((ph, ph), (pw, pw), (0, 0)))
    if (sh, sw) == (1, 1):
      y = _im2col_conv(xp, w)
    else:
      y = _patches(xp, kh, kw, oh, ow, sh, sw) @ w.reshape(kh * kw * cin, cout)
  else:
    raise ValueError(f"unknown conv impl {impl!r}; use 'xla' or 'im2col'")
  return y if b is None else y + b


def local2d(x, w, b=None, *, connections=None):
  """Locally connected ("unshared") layer: the windows of a valid stride-1 convolution of x
  (H, W, Cin), each output position (i, j) with kernels of its own, w[i, j] (kh, kw, Cin, Cout),
  and bias b[i, j].

  w is (oh, ow, kh, kw, Cin, Cout) with oh = H - kh + 1, ow = W - kw + 1; b is (oh, ow, Cout)
  or None. `connections`, a boolean (Cin, Cout) table, zeroes unconnected kernels as in conv2d.
  """
  oh, ow, kh, kw, cin, cout = _local_shapes(x, w, b, connections)
  if connections is not None:
    w = w * jnp.asarray(connections, w.dtype)
  # One batched matmul over positions: each w[i, j] flattens to (kh*kw*cin, cout) rows in the
  # (kh, kw, cin) order of _patches' windows.
  y = jnp.einsum("ijk,ijko->ijo", _patches(x, kh, kw, oh, ow),
                 w.reshape(oh, ow, kh * kw * cin, cout))
  return y if b is None else y + b


def _local_shapes(x, w, b, connections):
  """local2d's (oh, ow, kh, kw, cin, cout), after checking that x, w, b and the table agree."""
  if jnp.ndim(x) != 3 or jnp.ndim(w) != 6:
    raise ValueError(f"local2d needs x (H, W, Cin) and w (oh, ow, kh, kw, Cin, Cout), got x "
                     f"{jnp.shape(x)} and w {jnp.shape(w)}")
  (h, wd, cin), (oh, ow, kh, kw, wcin, cout) = jnp.shape(x), jnp.shape(w)
  if wcin != cin or kh > h or kw > wd or (oh, ow) != (h - kh + 1, wd - kw + 1):
    raise ValueError(f"local2d: w {jnp.shape(w)} does not fit x {jnp.shape(x)}; a {kh}x{kw} "
                     f"window over {cin} maps needs w ({h - kh + 1}, {wd - kw + 1}, {kh}, {kw}, "
                     f"{cin}, Cout)")
  if b is not None and jnp.shape(b) != (oh, ow, cout):
    raise ValueError(f"local2d: b must be {(oh, ow, cout)} (one bias per position and output "
                     f"map), got {jnp.shape(b)}")
  if connections is not None and jnp.shape(connections) != (cin, cout):
    raise ValueError(f"local2d: connections must be a (Cin, Cout) = {(cin, cout)} table, got "
                     f"{jnp.shape(connections)}")
  return oh, ow, kh, kw, cin, cout


def _patches(x, kh, kw, oh, ow, sh=1, sw=1):
  """(oh, ow, kh*kw*cin): each output position's window of x, flattened in (kh, kw, cin) order,
  the order of a (kh, kw, cin, cout) kernel."""
  if oh == ow == 1:
    # One window (C5 on S4): the input itself, no copies.
    return x[:kh, :kw].reshape(1, 1, -1)
  # Cut in two stages, kh row shifts and then kw column shifts of those (kh + kw slices instead
  # of kh*kw), because XLA's CPU backend runs every slice as a kernel of its own.
  rows = jnp.stack([x[i:i + sh * (oh - 1) + 1:sh] for i in range(kh)], axis=2)  # (oh, W, kh, cin)
  views = jnp.stack([rows[:, j:j + sw * (ow - 1) + 1:sw] for j in range(kw)], axis=3)
  return views.reshape(oh, ow, -1)


@jax.custom_vjp
def _im2col_conv(x, w):
  """Stride-1 valid cross-correlation as one matmul over the input's windows, with its gradient
  written out, because autodiff's version transposes the window matrix for the weight gradient
  and leaves the input gradient (the windows' gradients added back in place) to be recomputed
  by each of its consumers. Every layout choice below is kept only because it runs faster on
  CPU."""
  return _im2col_conv_fwd(x, w)[0]


def _im2col_conv_fwd(x, w):
  kh, kw, cin, cout = w.shape
  oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
  if cin == 1:
    # One input map (C1): windows cut in two stages like _patches' and stacked first, because
    # then they are contiguous row copies (stacked last, single floats at a stride) and the
    # product comes out wide, (cout, positions), rather than as 6 columns.
    rows = jnp.stack([x[i:i + oh, :, 0] for i in range(kh)])              # (kh, oh, W)
    # A concatenate, not a stack on axis 1: the same numbers, but under a vmap over models
    # XLA then writes the windows straight into the layout the batched matmul reads, without
    # a transposing copy.
    cols = jnp.concatenate([rows[:, None, :, j:j + ow] for j in range(kw)], axis=1)
    cols = cols.reshape(kh * kw, oh * ow)                                 # (kh * kw, oh * ow)
    yt = jax.lax.dot_general(w.reshape(-1, cout), cols, (((0,), (0,)), ((), ())))
    return yt.T.reshape(oh, ow, cout), (cols, w, x.shape)
  patches = _patches(x, kh, kw, oh, ow)
  return patches @ w.reshape(-1, cout), (patches, w, x.shape)


def _im2col_conv_bwd(res, g):
  patches, w, (h, wd, _) = res
  kh, kw, cin, cout = w.shape
  oh, ow, _ = g.shape
  # The weight gradient reads the windows in the layout they were stored in; a transposed
  # window matrix costs a copy of it every step.
  if cin == 1:
    dw = (patches @ g.reshape(oh * ow, cout)).reshape(w.shape)
  else:
    dw = jax.lax.dot_general(g.reshape(oh * ow, cout), patches.reshape(oh * ow, -1),
                             (((0,), (0,)), ((), ()))).T.reshape(w.shape)
  dp = (g @ w.reshape(-1, cout).T).reshape(oh, ow, kh, kw, cin)
  if oh == ow == 1:
    # One window (C5): its gradient is the input's, in place.
    return jnp.pad(dp.reshape(kh, kw, cin), ((0, h - kh), (0, wd - kw), (0, 0))), dw
  dx = sum(jnp.pad(dp[:, :, i, j], ((i, h - oh - i), (j, wd - ow - j), (0, 0)))
           for i in range(kh) for j in range(kw))
  # Ending this kh*kw-way sum with an exact dot by the identity computes it once, because XLA's
  # CPU backend recomputes a cheap-looking sum inside each of its consumers (four in LeNet-5's
  # backward pass) but does not duplicate a dot (a lax.optimization_barrier does not stop it).
  return (dx.reshape(-1, cin) @ jnp.eye(cin, dtype=dx.dtype)).reshape(dx.shape), dw


_im2col_conv.defvjp(_im2col_conv_fwd, _im2col_conv_bwd)


def _pool_2x2(x, reduce):
  """Reduces each non-overlapping 2x2 window of x (H, W, C) to one value."""
  h, w, c = x.shape
  if h % 2 or w % 2:
    raise ValueError(f"2x2 subsampling needs even height and width, got {h}x{w}")
  # A reshape exposes the windows without moving data (a transpose would copy, twice per step).
  return reduce(x.reshape(h // 2, 2, w // 2, 2, c), axis=(1, 3))


def subsample(x, coef, bias):
  """The paper's trainable subsampling: coef * (sum of each 2x2 window) + bias, one pair per map."""
  return _pool_2x2(x, jnp.sum) * coef + bias


def avg_pool(x):
  return _pool_2x2(x, jnp.mean)


def max_pool(x):
  return _pool_2x2(x, jnp.max)


def squash(a):
  """The paper's 'sigmoid': 1.7159 tanh(2a/3)."""
  return SQUASH_A * jnp.tanh(SQUASH_S * a)


def logistic(a):
  return jax.nn.sigmoid(a)


def relu(a):
  return jax.nn.relu(a)


def rbf_scores(x, prototypes):
  """Euclidean RBF output: y_i = sum_j (x_j - w_ij)^2 for each class i (smallest wins)."""
  return jnp.sum((x[None, :] - prototypes) ** 2, axis=-1)


def batched(fn, **kwargs):
  """Lift a per-example op to a batch on axis 0; weights and keyword options are shared."""
  def apply(x, *args):
    return jax.vmap(lambda xi: fn(xi, *args, **kwargs))(x)
  return apply
