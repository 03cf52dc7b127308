"""Figure 9's experiments end to end, as a user runs them: bad values of the new fields are one
error line before anything is written; the experiments built on a trained LeNet-4 (k-NN on its
outputs, boosting) run on a tiny config and record what they promise; Figure 10's measure
against hand-computed cases."""
import json

import numpy as np
import pytest

from conftest import launch
from lenet_jax import derived

TINY = ["--epochs=1", "--set=train_size=600", "--set=sdlm_samples=50", "--noprogress"]


def run(*args, timeout=900):
  # With the user's $LENET_MNIST_DIR, which launch() would leave out: these runs give no
  # --mnist_dir.
  return launch(*args, timeout=timeout)


@pytest.mark.parametrize("args,words", [
    (["--experiment=mlp_300", "--set=network=lenet7"], ["network", "lenet7", "use one of"]),
    (["--experiment=mlp_300", "--set=hidden=(0,)"], ["hidden", "(0,)", ">= 1"]),
    (["--experiment=mlp_300", "--set=hidden=()"], ["hidden", "needs hidden"]),
    (["--experiment=lenet1", "--set=hidden=(300,)"], ["hidden", "takes no"]),
    (["--experiment=c3_partial", "--set=pixels=permuted"], ["permutation_seed", "-1"]),
    (["--experiment=lenet4", "--set=output=rbf_bitmap", "--set=loss=map"], ["output", "F6"]),
    (["--experiment=mlp_300_deslant", "--set=pixels=permuted", "--set=permutation_seed=0"],
     ["pixels", "deslant"]),
    (["--experiment=boosted_lenet4", "--set=set_size=1"], ["set_size", ">= 2"]),
    (["--experiment=lenet4_knn", "--set=k=-1"], ["k", ">= 1"]),
])
def test_bad_new_fields_are_one_line_and_nothing_written(tmp_path, args, words):
  workdir = tmp_path / "run"
  r = run(*args, f"--workdir={workdir}", *TINY)
  lines = [l for l in r.stderr.splitlines() if l.strip()]
  assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
  assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-2000:]
  for word in words:
    assert word in lines[0], (word, lines[0])
  assert not workdir.exists()


def test_rejection_share_by_hand():
  # Larger wins. Margins: 3, 2, 1, 0.5; the two least confident are wrong (labels 1, 1).
  scores = np.array([[4.0, 1.0], [3.0, 1.0], [2.0, 1.0], [1.5, 1.0]])
  labels = np.array([0, 0, 1, 1])
  # Accepting the 2 most confident gives 0 errors; 3 gives 1/3 > 0.5%: reject 2 of 4.
  assert derived.rejection_share(scores, labels, larger_wins=True) == pytest.approx(50.0)
  # Distances (smaller wins) are the same case negated.
  assert derived.rejection_share(-scores, labels, larger_wins=False) == pytest.approx(50.0)
  # Nothing wrong: nothing rejected; everything wrong: everything rejected.
  assert derived.rejection_share(scores, np.zeros(4, int), True) == 0.0
  assert derived.rejection_share(scores, np.ones(4, int), True) == 100.0


@pytest.mark.slow
def test_knn_and_boosting_build_on_the_lenet4_beside_them(tmp_path):
  base = ["--seeds=2", *TINY]
  assert run("--experiment=lenet4", f"--workdir={tmp_path / 'lenet4'}", *base).returncode == 0
  knn = run("--experiment=lenet4_knn", f"--workdir={tmp_path / 'lenet4_knn'}", *base)
  assert knn.returncode == 0, knn.stderr[-2000:]
  assert "using the finished lenet4 run" in knn.stdout
  assert not (tmp_path / "lenet4_knn" / "lenet4").exists()   # reused, not trained again
  r = json.loads((tmp_path / "lenet4_knn" / "results.json").read_text())
  lenet4 = json.loads((tmp_path / "lenet4" / "results.json").read_text())
  assert [l["seed"] for l in r["lanes"]] == [0, 1]
  for lane, net in zip(r["lanes"], lenet4["lanes"]):
    assert lane["net_test_errors"] == net["passes"][-1]["test_errors"]
    assert lane["final_test_error"] == pytest.approx(lane["test_errors"] / 100.0)
    assert lane["k"] in (1, 3, 5)
  boost = run("--experiment=boosted_lenet4", f"--workdir={tmp_path / 'boosted_lenet4'}",
              "--set=set_size=600", *base)
  assert boost.returncode == 0, boost.stderr[-2000:]
  r = json.loads((tmp_path / "boosted_lenet4" / "results.json").read_text())
  for lane, net in zip(r["lanes"], lenet4["lanes"]):
    assert lane["net_test_errors"][0] == net["passes"][-1]["test_errors"]   # net 1 is lenet4
    assert len(lane["net_test_errors"]) == 3 and 0.0 <= lane["rejection_for_0.5"] <= 100.0
  for seed in (0, 1):
    for net in (2, 3):
      done = json.loads((tmp_path / "boosted_lenet4" / f"net{net}_seed{seed}" /
                         "results.json").read_text())
      assert done["train_images"] == 600 and done["lanes"][0]["seed"] == seed
    assert r["cost"][str(seed)][f"net2_seed{seed}"]["draws"] >= 600
  # Run again: everything is finished, nothing is filtered or trained again.
  again = run("--experiment=boosted_lenet4", f"--workdir={tmp_path / 'boosted_lenet4'}",
              "--set=set_size=600", *base)
  assert again.returncode == 0 and "pass  1/1" not in again.stdout, again.stdout[-2000:]
  assert json.loads((tmp_path / "boosted_lenet4" / "results.json").read_text())["lanes"] == \
      r["lanes"]
