"""The study note's output-size cases: floor((n - k + 2p + s) / s).

4x4 input, 3x3 kernel, padding 1 -> 4x4; padding 2 -> 6x6; a 2x2 kernel with stride 2 -> 2x2.
Each is computed by an actual convolution and by the formula, then a table of LeNet-5's layers.

  python launch.py --experiment=conv_shapes
"""
import ml_collections
import numpy as np

from lenet_jax import ops


def get_config():
  return ml_collections.ConfigDict({"experiment": "conv_shapes"})


NOTE_CASES = [  # (name, n, k, padding, stride, expected)
    ("3x3 kernel, padding 1", 4, 3, 1, 1, 4),
    ("3x3 kernel, padding 2", 4, 3, 2, 1, 6),
    ("2x2 kernel, stride 2", 4, 2, 0, 2, 2),
]
LENET_CASES = [
    ("C1: 32x32, 5x5", 32, 5, 0, 1, 28),
    ("S2: 28x28, 2x2 stride 2", 28, 2, 0, 2, 14),
    ("C3: 14x14, 5x5", 14, 5, 0, 1, 10),
    ("S4: 10x10, 2x2 stride 2", 10, 2, 0, 2, 5),
    ("C5: 5x5, 5x5", 5, 5, 0, 1, 1),
]


def run(config, workdir):
  del config, workdir
  rng = np.random.default_rng(0)
  rows = []
  print(f"{'case':28s} {'n':>3s} {'k':>2s} {'p':>2s} {'s':>2s}  formula  conv2d  expected")
  for name, n, k, p, s, expected in NOTE_CASES + LENET_CASES:
    x = rng.random((n, n, 1), np.float32)
    w = rng.random((k, k, 1, 1), np.float32)
    shape = ops.conv2d(x, w, stride=s, padding=p).shape[:2]
    formula = ops.conv_output_size(n, k, padding=p, stride=s)
    print(f"{name:28s} {n:3d} {k:2d} {p:2d} {s:2d}  {formula:3d}x{formula:<3d} "
          f"{shape[0]:3d}x{shape[1]:<3d} {expected:3d}x{expected}")
    rows.append(dict(case=name, n=n, k=k, padding=p, stride=s, formula=formula,
                     conv2d=list(shape), expected=expected))
  return {"cases": rows}
