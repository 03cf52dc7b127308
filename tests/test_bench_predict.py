"""bench.py --predict_sweep: a sweep's wall time from two timed passes of representatives."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_predicted_sweep_is_setup_plus_passes_over_the_workers(mnist_dir, tmp_path):
  out = tmp_path / "p.json"
  r = subprocess.run(
      [sys.executable, "benchmarks/bench.py", "--predict_sweep=smoke,figure6",
       "--predict_from=c3_partial,pool_max", "--sweep_seeds=1", "--sweep_epochs=2,5",
       f"--mnist_dir={mnist_dir}", f"--json={out}",
       "--sweep_args=--set=train_size=200 --set=sdlm_samples=50"],
      cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert r.returncode == 0, r.stderr[-2000:]
  got = json.loads(out.read_text())
  timed = got["timed"]
  assert set(timed) == {"c3_partial", "pool_max"}
  for t in timed.values():
    assert 0 < t["pass_s"] < t["wall_s"] and t["setup_s"] > 0
    assert abs(t["setup_s"] + t["pass_s"] - t["wall_s"]) < 1e-6
  med = lambda k: sorted(t[k] for t in timed.values())[0] / 2 + sorted(
      t[k] for t in timed.values())[1] / 2
  expect = {"c3_partial": timed["c3_partial"], "pool_max": timed["pool_max"]}
  for p in got["predictions"]:
    names = {"smoke": ["c3_partial", "c3_full", "pool_max"],
             "figure6": ["train_15k", "train_30k", "c3_partial"]}[p["sweep"]]
    # One worker: the experiments one after another; the untimed ones at the medians.
    total = sum(expect[n]["setup_s"] + (p["epochs"] - 1) * expect[n]["pass_s"] if n in expect
                else med("setup_s") + (p["epochs"] - 1) * med("pass_s") for n in names)
    assert abs(p["predicted_s"] - total) < 1e-6, p
  assert "predicted: --sweep=smoke --seeds=1 --epochs=5 --sweep_workers=1" in r.stdout
