"""Many models in one program: vmapped lanes equal separate runs, per-lane hyperparameters take
effect, the lane axis shards over devices with the same numbers, a diverged lane is marked."""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import experiments
from conftest import MNIST_DIR, ROOT, launch, require_mnist, small_config, untimed
from lenet_jax import config as config_lib
from lenet_jax import data, lanes as lanes_lib, step, train

STEPS = 50
LANES = [dict(seed=0, sdlm_mu=0.1, map_j=0.1, learning_rate=0.0),
         dict(seed=1, sdlm_mu=0.1, map_j=0.1, learning_rate=0.0),
         dict(seed=0, sdlm_mu=0.3, map_j=0.1, learning_rate=0.0),
         dict(seed=0, sdlm_mu=0.1, map_j=2.0, learning_rate=0.0)]


def flat(params):
  return np.concatenate([np.asarray(v).reshape(v.shape[0], -1)
                         for v in jax.tree_util.tree_leaves(params)], axis=1)


def train_lanes(lanes, mesh=None, **config_fields):
  """STEPS optimiser steps of the paper's recipe for `lanes` in one program; (lanes, params)."""
  c = experiments.load("c3_partial").get_config()
  c.sdlm_samples = 100
  for k, v in config_fields.items():
    c[k] = v
  ds = data.load_mnist(str(MNIST_DIR), train_size=1000)
  x, y = jnp.asarray(ds.train_x), jnp.asarray(ds.train_y)
  t = lanes_lib.Programs(step.make_recipe(c, 1000), mesh, c.lane_group)
  state = t.init_lanes(lanes)
  state = t.refresh(state, x, y, 0, 0)
  order = t.order(state, 0, 1000, 1000, 1)
  state, _ = t.train_steps(state, x, y, order, STEPS)
  return flat(state["params"])


@pytest.fixture(scope="module")
def alone():
  """Each lane trained by itself, its hyperparameters given as the config's own values."""
  require_mnist()
  return np.concatenate([
      train_lanes([lane], sdlm_mu=lane["sdlm_mu"], map_j=lane["map_j"], seed=lane["seed"])
      for lane in LANES])


@pytest.mark.slow
def test_vmapped_lanes_equal_separate_runs(alone):
  together = train_lanes(LANES)
  # Batched and unbatched matmuls sum in different orders: equal to float32 rounding.
  np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("group", [1, 2])
def test_lane_groups_equal_separate_runs(alone, group):
  # Groups of `group` lanes vmapped, the groups one after another in the same call.
  np.testing.assert_allclose(train_lanes(LANES, lane_group=group), alone, rtol=0, atol=1e-6)


def test_vmapped_together_is_the_largest_divisor_up_to_the_group():
  assert [lanes_lib.vmapped_together(g, 6) for g in (0, 1, 2, 4, 5, 6, 9)] == [6, 1, 2, 3, 3, 6, 6]
  assert lanes_lib.vmapped_together(2, 1) == 1


def test_lane_group_is_checked():
  c = experiments.load("c3_partial").get_config()
  assert c.lane_group == 0                 # default: all lanes in one vmap
  config_lib.validate(c)
  c.lane_group = -1
  with pytest.raises(ValueError, match="lane_group: must be >= 0"):
    config_lib.validate(c)


def test_per_lane_hyperparameters_take_effect(alone):
  # Lanes 2 and 3 share lane 0's seed (same initialisation and data order) but not mu or j.
  for k in (2, 3):
    assert np.abs(alone[k] - alone[0]).max() > 1e-4, k   # 100x the tolerance above
  assert np.abs(alone[1] - alone[0]).max() > 1e-3


SHARDED = """
import sys, numpy as np, jax
import test_lanes
from lenet_jax import lanes
assert jax.device_count() == 4, jax.devices()
mesh = lanes.lane_mesh(4)
np.save(sys.argv[1], test_lanes.train_lanes(test_lanes.LANES, mesh, init="fan_in"))
"""


@pytest.mark.slow
def test_sharded_over_four_cpu_devices_gives_the_same_numbers(tmp_path):
  # The paper's +-2.4/F: with the authors' initialisation the last bits of a lane also depend
  # on how many XLA devices the host is split into (the thread count of XLA CPU's kernels), so
  # a 4-device run matches a 1-device one only to float32 rounding.
  alone = np.concatenate([
      train_lanes([lane], sdlm_mu=lane["sdlm_mu"], map_j=lane["map_j"], seed=lane["seed"],
                  init="fan_in") for lane in LANES])
  out = tmp_path / "sharded.npy"
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
             PYTHONPATH=str(ROOT / "tests"))
  r = subprocess.run([sys.executable, "-c", SHARDED, str(out)], cwd=ROOT, env=env,
                     capture_output=True, text=True)
  assert r.returncode == 0, r.stderr[-3000:]
  # One lane per device runs the single-model program: identical to training it alone.
  np.testing.assert_array_equal(np.load(out), alone)


@pytest.mark.slow
def test_seeds_and_vary_give_one_lane_each(mnist_dir, tmp_path):
  c = small_config(mnist_dir, seeds=2, vary=("map_j=0.1,1.0",))
  r = train.train_and_evaluate(c, str(tmp_path), progress=False)
  lanes = json.loads((tmp_path / "results.json").read_text())["lanes"]
  assert [(l["seed"], l["overrides"]) for l in lanes] == [
      (0, {}), (1, {}), (0, {"map_j": 1.0}), (1, {"map_j": 1.0})]
  assert all(l["status"] == "done" and len(l["passes"]) == 1 for l in lanes)
  assert len({l["passes"][0]["test_loss"] for l in lanes}) == 4
  assert r["status"] == "done"


def test_bad_vary_is_an_error_naming_the_fields(mnist_dir, tmp_path):
  with pytest.raises(ValueError, match="sdlm_mu"):
    train.train_and_evaluate(small_config(mnist_dir, vary=("c3=full,partial",)), str(tmp_path),
                             progress=False)
  assert not os.path.exists(tmp_path / "results.json")


@pytest.mark.slow
def test_a_diverged_lane_is_marked_and_the_others_go_on(mnist_dir, tmp_path):
  # ReLU and a linear output are unbounded: lane 1's huge rate overflows to inf, then NaN.
  c = small_config(mnist_dir, optimizer="sgd", learning_rate=1e-3, activation="relu",
                   output="linear", loss="cross_entropy", vary=("learning_rate=0.001,1e30",))
  r = train.train_and_evaluate(c, str(tmp_path), progress=False)
  good, bad = r["lanes"]
  assert good["status"] == "done" and np.isfinite(good["final_test_error"])
  assert bad["status"] == "diverged" and bad["diverged_at"]["pass"] == 1
  assert bad["passes"] == []


@pytest.mark.slow
def test_a_diverged_single_run_stops_and_says_so(mnist_dir, tmp_path):
  c = small_config(mnist_dir, optimizer="sgd", learning_rate=1e30, activation="relu",
                   output="linear", loss="cross_entropy", epochs=2)
  with pytest.raises(train.DivergenceError, match=r"pass 1 \(.*by step \d+.*no checkpoint"):
    train.train_and_evaluate(c, str(tmp_path), progress=False)
  on_disk = json.loads((tmp_path / "results.json").read_text())
  assert on_disk["status"] == "diverged"
  assert on_disk["lanes"][0]["diverged_at"]["pass"] == 1
  assert "final_test_error" not in on_disk


@pytest.mark.slow
@pytest.mark.parametrize("eval_batch", [250, 0])   # 0: the default, 10 on CPU
def test_evaluate_lanes_equals_evaluating_each_model(eval_batch):
  require_mnist()
  c = experiments.load("c3_partial").get_config()
  c.eval_batch_size = eval_batch
  ds = data.load_mnist(str(MNIST_DIR), train_size=500)
  # 505 images: whole batches in one scan, and a shorter batch after them.
  x, y = jnp.asarray(ds.test_x[:505]), jnp.asarray(ds.test_y[:505])
  t = lanes_lib.Programs(step.make_recipe(c, 500))
  state = t.init_lanes(LANES[:3] + [dict(LANES[3])])
  got = t.evaluate(state["params"], x, y, state["map_j"])
  for k, lane in enumerate(LANES):
    params = jax.tree.map(lambda v: v[k], state["params"])
    # One lane alone: evaluated as one model (the lane axis squeezed).
    one = t.evaluate(jax.tree.map(lambda v: v[k:k + 1], state["params"]), x, y,
                     state["map_j"][k:k + 1])[0]
    assert got[k]["errors"] == one["errors"]
    np.testing.assert_allclose(got[k]["loss"], one["loss"], rtol=1e-5)
    # Against the whole split in one forward pass, errors and losses summed in NumPy.
    scores = t.recipe.model.apply({"params": params}, x)
    per_image = [float(t.recipe.loss(scores[i:i + 1], y[i:i + 1], lane["map_j"])) for i in range(505)]
    wrong = int(np.sum(np.argmin(np.asarray(scores), axis=1) != np.asarray(y)))
    assert one["errors"] == wrong and one["error"] == 100.0 * wrong / 505
    np.testing.assert_allclose(one["loss"], np.mean(per_image), rtol=1e-5)


PADDED = """
import json, sys, jax
from conftest import small_config
from lenet_jax import train
assert jax.device_count() == 2, jax.devices()
r = train.train_and_evaluate(small_config(sys.argv[2], seeds=3), sys.argv[1], progress=False)
print(json.dumps(r["lane_devices"]))
"""


@pytest.mark.slow
def test_lanes_that_do_not_divide_the_devices_are_padded(mnist_dir, tmp_path):
  # 3 seeds on 2 devices train as 2 + 2 (one thrown-away copy), not 3 on one device; the
  # results hold the 3 real lanes, each as trained without padding (to rounding: a lane's
  # batched matmuls sum in another order next to a different number of neighbours).
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
             PYTHONPATH=str(ROOT / "tests"))
  r = subprocess.run([sys.executable, "-c", PADDED, str(tmp_path / "padded"), mnist_dir],
                     cwd=ROOT, env=env, capture_output=True, text=True)
  assert r.returncode == 0, r.stderr[-3000:]
  assert r.stdout.split()[-1] == "2"
  padded = json.loads((tmp_path / "padded" / "results.json").read_text())["lanes"]
  alone = train.train_and_evaluate(small_config(mnist_dir, seeds=3), str(tmp_path / "one"),
                                   progress=False)["lanes"]
  assert [l["seed"] for l in padded] == [0, 1, 2]
  for p, a in zip(padded, alone):
    assert p["status"] == "done"
    np.testing.assert_allclose(p["passes"][0]["train_loss_online"],
                               a["passes"][0]["train_loss_online"], rtol=1e-4)
    assert abs(p["final_test_error"] - a["final_test_error"]) <= 0.03   # <= 3 of 10,000 images


LAYOUT_ARGS = ("--experiment=c3_partial", "--seeds=3", "--epochs=1", "--set=train_size=300",
               "--set=sdlm_samples=50", "--noprogress")


def _lane_numbers(results):
  """Every number each lane's pass records, but the timings."""
  return [untimed(lane["passes"]) for lane in results["lanes"]]


@pytest.mark.slow
def test_same_layout_is_identical_other_layouts_agree_to_rounding(mnist_dir, tmp_path):
  # README (Many seeds): a lane's numbers may depend, in their last bits, on the layout of the
  # lanes over XLA devices and on the cores XLA's threads run on: 3 seeds as 3 on one device, as
  # 2 + 2 on two (one per core), and as 3 on one pinned core (a --sweep_workers worker) agree to
  # float32 rounding (a few test errors); the same layout on the same cores is identical.
  cores = sorted(os.sched_getaffinity(0))
  if len(cores) < 2:
    pytest.skip("two devices, and a core fewer, need two cores")

  def run(name, *args, **env):
    r = launch(*LAYOUT_ARGS, f"--mnist_dir={mnist_dir}", f"--workdir={tmp_path / name}", *args,
               env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((tmp_path / name / "results.json").read_text())

  one_device = "--xla_force_host_platform_device_count=1"
  one = run("one", XLA_FLAGS=one_device)
  assert _lane_numbers(run("again", XLA_FLAGS=one_device)) == _lane_numbers(one)
  assert one["lane_devices"] == 1
  for devices, other in ((2, run("two")), (1, run("pinned", f"--cpu_core={cores[0]}"))):
    assert other["lane_devices"] == devices
    for a, b in zip(other["lanes"], one["lanes"]):
      a, b = a["passes"][0], b["passes"][0]
      np.testing.assert_allclose([a["train_loss"], a["test_loss"], a["train_loss_online"]],
                                 [b["train_loss"], b["test_loss"], b["train_loss_online"]],
                                 rtol=1e-5)
      assert abs(a["test_errors"] - b["test_errors"]) <= 3
