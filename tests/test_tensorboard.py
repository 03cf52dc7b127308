"""TensorBoard event files: one run per lane, every pass's numbers, read back with TensorFlow's
own event reader (not the writer's code)."""
import glob
import json
import os

import pytest

from conftest import small_config
from lenet_jax import train


def _scalars(run_dir):
  import tensorflow as tf   # the reader TensorBoard itself builds on; slow to import
  out = {}
  for path in glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for v in event.summary.value:
        out.setdefault(v.tag, []).append((event.step, v.simple_value))
  return out


@pytest.mark.slow
def test_every_lane_writes_its_passes(mnist_dir, tmp_path):
  c = small_config(mnist_dir, seeds=2, epochs=2, vary=("map_j=0.1,1.0",))
  r = train.train_and_evaluate(c, str(tmp_path), progress=False)
  runs = sorted(os.listdir(tmp_path / "tensorboard"))
  assert runs == ["seed0", "seed0_map_j=1", "seed1", "seed1_map_j=1"]
  on_disk = json.loads((tmp_path / "results.json").read_text())
  for lane in on_disk["lanes"]:
    name = f"seed{lane['seed']}" + ("_map_j=1" if lane["overrides"] else "")
    got = _scalars(tmp_path / "tensorboard" / name)
    steps = [300, 600]   # 300 images at batch 1: the end of passes 1 and 2
    for key in ("test_error", "train_error", "train_loss_online", "eta"):
      assert [s for s, _ in got[key]] == steps, key
      assert [v for _, v in got[key]] == pytest.approx(
          [p[key] for p in lane["passes"]], rel=1e-6), key
  assert r["lanes"][0]["passes"][0]["test_error"] == on_disk["lanes"][0]["passes"][0]["test_error"]
