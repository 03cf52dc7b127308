"""Checkpoints trusted only when proven, and the files a run writes, each failure one line.

The runs are `python launch.py ...` as a user starts them, judged by what a user sees: the exit
code, stderr (one `error: ...` line naming the file and the fix, never a traceback) and the files
left in the workdir (nothing lost, nothing half-written). A few checks call the one function
that owns a write (results.write, workdir.save) directly."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_DIR, ROOT, launch, require_mnist, untimed

# One pass over 300 images, a checkpoint every 100 steps: checkpoints/100, 200 and 300.
ARGS = ["--experiment=c3_partial", "--set=train_size=300", "--set=sdlm_samples=50", "--epochs=1",
        "--set=checkpoint_every=100", "--set=steps_per_call=100", f"--mnist_dir={MNIST_DIR}",
        "--progress=false"]
# A run's lock and its log may change in a workdir that already existed.
MACHINERY = re.compile(r"(^\.lock$|^\.lock\.owner$|^log\.txt$)")


def run(workdir, *args):
  return launch(f"--workdir={workdir}", *ARGS, *args)


def lines_of(text):
  return [line for line in text.splitlines() if line.strip()]


def one_error_line(r, *words):
  """Exit status 2 and stderr exactly one `error: ` line holding every word. Returns it."""
  assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
  assert "Traceback" not in r.stderr, r.stderr[-3000:]
  lines = lines_of(r.stderr)
  assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-3000:]
  for word in words:
    assert word in lines[0], (word, lines[0])
  return lines[0]


def files_in(directory):
  """{relative path: bytes} of every file below directory, but the lock and the log."""
  directory = Path(directory)
  return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
          if p.is_file() and not p.is_symlink() and not MACHINERY.search(p.name)}


def checkpoint_steps(workdir):
  d = Path(workdir) / "checkpoints"
  return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit()) if d.is_dir() else []


def read_results(workdir):
  return json.loads((Path(workdir) / "results.json").read_text())


def meta_file(workdir, step):
  """The JSON orbax keeps a checkpoint's metadata in (the run's progress and its checksum)."""
  path = Path(workdir) / "checkpoints" / str(step) / "meta" / "metadata"
  assert "checksum" in json.loads(path.read_text()), "the checkpoint layout changed"
  return path


def drop_checksum(workdir, step):
  path = meta_file(workdir, step)
  meta = json.loads(path.read_text())
  del meta["checksum"]
  path.write_text(json.dumps(meta))


def truncate_arrays(workdir, step):
  data = [p for p in (Path(workdir) / "checkpoints" / str(step)).rglob("*")
          if p.is_file() and p.parent.name == "d"]
  assert data, "no array data files found: the checkpoint layout changed"
  for p in data:
    os.truncate(p, 20)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A finished run (checkpoints/100, 200, 300); tests work on copies of it."""
  require_mnist()
  workdir = tmp_path_factory.mktemp("finished") / "run"
  r = run(workdir)
  assert r.returncode == 0, r.stderr[-3000:]
  assert checkpoint_steps(workdir) == [100, 200, 300]
  return workdir


def copy_of(finished, tmp_path):
  target = tmp_path / "run"
  shutil.copytree(finished, target, symlinks=True)
  return target


def params(workdir):
  import jax
  from lenet_jax import trained
  got = trained.load(str(workdir))
  return got.step, [np.asarray(v) for v in jax.tree_util.tree_leaves(got.params)]


# --- (a) a checkpoint without a checksum is not trusted ---------------------------------------


def test_checkpoint_without_checksum_is_passed_over_with_a_warning(finished, tmp_path):
  workdir = copy_of(finished, tmp_path)
  drop_checksum(workdir, 300)
  r = run(workdir)
  assert r.returncode == 0, r.stderr[-3000:]
  assert "Traceback" not in r.stderr
  warnings = [line for line in lines_of(r.stderr) if "warning" in line]
  assert len(warnings) == 1, r.stderr[-3000:]
  assert "checkpoints/300" in warnings[0] and "no checksum" in warnings[0], warnings[0]
  assert "resuming from the checkpoint at pass 1, step 200" in r.stderr, r.stderr[-3000:]
  # Step 300 trained again from 200: the same record, the same parameters, a checksum again.
  assert untimed(read_results(workdir)) == untimed(read_results(finished))
  (want_step, want), (got_step, got) = params(finished), params(workdir)
  assert got_step == want_step == 300
  for a, b in zip(want, got, strict=True):
    np.testing.assert_array_equal(a, b)
  assert "checksum" in json.loads(meta_file(workdir, 300).read_text())


# --- (b) a finished run with damaged checkpoints; another model's checkpoints -----------------


@pytest.mark.parametrize("damage", [truncate_arrays, drop_checksum],
                         ids=["truncated_arrays", "no_checksum"])
def test_finished_run_whose_checkpoints_are_damaged_keeps_its_results(finished, tmp_path,
                                                                      damage):
  workdir = copy_of(finished, tmp_path)
  for step in checkpoint_steps(workdir):
    damage(workdir, step)
  before = files_in(workdir)
  line = one_error_line(run(workdir), str(workdir), "finished run", "results.json intact",
                        "results stand", "--overwrite", "--workdir")
  assert "damaged" in line
  assert files_in(workdir) == before, "a failed resume changed or removed files"


def test_finished_run_without_its_checkpoints_is_not_redone(finished, tmp_path):
  # Checkpoints removed to save space: the rerun trained again from scratch and overwrote the
  # results.json of the finished run.
  workdir = copy_of(finished, tmp_path)
  shutil.rmtree(workdir / "checkpoints")
  before = files_in(workdir)
  r = run(workdir)
  assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
  assert files_in(workdir) == before, "the finished run was trained again"


def test_checkpoints_of_another_model_are_named_so_not_damaged(finished, tmp_path):
  # A run killed before its first results.json leaves checkpoints only; rerun with two seeds
  # (a state of another shape) it is another model's, which --overwrite would discard.
  workdir = copy_of(finished, tmp_path)
  (workdir / "results.json").unlink()
  before = files_in(workdir)
  line = one_error_line(run(workdir, "--seeds=2"), "another model", "seeds", "--overwrite")
  assert "damaged" not in line, line
  assert files_in(workdir) == before


# --- (c) workdir paths orbax cannot read checkpoints back from ----------------------------------


@pytest.mark.parametrize("path", ["a[1]", "x]y[z", "back\\slash", "p[1]/run"],
                         ids=["brackets", "brackets_reversed", "backslash", "in_the_parent"])
def test_workdir_path_orbax_cannot_read_back_is_refused_before_writing(tmp_path, path):
  require_mnist()
  root = tmp_path / "root"
  root.mkdir()
  if "/" in path:
    (root / path).parent.mkdir()
  workdir = root / path
  one_error_line(run(workdir), "--workdir", "[" if "[" in path else "\\")
  assert not workdir.exists()
  assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == (
      [str(Path(path).parent)] if "/" in path else []), "something was written"


# --- (d) what a SIGKILL during a write leaves is removed by the next run -----------------------


def test_temporary_file_of_a_cut_write_is_removed_by_the_next_run(finished, tmp_path):
  workdir = copy_of(finished, tmp_path)
  (workdir / ".tmp-q7wz3k.json").write_bytes(b"")   # what files.atomic_write's mkstemp leaves
  (workdir / ".tmp-probe1x2y").write_bytes(b"")
  results = (workdir / "results.json").read_bytes()
  r = run(workdir)
  assert r.returncode == 0, r.stderr[-3000:]
  assert not [p.name for p in workdir.iterdir() if p.name.startswith(".tmp")]
  assert (workdir / "results.json").read_bytes() == results


# --- files outside the guarded writes: the lock, the log ---------------------------------------


def _dangling_link(path):
  path.symlink_to(path.parent / "nowhere" / "lock")


@pytest.mark.parametrize("name, block", [(".lock", Path.mkdir), (".lock", _dangling_link),
                                         ("log.txt", Path.mkdir)],
                         ids=["lock_directory", "lock_dangling_link", "log_directory"])
def test_lock_or_log_that_cannot_be_written_is_one_line_naming_it(finished, tmp_path, name,
                                                                  block):
  workdir = copy_of(finished, tmp_path)
  (workdir / name).unlink()
  block(workdir / name)
  before = files_in(workdir)
  one_error_line(run(workdir), str(workdir / name), "--workdir")
  assert files_in(workdir) == before


def test_log_on_a_full_disk_is_one_line_naming_it(finished, tmp_path):
  # /dev/full takes any open and refuses every write with ENOSPC: log.txt on a full disk.
  workdir = copy_of(finished, tmp_path)
  (workdir / "log.txt").unlink()
  (workdir / "log.txt").symlink_to("/dev/full")
  before = files_in(workdir)
  one_error_line(run(workdir), str(workdir / "log.txt"), "no space left", "free ")
  assert files_in(workdir) == before


# --- results.json: one writer -------------------------------------------------------------------


def test_results_write_on_a_full_disk_is_one_error_and_keeps_the_old_file(finished, tmp_path):
  # No file may grow past 4 KiB (RLIMIT_FSIZE): results.json (~6 KB) cannot be written (EFBIG).
  workdir = copy_of(finished, tmp_path)
  old = (workdir / "results.json").read_bytes()
  code = ("import json, resource, signal, sys\n"
          "from lenet_jax import files, results\n"
          "record = json.load(open(sys.argv[1] + '/results.json'))\n"
          "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
          "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
          "try:\n"
          "  results.write(sys.argv[1], record)\n"
          "except files.WriteError as e:\n"
          "  sys.exit(f'error: {e}')\n")
  r = subprocess.run([sys.executable, "-c", code, str(workdir)], cwd=ROOT, capture_output=True,
                     text=True, timeout=120)
  assert r.returncode == 1, (r.returncode, r.stderr[-3000:])
  assert len(old) > 4096, "the record fits under the limit: the test proves nothing"
  line = one_error_line(subprocess.CompletedProcess(r.args, 2, r.stdout, r.stderr),
                        str(workdir / "results.json"), "no space left", "free ")
  assert re.search(r"\d\s*(bytes|KiB|MiB)", line), line
  assert (workdir / "results.json").read_bytes() == old
  assert not [p.name for p in workdir.iterdir() if p.name.startswith(".tmp")]


def test_results_write_refuses_a_record_no_reader_accepts(tmp_path):
  from lenet_jax import results
  with pytest.raises(ValueError, match="would not read back.*'lanes'"):
    results.write(str(tmp_path), {"config": {}, "status": "done"})
  assert not list(tmp_path.iterdir())


# --- workdir.save: one checkpoint per step ------------------------------------------------------


def test_save_at_a_step_that_exists_replaces_that_checkpoint(tmp_path):
  # Earlier versions left a mid-pass checkpoint at a pass's last step (a signal in its last
  # call); resuming such a workdir saves the end-of-pass checkpoint at the same step.
  import jax.numpy as jnp
  from lenet_jax import workdir
  manager = workdir.checkpoint_manager(str(tmp_path), keep=3)
  state = {"w": jnp.arange(6.0)}
  workdir.save(manager, 300, state, {"run": {"step": 300}})
  workdir.save(manager, 300, state, {"run": {"step": 0, "epoch": 1}})
  workdir.close(manager)
  manager = workdir.checkpoint_manager(str(tmp_path), keep=3)
  try:
    got, meta = workdir.restore_latest(manager, state)
  finally:
    workdir.close(manager)
  assert meta == {"run": {"step": 0, "epoch": 1}, "step": 300}
  assert checkpoint_steps(tmp_path) == [300]
  np.testing.assert_array_equal(np.asarray(got["w"]), np.arange(6.0))
