"""The sweep summary (table, JSON, plots) from fabricated results, and the sweep registry."""
import json
import math

import pytest

import experiments
from lenet_jax import config as config_lib
from lenet_jax import paper
from lenet_jax import sweep as sweeps
from lenet_jax.sweep import summary


def _pass(i, test_error, ips, train_error=0.5):
  return {"pass": i, "train_error_online": 2.0, "train_error": train_error,
          "test_error": test_error, "test_loss": 0.1, "seconds": 10.0, "images_per_second": ips}


def _lane(seed, test_errors, ips, status="done", **extra):
  passes = [_pass(i + 1, e, ips) for i, e in enumerate(test_errors)]
  lane = {"seed": seed, "overrides": {}, "passes": passes, "status": status, **extra}
  if passes:
    lane["final_test_error"] = passes[-1]["test_error"]
  return lane


def _results(name, lanes):
  return {"experiment": name, "config": {"seed": 0}, "parameters": 60000, "lanes": lanes,
          "total_seconds": 123.0}


@pytest.fixture
def entries():
  a = _results("c3_partial", [
      _lane(0, [5.0, 2.0, 1.0], 100.0),
      _lane(1, [6.0, 2.5, 1.2], 200.0),
      _lane(2, [7.0, 3.0, 1.4], 300.0),
  ])
  # Seed 2 finished one pass (test error 40%) and diverged in the second: it must not count.
  b = _results("pool_max", [
      _lane(0, [8.0, 2.0], 50.0),
      _lane(1, [9.0, 3.0], 50.0),
      _lane(2, [40.0], 50.0, status="diverged", diverged_at={"pass": 2, "step": 7}),
  ])
  return [("c3_partial", a), ("pool_max", b)]


# What the two experiments declare (experiments.about), as the runner passes it.
ABOUT = {"c3_partial": {"change": "the headline recipe (authors' init, mu 0.25)",
                        "paper_test_error": 0.95},
         "pool_max": {"change": "the change", "paper_test_error": None}}


def test_statistics_against_hand_computed_values(tmp_path, entries):
  out = summary.write_summary(entries, str(tmp_path), ABOUT)
  a, b = out["experiments"]
  assert a["experiment"] == "c3_partial" and b["experiment"] == "pool_max"

  # c3_partial: finals 1.0, 1.2, 1.4 -> mean 1.2, sample std sqrt((0.04 + 0 + 0.04) / 2) = 0.2.
  assert a["seeds_finished"] == 3 and a["diverged"] == 0
  assert a["test_error_mean"] == pytest.approx(1.2)
  assert a["test_error_std"] == pytest.approx(0.2)
  assert (a["test_error_min"], a["test_error_max"]) == (1.0, 1.4)
  assert a["paper_test_error"] == 0.95
  assert a["change"] == "the headline recipe (authors' init, mu 0.25)"
  assert a["images_per_second"] == pytest.approx(100.0 + 200.0 + 300.0)
  assert a["per_pass"]["mean"] == pytest.approx([6.0, 2.5, 1.2])
  assert a["per_pass"]["min"] == [5.0, 2.0, 1.0]
  assert a["per_pass"]["max"] == [7.0, 3.0, 1.4]

  # pool_max: finals 2.0 and 3.0 (the diverged lane's 40% left out) -> mean 2.5,
  # sample std sqrt((0.25 + 0.25) / 1) = 0.7071.
  assert b["seeds_finished"] == 2 and b["diverged"] == 1 and b["diverged_seeds"] == [2]
  assert b["test_error_mean"] == pytest.approx(2.5)
  assert b["test_error_std"] == pytest.approx(math.sqrt(0.5))
  assert (b["test_error_min"], b["test_error_max"]) == (2.0, 3.0)
  assert b["paper_test_error"] is None
  assert b["per_pass"]["mean"] == pytest.approx([8.5, 2.5])    # not (8 + 9 + 40) / 3
  assert b["images_per_second"] == pytest.approx(150.0)         # 3 lanes at 50 img/s each

  on_disk = json.loads((tmp_path / "summary.json").read_text())
  assert on_disk["experiments"][1]["test_error_mean"] == pytest.approx(2.5)


def test_markdown_table(tmp_path, entries):
  summary.write_summary(entries, str(tmp_path), ABOUT)
  text = (tmp_path / "summary.md").read_text()
  rows = [l for l in text.splitlines() if l.startswith("| c3_partial") or l.startswith("| pool_max")]
  assert len(rows) == 2
  a, b = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
  assert a == ["c3_partial", "the headline recipe (authors' init, mu 0.25)", "3/3", "1.20 ± 0.20", "1.00", "1.40", "0.95",
               "0.50", "-", "600", "0"]
  assert b == ["pool_max", "the change", "2/3", "2.50 ± 0.71", "2.00", "3.00", "-",
               "0.50", "-", "150", "1"]


def test_what_an_experiment_declares_comes_from_its_config_without_about(tmp_path, entries):
  entries[1][1]["config"]["about"] = {"change": "recorded", "paper_test_error": 7.5}
  b = summary.write_summary(entries, str(tmp_path))["experiments"][1]
  assert (b["change"], b["paper_test_error"]) == ("recorded", 7.5)


def test_plots_are_readable_pngs(tmp_path, entries):
  from PIL import Image
  summary.write_summary(entries, str(tmp_path))
  for name in ("test_error_per_pass.png", "final_errors.png"):
    path = tmp_path / name
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as im:
      im.verify()
    with Image.open(path) as im:
      w, h = im.size
      assert 400 <= w <= 4000 and 300 <= h <= 3000, (name, im.size)
      colors = im.convert("RGB").getcolors(maxcolors=1 << 20)
      assert colors is not None and len(colors) > 20, name   # not a blank canvas
  # Written atomically: no temporary files left beside them.
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      "final_errors.png", "summary.json", "summary.md", "test_error_per_pass.png"]


def test_rows_split_by_varied_field_and_old_format(tmp_path):
  lanes = [_lane(0, [3.0], 10.0), _lane(0, [4.0], 10.0)]
  lanes[1]["overrides"] = {"learning_rate": 0.003}
  old = {"experiment": "opt_adam", "config": {"seed": 0}, "parameters": 60000,
         "passes": [_pass(1, 1.5, 20.0)], "final_test_error": 1.5, "status": "done",
         "total_seconds": 5.0}
  out = summary.write_summary([("opt_sgd", _results("opt_sgd", lanes)), ("opt_adam", old)],
                              str(tmp_path))
  labels = [r["label"] for r in out["experiments"]]
  assert labels == ["opt_sgd", "opt_sgd [learning_rate=0.003]", "opt_adam"]
  assert [r["test_error_mean"] for r in out["experiments"]] == [3.0, 4.0, 1.5]
  assert out["experiments"][0]["test_error_std"] is None        # one seed: no sample std


def test_every_diverged_or_empty(tmp_path):
  dead = _results("act_relu", [_lane(0, [], 1.0, status="diverged"),
                               _lane(1, [], 1.0, status="diverged")])
  out = summary.write_summary([("act_relu", dead)], str(tmp_path))
  r = out["experiments"][0]
  assert r["seeds_finished"] == 0 and r["diverged"] == 2 and r["test_error_mean"] is None
  assert (tmp_path / "final_errors.png").stat().st_size > 0
  summary.write_summary([], str(tmp_path / "empty"))
  assert (tmp_path / "empty" / "test_error_per_pass.png").exists()


# What each experiment of the ablation sweep changes in c3_partial's config ("experiment" aside).
EXPECTED_CHANGES = {
    "c3_partial": {},
    "c3_full": {"c3": "full"},
    "pool_avg": {"pooling": "avg"},
    "pool_max": {"pooling": "max"},
    "act_logistic": {"activation": "logistic", "expect_stall": True},
    "act_relu": {"activation": "relu"},
    "out_rbf_random": {"output": "rbf_random"},
    "out_linear": {"output": "linear", "loss": "cross_entropy"},
    "loss_mle": {"loss": "mle"},
    "opt_sgd": {"optimizer": "sgd", "learning_rate": 1e-3},
    "opt_adam": {"optimizer": "adam", "learning_rate": 1e-4},
    "init_default": {"init": "flax_default"},
    "train_15k": {"train_size": 15000},
    "train_30k": {"train_size": 30000},
    "modern": {"c3": "full", "pooling": "avg", "activation": "relu", "output": "linear",
               "loss": "cross_entropy", "optimizer": "adam", "learning_rate": 1e-3,
               "batch_size": 32},
    "init_paper_text": {"init": "fan_in", "sdlm_mu": 0.02, "expect_stall": True},
}


def test_ablation_sweep_configs_differ_from_the_recipe_as_expected():
  names = sweeps.get("paper_ablations")
  assert sorted(names) == sorted(EXPECTED_CHANGES)
  base = experiments.load("c3_partial").get_config().to_dict()
  for name in names:
    module = experiments.load(name)
    assert not hasattr(module, "run"), name          # a training experiment
    config = module.get_config()
    assert config.experiment == name
    got = {k: v for k, v in config.to_dict().items() if k != "experiment" and v != base[k]}
    assert got == EXPECTED_CHANGES[name], name
    assert experiments.about(name)["change"], name
    config_lib.validate(config)   # a combination training accepts


def test_sweep_registry():
  assert sweeps.names() == ["figure6", "figure9", "paper_ablations", "sdlm_verdict", "smoke"]
  assert sweeps.get("smoke") == ["c3_partial", "c3_full", "pool_max"]
  for name in sweeps.names():
    for experiment in sweeps.get(name):
      assert experiment in experiments.names(), experiment
      about = experiments.about(experiment)   # declared by the module, the paper's row valid
      assert about["change"], experiment
      if about["paper_row"]:
        assert about["paper_test_error"] == paper.figure9_row(about["paper_row"])["test_error"]
  # Every row of Figure 9 with a neural or classical method of the paper has its experiment.
  rows = {experiments.about(n)["paper_row"] for n in sweeps.get("figure9")}
  assert {r[0] for r in paper.FIGURE9 if "SVM" not in r[0]} == rows - {None}
  with pytest.raises(sweeps.UnknownSweep, match="unknown sweep 'nope'; valid sweeps: "
                                                 "figure6, figure9, paper_ablations, sdlm_verdict, smoke"):
    sweeps.get("nope")
  assert issubclass(sweeps.UnknownSweep, ValueError)
