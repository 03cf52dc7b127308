"""benchmarks/device_check.sh, shrunk with --small, runs on a CPU: known to work the day an
accelerator is there."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_device_check_runs_small_on_cpu(mnist_dir, tmp_path):
  # No MNIST_DIR: the script reads the copy in the repository (mnist_dir checks it is there).
  env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
  env.update(OUT=str(tmp_path), PYTHON=sys.executable)
  r = subprocess.run(["bash", "benchmarks/device_check.sh", "--small"], cwd=ROOT, env=env,
                     capture_output=True, text=True, timeout=600)
  assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
  table = (tmp_path / "device_check.md").read_text()
  assert "device: cpu" in table and "jax " in table
  for name in ("tests", "bench", "c3_partial_b1", "seeds_b1", "modern_b128"):
    assert f"| {name} | ok |" in table, table
  assert "| seeds_b1 | 2 |" in table


def test_device_check_refuses_an_unknown_option(tmp_path):
  r = subprocess.run(["bash", "benchmarks/device_check.sh", "--big"], cwd=ROOT,
                     env=dict(os.environ, OUT=str(tmp_path)), capture_output=True, text=True)
  assert r.returncode == 2 and "unknown option --big" in r.stderr
