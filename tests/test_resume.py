"""Checkpoints and exact resume: a run stopped by SIGTERM or killed by SIGKILL mid-pass and then
rerun ends with the same parameters and results as a run never interrupted."""
import json
import os
import signal
import time

import numpy as np
import orbax.checkpoint as ocp
import pytest

from lenet_jax import train, workdir
from conftest import launch, small_config, untimed

STEPS_PER_PASS = 3000
# Timing fields differ between any two runs; "resumed" records the interruptions.


def command(mnist_dir, workdir):
  """The arguments of launch.py."""
  return ["--experiment=c3_partial", f"--mnist_dir={mnist_dir}", f"--workdir={workdir}",
          "--epochs=2", f"--set=train_size={STEPS_PER_PASS}", "--set=sdlm_samples=100",
          "--set=checkpoint_every=500", "--set=steps_per_call=250", "--progress=false"]


def run(args, **kwargs):
  """`python launch.py ARGS`, with the user's $LENET_MNIST_DIR (which launch() leaves out), no
  time limit."""
  return launch(*args, timeout=None, **kwargs)




def checkpoint_steps(workdir):
  d = os.path.join(workdir, "checkpoints")
  return sorted(int(n) for n in os.listdir(d) if n.isdigit()) if os.path.isdir(d) else []


def final_params(workdir):
  step = checkpoint_steps(workdir)[-1]
  tree = ocp.StandardCheckpointer().restore(os.path.join(workdir, "checkpoints", str(step),
                                                         "state"))
  return step, tree["params"]


def run_until_checkpoint(cmd, workdir, wanted, sig):
  """Starts launch.py with the arguments cmd, waits for a checkpoint step satisfying
  wanted(step), sends sig."""
  proc = run(cmd, background=True)
  deadline = time.time() + 300
  while time.time() < deadline:
    if any(wanted(s) for s in checkpoint_steps(workdir)):
      break
    assert proc.poll() is None, "the run ended before it could be interrupted"
    time.sleep(0.02)
  assert proc.poll() is None, "the run ended before it could be interrupted"
  proc.send_signal(sig)
  out, err = proc.communicate(timeout=120)
  return proc.returncode, out, err


@pytest.mark.slow
def test_sigterm_and_sigkill_then_resume_match_an_uninterrupted_run(mnist_dir, tmp_path):
  ref_dir, cut_dir = str(tmp_path / "ref"), str(tmp_path / "cut")
  run(command(mnist_dir, ref_dir), check=True)

  # SIGTERM in pass 1: a clean stop with a checkpoint and a one-line message on how to resume.
  rc, _, err = run_until_checkpoint(command(mnist_dir, cut_dir), cut_dir,
                                    lambda s: 0 < s < STEPS_PER_PASS, signal.SIGTERM)
  assert rc == 130, err
  last = err.strip().splitlines()[-1]
  assert last.startswith("error: SIGTERM received") and "rerun the same command" in last
  stopped_at = checkpoint_steps(cut_dir)[-1]
  assert 0 < stopped_at < STEPS_PER_PASS

  # SIGKILL in pass 2, after pass 1's results were written: no chance to clean up.
  rc, _, err = run_until_checkpoint(command(mnist_dir, cut_dir), cut_dir,
                                    lambda s: STEPS_PER_PASS < s < 2 * STEPS_PER_PASS,
                                    signal.SIGKILL)
  assert rc == -signal.SIGKILL
  assert "resuming from the checkpoint at pass 1" in err
  partial = json.loads(open(os.path.join(cut_dir, "results.json")).read())
  assert partial["status"] == "running" and len(partial["passes"]) == 1

  done = run(command(mnist_dir, cut_dir))
  assert done.returncode == 0, done.stderr
  assert "resuming from the checkpoint at pass 2" in done.stderr

  ref = json.loads(open(os.path.join(ref_dir, "results.json")).read())
  cut = json.loads(open(os.path.join(cut_dir, "results.json")).read())
  assert cut["status"] == "done" and len(cut["resumed"]) == 2
  assert untimed(cut) == untimed(ref)
  (ref_step, ref_params), (cut_step, cut_params) = final_params(ref_dir), final_params(cut_dir)
  assert ref_step == cut_step == 2 * STEPS_PER_PASS
  np.testing.assert_array_equal(np.concatenate([np.ravel(v) for v in _leaves(ref_params)]),
                                np.concatenate([np.ravel(v) for v in _leaves(cut_params)]))
  assert not [f for f in os.listdir(cut_dir) if f.startswith(".tmp")]


def _leaves(tree):
  import jax
  return [np.asarray(v) for v in jax.tree_util.tree_leaves(tree)]


@pytest.mark.slow
def test_rerun_of_a_finished_run_returns_its_results(mnist_dir, tmp_path):
  first = train.train_and_evaluate(small_config(mnist_dir), str(tmp_path), progress=False)
  again = train.train_and_evaluate(small_config(mnist_dir), str(tmp_path), progress=False)
  assert untimed(again) == untimed(first)


@pytest.mark.slow
def test_workdir_of_another_config_is_refused_unless_overwrite(mnist_dir, tmp_path):
  train.train_and_evaluate(small_config(mnist_dir), str(tmp_path), progress=False)
  with pytest.raises(workdir.WorkdirError, match=r"differs in: map_j.*--overwrite"):
    train.train_and_evaluate(small_config(mnist_dir, map_j=1.0), str(tmp_path), progress=False)
  r = train.train_and_evaluate(small_config(mnist_dir, map_j=1.0), str(tmp_path),
                               progress=False, overwrite=True)
  assert r["config"]["map_j"] == 1.0
  on_disk = json.loads((tmp_path / "results.json").read_text())
  assert on_disk["config"]["map_j"] == 1.0


@pytest.mark.slow
def test_corrupt_checkpoint_is_a_clear_error(mnist_dir, tmp_path):
  train.train_and_evaluate(small_config(mnist_dir), str(tmp_path), progress=False)
  os.unlink(tmp_path / "results.json")
  step = checkpoint_steps(str(tmp_path))[-1]
  state_dir = tmp_path / "checkpoints" / str(step) / "state"
  for root, _, files in os.walk(state_dir):
    for f in files:
      with open(os.path.join(root, f), "wb") as fh:
        fh.write(b"\x00garbage")
  with pytest.raises(workdir.WorkdirError, match=r"no readable checkpoint.*--overwrite"):
    train.train_and_evaluate(small_config(mnist_dir), str(tmp_path), progress=False)


def test_unwritable_workdir_is_a_clear_error(mnist_dir, tmp_path):
  # A path below a regular file cannot be created, even by root.
  blocker = tmp_path / "a_file"
  blocker.write_text("")
  with pytest.raises(workdir.WorkdirError, match="not writable.*--workdir"):
    train.train_and_evaluate(small_config(mnist_dir), str(blocker / "run"), progress=False)
