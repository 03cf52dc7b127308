import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# One JAX compilation cache for the session: the pytest workers and every launch.py they start
# inherit it, so the same program compiles once (the executables, and so the numbers, are the
# same; most of a small run's time is compilation). Set by the process that starts the workers.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ and os.environ.get("LENET_TEST_CACHE") != "0":
  _cache = tempfile.mkdtemp(prefix="lenet-jax-test-cache-")
  atexit.register(shutil.rmtree, _cache, ignore_errors=True)
  os.environ.update(JAX_COMPILATION_CACHE_DIR=_cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                    JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1")
# The XLA flags launch.py sets for every run, before anything starts JAX's backend.
from lenet_jax import devices  # noqa: E402
devices.cpu_flags()
MNIST_DIR = ROOT / "lenet_jax" / "mnist"   # the copy that ships with the package
MNIST_ENV = "LENET_MNIST_DIR"


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


def launch_env(**changes):
  """os.environ without LENET_MNIST_DIR (so that only --mnist_dir counts), then `changes` (a
  value of None removes that variable)."""
  env = {k: v for k, v in os.environ.items() if k != MNIST_ENV}
  for name, value in changes.items():
    if value is None:
      env.pop(name, None)
    else:
      env[name] = str(value)
  return env


def launch_argv(*args):
  """The command line of `python launch.py ARGS`."""
  return [sys.executable, str(ROOT / "launch.py"), *map(str, args)]


def launch(*args, env=None, background=False, timeout=600, cwd=ROOT, **kwargs):
  """Runs `python launch.py ARGS` as a user would, from the repository's root, in launch_env(
  **env): the finished CompletedProcess (stdout and stderr as text), or with `background` the
  running Popen (stdout and stderr piped). kwargs go to subprocess (stdout=, preexec_fn=)."""
  argv, full = launch_argv(*args), launch_env(**(env or {}))
  if background:
    pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.Popen(argv, cwd=cwd, env=full, **{**pipes, **kwargs})
  return subprocess.run(argv, cwd=cwd, env=full, capture_output=True, text=True,
                        timeout=timeout, **kwargs)


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
