"""Sweeps: experiments that differ only in lane fields train as one program and give the same
numbers as training each alone; the others train alone; finished experiments are skipped."""
import json

import numpy as np
import pytest

from conftest import small_config
from lenet_jax import config as config_lib
from lenet_jax import lanes, train, workdir
from lenet_jax.sweep import run as runner


def test_plan_groups_only_experiments_differing_in_lane_fields(mnist_dir):
  base = small_config(mnist_dir)
  configs = {
      "base": base,
      "j": small_config(mnist_dir, map_j=1.0, sdlm_mu=0.5),
      "full": small_config(mnist_dir, c3="full"),
      "seed5": small_config(mnist_dir, seed=5, learning_rate=0.1),
      "full_j": small_config(mnist_dir, c3="full", map_j=2.0),
      "pinned": small_config(mnist_dir, lane_sets=({"map_j": 3.0},)),
  }
  got = runner.plan(list(configs), list(configs.values()))
  assert [members for members, _ in got] == [["base", "j", "seed5"], ["full", "full_j"],
                                             ["pinned"]]
  merged = got[0][1]
  assert merged.experiment == "base+j+seed5"
  got_lanes = lanes.lanes_of(merged)
  assert [(l["seed"], l["map_j"], l["sdlm_mu"], l["learning_rate"]) for l in got_lanes] == [
      (0, base.map_j, base.sdlm_mu, 0.0), (0, 1.0, 0.5, 0.0), (5, base.map_j, base.sdlm_mu, 0.1)]
  assert got[2][1] is configs["pinned"]
  # A seed that also draws the training subset must match for the data to be shared.
  rand = [small_config(mnist_dir, train_subset="random", seed=s) for s in (0, 1)]
  assert [m for m, _ in runner.plan(["r0", "r1"], rand)] == [["r0"], ["r1"]]


def test_bad_lane_sets_are_errors(mnist_dir):
  with pytest.raises(ValueError, match=r"lane_sets: entry \{'c3': 'full'\} is not a dict of lane"):
    config_lib.validate(small_config(mnist_dir, lane_sets=({"c3": "full"},)))
  with pytest.raises(ValueError, match="lane_sets: entry 0.1 is not a dict"):
    config_lib.validate(small_config(mnist_dir, lane_sets=(0.1,)))


@pytest.mark.slow
def test_grouped_sweep_equals_each_experiment_alone(mnist_dir, tmp_path):
  # (Which experiments group is test_plan_groups_only_experiments_differing_in_lane_fields's job.)
  configs = {"a": small_config(mnist_dir, seeds=2),
             "b": small_config(mnist_dir, seeds=2, map_j=1.0, sdlm_mu=0.5)}
  fit = lambda c, w: train.train_and_evaluate(c, w, progress=False)
  root = tmp_path / "sweep"
  runner.run(list(configs), list(configs.values()), str(root), fit)
  assert (root / "a+b" / "results.json").exists()
  summary = json.loads((root / "summary.json").read_text())
  assert [row["experiment"] for row in summary["experiments"]] == ["a", "b"]
  for name in ("a", "b"):
    grouped = json.loads((root / name / "results.json").read_text())
    alone = fit(configs[name], str(tmp_path / f"{name}_alone"))
    assert grouped["experiment"] == name and grouped["status"] == "done"
    assert grouped["config"]["map_j"] == configs[name].map_j
    assert grouped["trained_with"]["experiments"] == ["a", "b"]
    assert [(l["seed"], l["overrides"]) for l in grouped["lanes"]] == [(0, {}), (1, {})]
    for g, s in zip(grouped["lanes"], alone["lanes"]):
      g, s = g["passes"][-1], s["passes"][-1]
      assert g["test_errors"] == s["test_errors"]
      # Four models vmapped against two: equal to float32 rounding.
      np.testing.assert_allclose([g["test_loss"], g["train_loss"]],
                                 [s["test_loss"], s["train_loss"]], rtol=1e-5)
  # The two experiments really differ (j and mu took effect per member).
  a, b = (json.loads((root / n / "results.json").read_text()) for n in ("a", "b"))
  assert a["lanes"][0]["passes"][-1]["test_loss"] != b["lanes"][0]["passes"][-1]["test_loss"]
  # Rerun: everything is finished, so nothing trains.
  def refuse(config, workdir):
    raise AssertionError(f"{config.experiment} trained again")
  again = runner.run(list(configs), list(configs.values()), str(root), refuse)
  assert again["b"]["lanes"] == b["lanes"]
  # A finished experiment of another config is an error, not silently reused.
  changed = dict(configs, b=small_config(mnist_dir, seeds=2, map_j=1.0, sdlm_mu=0.5, epochs=2))
  with pytest.raises(workdir.WorkdirError, match="differs in: epochs"):
    runner.run(list(changed), list(changed.values()), str(root), refuse)


def test_runs_saved_before_a_config_field_existed_still_resume(mnist_dir):
  config = small_config(mnist_dir)
  saved = json.loads(json.dumps(config.to_dict()))
  del saved["lane_sets"]   # as results.json held it before lane_sets was added
  assert workdir.config_mismatch(saved, config) == []
  assert workdir.config_mismatch(saved, small_config(mnist_dir, lane_sets=({"seed": 3},))) == [
      "lane_sets"]
