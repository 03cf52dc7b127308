"""Strided ops.conv2d against a float64 NumPy loop reference: the value and the gradients with
respect to x, w and b, for both implementations.

XLA 0.10.2's CPU compiler aborts the whole process on the gradient of some strided convolutions,
so the cases run in a child process that prints conv2d's value and gradients as JSON: an abort
fails the test instead of ending pytest.

Tolerance: |got - ref| <= 1e-5 * S + 1e-6, where S is the same sum taken over the absolute
values of its terms; every sum here has at most 64 terms, so float32 accumulation error is
below 64 * 6e-8 * S.
"""
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

# Runs in the child: reads the cases from stdin, names each on stderr before computing it (so an
# abort says which), prints [y, dx, dw, db] per case.
CHILD = r"""
import json, sys
import jax, jax.numpy as jnp, numpy as np
from lenet_jax import ops

impl = sys.argv[1]
results = []
for case in json.load(sys.stdin):
  print("case", case["name"], file=sys.stderr, flush=True)

  @jax.jit
  def value_and_grads(x, w, b, g):
    conv = lambda x, w, b: ops.conv2d(x, w, b, stride=case["stride"], padding=case["padding"],
                                      impl=impl)
    y, vjp = jax.vjp(conv, x, w, b)
    return (y, *vjp(g))

  outs = value_and_grads(*(jnp.asarray(case[k], jnp.float32) for k in "xwbg"))
  results.append([np.asarray(v, np.float64).tolist() for v in outs])
print(json.dumps(results))
"""

# (H, W, Cin), (kh, kw, Cout): inputs and kernels square and not, taller and wider.
SHAPES = [((4, 10, 3), (4, 2, 2)), ((7, 5, 2), (3, 3, 3)), ((6, 6, 1), (2, 5, 2)),
          ((9, 8, 2), (5, 4, 1)), ((3, 4, 3), (3, 1, 2)), ((5, 7, 1), (1, 3, 3)),
          ((8, 3, 2), (2, 2, 2))]
# Every pair of strides 1..3 and paddings 0..2, cycling through the shapes.
GRID = [(shape, stride, padding) for shape, (stride, padding) in zip(
    itertools.cycle(SHAPES),
    itertools.product(itertools.product((1, 2, 3), repeat=2),
                      itertools.product((0, 1, 2), repeat=2)))]
# Shapes whose gradient XLA 0.10.2 failed to compile as one strided convolution.
ABORTED = [(((4, 10, 3), (4, 2, 2)), (2, 2), (1, 1)),
           (((6, 7, 3), (2, 5, 2)), (2, 2), (1, 2)),
           (((3, 4, 3), (5, 2, 3)), (2, 2), (1, 1)),
           (((6, 4, 1), (5, 2, 1)), (3, 2), (0, 1)),
           (((4, 5, 1), (2, 5, 1)), (2, 1), (1, 1))]
CASES = ABORTED + GRID


def ref_conv2d_and_grads(x, w, b, g, stride, padding):
  """float64 loops: y = conv2d(x, w, b) and the gradients of sum(g * y) with respect to x, w
  and b, each with the sums of its terms' absolute values."""
  (sh, sw), (ph, pw) = stride, padding
  h, wd, _ = x.shape
  kh, kw, _, _ = w.shape
  xpad = np.pad(x, ((ph, ph), (pw, pw), (0, 0)))
  oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
  assert g.shape[:2] == (oh, ow)
  y, y_abs = np.tile(b, (oh, ow, 1)), np.tile(np.abs(b), (oh, ow, 1))
  dxpad, dxpad_abs = np.zeros_like(xpad), np.zeros_like(xpad)
  dw, dw_abs = np.zeros_like(w), np.zeros_like(w)
  for i in range(oh):
    for j in range(ow):
      for a in range(kh):
        for c in range(kw):
          pixel, kernel = xpad[i * sh + a, j * sw + c], w[a, c]   # (cin,), (cin, cout)
          y[i, j] += pixel @ kernel
          y_abs[i, j] += np.abs(pixel) @ np.abs(kernel)
          dxpad[i * sh + a, j * sw + c] += kernel @ g[i, j]
          dxpad_abs[i * sh + a, j * sw + c] += np.abs(kernel) @ np.abs(g[i, j])
          dw[a, c] += np.outer(pixel, g[i, j])
          dw_abs[a, c] += np.outer(np.abs(pixel), np.abs(g[i, j]))
  crop = (slice(ph, ph + h), slice(pw, pw + wd))
  return [(y, y_abs), (dxpad[crop], dxpad_abs[crop]), (dw, dw_abs),
          (g.sum(axis=(0, 1)), np.abs(g).sum(axis=(0, 1)))]


def make_case(n, shape, stride, padding):
  """Case n's float32 inputs, as JSON-ready lists, and its name."""
  (h, wd, cin), (kh, kw, cout) = shape
  oh, ow = (h + 2 * padding[0] - kh) // stride[0] + 1, (wd + 2 * padding[1] - kw) // stride[1] + 1
  rng = np.random.default_rng(n)
  arrays = [rng.normal(size=s).astype(np.float32)
            for s in ((h, wd, cin), (kh, kw, cin, cout), (cout,), (oh, ow, cout))]
  name = f"x {h}x{wd}x{cin}, w {kh}x{kw}x{cin}x{cout}, stride {stride}, padding {padding}"
  case = dict(zip("xwbg", (a.tolist() for a in arrays)), stride=stride, padding=padding,
              name=name)
  return case, arrays


def run_child(impl, cases):
  """conv2d's [y, dx, dw, db] for each case, computed in a child process."""
  proc = subprocess.run([sys.executable, "-c", CHILD, impl], input=json.dumps(cases),
                        capture_output=True, text=True, timeout=600)
  lines = proc.stderr.splitlines()
  # The case it was computing, and XLA's reason when it aborted (else the error's last lines).
  why = ([l for l in lines if l.startswith("case ")][-1:]
         + ([l for l in lines if "Check failed" in l][:1] or lines[-3:]))
  assert proc.returncode == 0, f"child exited {proc.returncode}:\n" + "\n".join(why)
  return json.loads(proc.stdout)


def test_grid_covers_strides_paddings_and_the_aborted_case():
  # The grid's design, checked so that a narrowed grid cannot pass silently.
  strides = {stride for _, stride, _ in CASES}
  paddings = {padding for _, _, padding in CASES}
  assert strides == set(itertools.product((1, 2, 3), repeat=2))
  assert paddings == set(itertools.product((0, 1, 2), repeat=2))
  assert (((4, 10, 3), (4, 2, 2)), (2, 2), (1, 1)) in CASES
  for (h, wd, _), (kh, kw, _) in SHAPES:
    assert kh <= h and kw <= wd


@pytest.mark.slow
@pytest.mark.parametrize("impl", ["xla", "im2col"])
def test_strided_conv2d_value_and_gradients_match_loop_reference(impl):
  cases, inputs = zip(*(make_case(n, *c) for n, c in enumerate(CASES)))
  results = run_child(impl, list(cases))
  assert len(results) == len(cases)
  bad = []
  for case, arrays, got in zip(cases, inputs, results):
    x, w, b, g = (a.astype(np.float64) for a in arrays)
    refs = ref_conv2d_and_grads(x, w, b, g, case["stride"], case["padding"])
    for what, out, (ref, scale) in zip(("y", "dx", "dw", "db"), got, refs):
      out = np.asarray(out)
      if out.shape != ref.shape or np.any(np.abs(out - ref) > 1e-5 * scale + 1e-6):
        err = np.abs(out - ref).max() if out.shape == ref.shape else f"shape {out.shape}"
        bad.append(f"{case['name']}: {what} differs from the reference ({err})")
  assert not bad, "\n".join(bad)
