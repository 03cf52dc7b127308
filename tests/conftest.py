from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The XLA flags launch.py sets for every run, before anything starts JAX's backend.
from lenet_jax import devices  # noqa: E402
devices.cpu_flags()
MNIST_DIR = ROOT / "lenet_jax" / "mnist"   # the copy that ships with the package


# results.json fields that differ between any two runs of the same config.
UNTIMED = {"seconds", "images_per_second", "eval_seconds", "total_seconds", "resumed", "device",
           "peak_rss_mib"}


def untimed(obj):
  """obj without the UNTIMED fields, at any depth."""
  if isinstance(obj, dict):
    return {k: untimed(v) for k, v in obj.items() if k not in UNTIMED}
  if isinstance(obj, list):
    return [untimed(v) for v in obj]
  return obj


def require_mnist():
  """The real MNIST files are part of the repository (lenet_jax/mnist): without them the tests
  fail with the fix, rather than skip and pass silently."""
  if not MNIST_DIR.is_dir():
    pytest.fail(f"MNIST IDX files not found at {MNIST_DIR}: restore them with "
                "`git checkout -- lenet_jax/mnist`")
  return MNIST_DIR


@pytest.fixture(scope="session")
def mnist_dir():
  return str(require_mnist())


def small_config(mnist_dir, **overrides):
  """The paper's recipe shrunk for tests: 300 training images, 1 pass, h from 100 patterns."""
  import experiments
  c = experiments.load("c3_partial").get_config()
  c.mnist_dir, c.train_size, c.epochs, c.sdlm_samples = mnist_dir, 300, 1, 100
  for k, v in overrides.items():
    c[k] = v
  return c
