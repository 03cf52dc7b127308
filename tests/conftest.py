import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"

# Many tests build a Trainer for the same small config, and each Trainer jit-compiles its own
# functions: JAX's persistent compilation cache lets them (and the launch.py subprocesses, which
# inherit the variables) reuse executables instead of compiling them again. The key is the
# program and its compile options, so a changed program is compiled afresh.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(ROOT / ".jax_test_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(2 ** 30))


def require_mnist():
  """The real MNIST files are part of the test setup (../shared/data/mnist): without them the
  tests fail with the fix, rather than skip and pass silently."""
  if not MNIST_DIR.is_dir():
    pytest.fail(f"MNIST IDX files not found at {MNIST_DIR}: place the four MNIST IDX files "
                "there (the repository expects ../shared beside it)")
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
