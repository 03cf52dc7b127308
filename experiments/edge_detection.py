"""The study note's edge detector: cross-correlation finds where the image changes.

A 6x8 image, 1 (white) except columns 2..5, which are 0 (black), cross-correlated with the
1x2 kernel [[1, -1]] gives a 6x7 map: 1 in column 1 (white to black), -1 in column 5 (black to
white), 0 elsewhere. The transposed kernel on the transposed image finds horizontal edges.

  python launch.py --experiment=edge_detection
"""
import ml_collections
import numpy as np

from lenet_jax import ops


def get_config():
  return ml_collections.ConfigDict({"experiment": "edge_detection"})


def image():
  x = np.ones((6, 8), np.float32)
  x[:, 2:6] = 0.0
  return x


KERNEL = np.array([[1.0, -1.0]], np.float32)


def edges(img, kernel):
  """Single-channel cross-correlation through lenet_jax.ops.conv2d."""
  return np.asarray(ops.conv2d(img[:, :, None], kernel[:, :, None, None]))[:, :, 0]


def _show(name, a):
  print(f"{name} {a.shape[0]}x{a.shape[1]}:")
  print("\n".join("  " + " ".join(f"{v:2.0f}" for v in row) for row in a))


def run(config, workdir):
  del config, workdir
  img = image()
  vertical = edges(img, KERNEL)
  horizontal = edges(img.T, KERNEL.T)
  _show("image", img)
  _show("kernel", KERNEL)
  _show("vertical edges (image * [[1, -1]])", vertical)
  _show("horizontal edges (image.T * [[1], [-1]])", horizontal)
  return {"image": img.tolist(), "vertical": vertical.tolist(), "horizontal": horizontal.tolist()}
