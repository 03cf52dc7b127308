"""benchmarks/predict_sweep.py: a sweep's wall time from two timed passes of each experiment, the
programs handed out in order to the first free worker."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

_SPEC = importlib.util.spec_from_file_location("predict_sweep",
                                               ROOT / "benchmarks" / "predict_sweep.py")
predict_sweep = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(predict_sweep)


def _results(wall, p1, p2, train_images=1000, test_images=2000, validation=1000):
  """A timed two-pass run's results.json, made by hand: p1, p2 are (seconds, eval_seconds)."""
  passes = [{"seconds": s, "eval_seconds": e} for s, e in (p1, p2)]
  return {"wall": wall, "lanes": [{"passes": passes}], "train_images": train_images,
          "test_images": test_images, "config": {"validation": validation}}


def _schedule(seconds, workers):
  """The longest worker's share when each program in turn goes to the worker free first."""
  finish = [0.0] * workers
  for s in seconds:
    free = finish.index(min(finish))
    finish[free] += s
  return max(finish)


def test_run_model_every_pass():
  # 1,000 training images, 2,000 test + 1,000 validation held out: 3/4 of an evaluation is the
  # held-out images' (pass 2: 3 of its 4 s), 1/4 the training set's (1 s). At 60x the images
  # a pass trains 2 x 60 = 120 s and evaluates the training set 60 s, the held-out ones 3 s:
  # 183 s. Pass 1 compiled 5 - 2 = 3 s of training and 6 - 4 = 2 s of evaluation; the two-pass
  # run spent 30 - 17 = 13 s outside its passes. Setup: 13 + 3 + 2 + one full pass = 201 s.
  m = predict_sweep.run_model(_results(30.0, (5.0, 6.0), (2.0, 4.0)), 60.0, last_pass=False)
  assert m == pytest.approx({"setup_s": 201.0, "pass_s": 183.0})


def test_run_model_last_pass_evaluates_the_training_set_once():
  # As above, but a pass before the last evaluates the held-out images only (3 s): 123 s. Pass
  # 2, the run's last, also measured the training set (1 s): pass 1's compilation is 3 s of
  # training and 6 - 3 = 3 s of evaluation. Setup: 13 + 6 + 123 + the last pass's training-set
  # evaluation at full scale, 60 s = 202 s.
  m = predict_sweep.run_model(_results(30.0, (5.0, 6.0), (2.0, 4.0)), 60.0, last_pass=True)
  assert m == pytest.approx({"setup_s": 202.0, "pass_s": 123.0})


def test_schedule_of_hand_timed_runs_on_two_workers(monkeypatch, tmp_path, capsys):
  # Pass 1 as long as pass 2 (1 s, nothing to compile), no evaluation, 60x the images: a full
  # pass 60 s, setup wall - 2 + 60, so e passes take wall - 2 + 60 e seconds.
  walls = {"a": 82.0, "b": 482.0, "c": 82.0, "d": 82.0}   # 2 passes: 200, 600, 200, 200 s
  runs = {n: _results(w, (1.0, 0.0), (1.0, 0.0)) for n, w in walls.items()}
  monkeypatch.setattr(predict_sweep.sweep, "get", lambda name: list(walls))
  monkeypatch.setattr(predict_sweep, "kind", lambda name: "training")
  monkeypatch.setattr(predict_sweep.os, "sched_getaffinity", lambda pid: {0, 1, 2})
  monkeypatch.setattr(predict_sweep.tempfile, "mkdtemp", lambda prefix: str(tmp_path))
  monkeypatch.setattr(predict_sweep, "_launch", lambda args, n, workdir, core, whole: {"name": n})
  monkeypatch.setattr(predict_sweep, "_wait", lambda jobs: {j["name"]: walls[j["name"]]
                                                            for j in jobs})
  monkeypatch.setattr(predict_sweep, "_read",
                      lambda path: dict(runs[os.path.basename(os.path.dirname(path))]))
  args = predict_sweep.parse_args(["--sweep=hand", "--workers=2", "--epochs=2,5",
                                   "--train_size=1000"])
  got = predict_sweep.predict(args)
  two, five = got["predictions"]
  assert two["per_experiment_s"] == pytest.approx({"a": 200.0, "b": 600.0, "c": 200.0,
                                                   "d": 200.0})
  assert five["per_experiment_s"] == pytest.approx({"a": 380.0, "b": 780.0, "c": 380.0,
                                                    "d": 380.0})
  # a and b start; a's worker is free first and takes c (400 s), then d (600 s) before b ends.
  assert two["predicted_s"] == pytest.approx(600.0)
  # 5 passes: a, c, d on one worker (1,140 s) while b (780 s) runs; round-robin would give 1,160.
  assert five["predicted_s"] == pytest.approx(1140.0)
  assert "predicted: --sweep=hand --seeds=5 --epochs=5 --sweep_workers=2" in capsys.readouterr().out


@pytest.mark.parametrize("workers, expect", [(1, 550.0), (2, 300.0)])
def test_schedule_hands_programs_in_order_to_the_first_free_worker(workers, expect):
  # Two workers: a and b start; a's is free at 100 s and takes c, then d at 200 s (b ends at
  # 250 s): 300 s. Round-robin would give b + d = 350 s; one worker the sum, 550 s.
  args = predict_sweep.parse_args(["--sweep=hand", f"--workers={workers}", "--epochs=3"])
  per = {3: {"a": 100.0, "b": 250.0, "c": 100.0, "d": 100.0}}
  (got,) = predict_sweep.schedule(["a", "b", "c", "d"], per, args)
  assert got["predicted_s"] == pytest.approx(expect) and got["epochs"] == 3


@pytest.mark.slow
def test_predicted_sweep_is_setup_plus_passes_over_the_workers(tmp_path):
  out = tmp_path / "p.json"
  env = dict(os.environ, TMPDIR=str(tmp_path))   # where the timed runs' workdirs go
  r = subprocess.run(
      [sys.executable, "benchmarks/predict_sweep.py", "--sweep=smoke", "--seeds=1",
       "--train_size=200", "--epochs=2,5", f"--json={out}"],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
  assert r.returncode == 0, r.stderr[-2000:]
  got = json.loads(out.read_text())
  names = ["c3_partial", "c3_full", "pool_max"]
  assert set(got["timed_wall_s"]) == set(names)
  (tmp,) = tmp_path.glob("predict_sweep_*")
  model = {}
  for n in names:
    timed = json.loads((tmp / n / "results.json").read_text())
    timed["wall"] = got["timed_wall_s"][n]
    model[n] = predict_sweep.run_model(timed, 60_000 / 200, last_pass=False)
    p2 = timed["lanes"][0]["passes"][1]
    assert model[n]["pass_s"] >= p2["seconds"] * 300 > 0 and model[n]["setup_s"] > 0
  assert [p["epochs"] for p in got["predictions"]] == [2, 5]
  for p in got["predictions"]:
    for n in names:
      expect = model[n]["setup_s"] + (p["epochs"] - 1) * model[n]["pass_s"]
      assert p["per_experiment_s"][n] == pytest.approx(expect, rel=1e-9)
    # One worker: the programs one after another.
    total = _schedule([p["per_experiment_s"][n] for n in names], workers=1)
    assert p["predicted_s"] == pytest.approx(total, rel=1e-9)
  assert "predicted: --sweep=smoke --seeds=1 --epochs=5 --sweep_workers=1" in r.stdout


def test_figure9_times_real_minutes_from_results_files(tmp_path, capsys):
  # Hand-made sweep: a and c trained directly; b a derived row whose two nets are its time.
  spec = importlib.util.spec_from_file_location("figure9_times",
                                                ROOT / "benchmarks" / "figure9_times.py")
  figure9_times = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(figure9_times)
  pred = {"workers": 2, "order": ["a", "b", "c"],
          "predictions": [{"per_experiment_s": {"a": 600.0, "b": 300.0, "c": 300.0}}]}
  (tmp_path / "pred.json").write_text(json.dumps(pred))
  def put(rel, seconds):
    os.makedirs(tmp_path / "res" / rel)
    (tmp_path / "res" / rel / "results.json").write_text(json.dumps({"total_seconds": seconds}))
  put("a", 1200.0)
  put("b", 60.0)                                  # only the derived row's last segment
  put("b/net2_seed0", 240.0)
  put("b/net3_seed0", 360.0)
  put("c", 150.0)
  figure9_times.main([f"--predicted={tmp_path / 'pred.json'}", f"--results={tmp_path / 'res'}"])
  out = capsys.readouterr().out
  assert "| `a` | 10.0 | 20.0 | 2.00 |" in out
  assert "| `b` | 5.0 | 10.0 | 2.00 |" in out            # 240 + 360 s, not its own 60
  assert "| `c` | 5.0 | 2.5 | 0.50 |" in out
  # Two workers: a on one (600 / 1200 s), b then c on the other (300 + 300 / 600 + 150 s).
  assert "predicted 0.17 h, real 0.33 h" in out
  assert "median 2.00, min 0.50, max 2.00" in out
