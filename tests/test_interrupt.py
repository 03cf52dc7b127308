"""A run stopped anywhere (SIGINT, SIGTERM or SIGKILL) and then rerun with the same command until it
exits 0 ends with exactly the results.json and parameters of a run never interrupted.

Each run is `python launch.py ...` as a user starts it. The points are reached by watching the
workdir (orbax writes checkpoints/STEP.orbax-checkpoint-tmp, then renames it to STEP) and by
waiting fractions of the gaps measured in an uninterrupted run; there is no test hook. Where each
signal took effect is read from what the run did (its message, its files) and printed (-s).
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_DIR, launch, untimed

PASS = 300   # optimiser steps per pass (300 images, batch size 1)
# Two passes, a checkpoint after every jitted call of 50 steps; pass 1 also has the calls that
# SDLM's first-pass refreshes of h split off (ending at steps 1, 2, 4, ..., 64, 128, 256).
ARGS = ["--experiment=c3_partial", "--epochs=2", f"--set=train_size={PASS}",
        "--set=sdlm_samples=50", "--set=checkpoint_every=50", "--set=steps_per_call=50",
        f"--mnist_dir={MNIST_DIR}", "--progress=false"]
MID = [s for s in range(50, 2 * PASS, 50) if s % PASS]   # the mid-pass checkpoints
POLL = 0.002
TMP = ".orbax-checkpoint-tmp"
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
  """The changes to the user's environment (for launch()'s env): a compilation cache the runs
  share (a start takes ~5 CPU seconds instead of ~12; what they compute is the same)."""
  cache = tmp_path_factory.mktemp("jax_cache")
  return {"JAX_COMPILATION_CACHE_DIR": str(cache),
          "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
          "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}


def start(workdir, env, args=ARGS):
  return launch(f"--workdir={workdir}", *args, env=env, background=True)


def rerun(workdir, env, args=ARGS):
  return launch(f"--workdir={workdir}", *args, env=env, timeout=900)


def names(workdir) -> set[str]:
  try:
    return set(os.listdir(Path(workdir) / "checkpoints"))
  except FileNotFoundError:
    return set()


def steps(workdir) -> list[int]:
  return sorted(int(n) for n in names(workdir) if n.isdigit())


def event(kind: str, step: int, now: set[str], before: set[str] = frozenset()) -> bool:
  """Whether the save of checkpoint `step` has begun ("saving") or ended ("saved") since
  `before` was listed."""
  tmp = f"{step}{TMP}"
  return str(step) in now or (kind == "saving" and tmp in now and tmp not in before)


def record_of(path) -> dict:
  """results.json without what differs between any two runs of a config: timings, and the
  commit (the lead may commit while the chains run)."""
  got = untimed(json.loads(Path(path).read_text()))
  got.pop("commit", None)
  return got


def results_passes(workdir) -> int:
  try:
    return len(json.loads((Path(workdir) / "results.json").read_text())["passes"])
  except (OSError, ValueError, KeyError):
    return 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory, env):
  """An uninterrupted run (the second of two: the first fills the compilation cache), and when
  each checkpoint's save began and ended, in seconds after the run started."""
  root = tmp_path_factory.mktemp("interrupt")
  cold = rerun(root / "cold", env)
  assert cold.returncode == 0, cold.stderr[-3000:]
  workdir, t0, seen = root / "ref", time.monotonic(), {}
  proc = start(workdir, env)
  while proc.poll() is None:
    now = names(workdir)
    for s in MID + [PASS, 2 * PASS]:
      for kind in ("saving", "saved"):
        if (kind, s) not in seen and event(kind, s, now):
          seen[(kind, s)] = time.monotonic() - t0
    time.sleep(POLL)
  _, err = proc.communicate()
  assert proc.returncode == 0, err[-3000:]
  assert record_of(workdir / "results.json") == record_of(root / "cold" / "results.json")
  return workdir, seen, time.monotonic() - t0


def plan(seen):
  """The interrupt points in the order a run reaches them: (what to wait for, its step, seconds
  to wait after it, what it aims at)."""
  first = seen[("saving", MID[0])]
  gap = lambda s: seen[("saving", s + 50)] - seen[("saved", s)]
  points = [("start", 0, 1.0, "startup: the imports"),
            ("start", 0, 0.7 * first, "startup: data, compilation, first calls")]
  for p in (0, 1):
    last, end = (p + 1) * PASS - 50, (p + 1) * PASS
    for s in [m for m in MID if p * PASS < m < last]:
      points += [("saving", s, 0.0, f"the save of checkpoint {s}"),
                 ("saved", s, 0.0, f"the call after checkpoint {s}")]
    points += [("saving", last, 0.0, f"the save of checkpoint {last}"),
               ("saved", last, 0.5 * gap(last), f"pass {p + 1}'s last call or evaluation"),
               ("saving", end, 0.0, f"the end-of-pass save of checkpoint {end}"),
               ("saved", end, 0.0, f"after checkpoint {end}, at results.json")]
    if p == 0:
      points.append(("start", 0, 0.7 * first, "a resumed run's startup and restore"))
  return points


def interrupt_at(workdir, env, point, sig, args=ARGS):
  """Starts the command, waits for `point`, sends `sig`; (exit code, stderr)."""
  kind, step, wait, _ = point
  before = names(workdir)
  proc = start(workdir, env, args)
  t0 = time.monotonic()
  while proc.poll() is None and kind != "start" and not event(kind, step, names(workdir),
                                                              before):
    time.sleep(POLL)
  time.sleep(max(0.0, wait - (time.monotonic() - t0 if kind == "start" else 0.0)))
  if proc.poll() is None:
    proc.send_signal(sig)
  _, err = proc.communicate(timeout=900)
  return proc.returncode, err


def check_stderr(rc, err, sig=None):
  """A stop is one `error:` line saying how to resume, after at most a `resuming` line; a
  finished run says nothing but that line."""
  assert "Traceback" not in err and "warning" not in err.lower(), err[-3000:]
  lines = [line for line in err.splitlines() if line.strip()]
  resuming = [line for line in lines if line.startswith("resuming from the checkpoint")]
  if rc == 130:
    assert lines[-1].startswith(f"error: {sig.name} received"), lines[-1]
    assert "rerun the same command" in lines[-1] or "nothing was kept" in lines[-1], lines[-1]
    assert lines[:-1] == resuming, err[-3000:]
  else:
    assert lines == resuming, err[-3000:]


def landed(sig, rc, err, workdir):
  """Where a signal took effect, from what the run did."""
  if rc == 0:
    return "none: the run finished (a signal in the last pass's tail lets it)"
  if sig != signal.SIGKILL:
    return err.strip().splitlines()[-1].split(": ", 2)[-1].split(";")[0].replace(
        ", checkpoint written", "")
  cut = sorted(n.split(".")[0] for n in names(workdir) if TMP in n)
  if cut:
    return f"killed during the save of checkpoint {cut[0]}"
  top = max(steps(workdir), default=0)
  if top and top % PASS == 0 and results_passes(workdir) < top // PASS:
    return f"killed after checkpoint {top}, before results.json was written"
  return f"killed after checkpoint {top}" if top else "killed before any checkpoint"


def params(workdir):
  import jax
  from lenet_jax import trained
  got = trained.load(str(workdir))
  return got.step, [np.asarray(v) for v in jax.tree_util.tree_leaves(got.params)]


# The default run takes the first chain; the soak tier (-m soak) the two that rotate the signals.
@pytest.mark.slow
@pytest.mark.parametrize("offset", [
    pytest.param(0, id="INT-TERM-KILL"),
    pytest.param(1, id="TERM-KILL-INT", marks=pytest.mark.soak),
    pytest.param(2, id="KILL-INT-TERM", marks=pytest.mark.soak)])
def test_interrupted_anywhere_then_rerun_ends_as_if_never_interrupted(reference, env, tmp_path,
                                                                      offset):
  # One chain of runs on one workdir: each is stopped at the next point of the plan it has not
  # passed (signals in turn, starting at SIGNALS[offset]), the last is rerun until it exits 0.
  # SIGINT or SIGTERM in the last pass's tail let the run finish: chains 1 and 2 send SIGKILL
  # there, to stop it in the last evaluation, the last save and before the last results.json.
  ref_dir, seen, ref_seconds = reference
  workdir, record, t0 = tmp_path / "cut", [], time.monotonic()
  rc = None
  for point in plan(seen):
    kind, step, _, aim = point
    if kind != "start" and step <= max(steps(workdir), default=0):
      continue   # passed: a checkpoint at or after it exists
    tail = offset and kind != "start" and step >= 2 * PASS - 50
    sig = signal.SIGKILL if tail else SIGNALS[(len(record) + offset) % 3]
    rc, err = interrupt_at(workdir, env, point, sig)
    assert rc in (0, 130, -signal.SIGKILL), (sig.name, aim, rc, err[-3000:])
    if rc != -signal.SIGKILL:
      check_stderr(rc, err, sig)
    record.append(f"{sig.name:7s} aimed at {aim:42s} -> {landed(sig, rc, err, workdir)}")
    if rc == 0:
      break
  reruns = 0
  while rc != 0 and reruns < 3:
    r = rerun(workdir, env)
    check_stderr(r.returncode, r.stderr)
    rc, reruns = r.returncode, reruns + 1
  print(f"\n{len(record)} runs stopped, then {reruns} rerun(s) to finish, in "
        f"{time.monotonic() - t0:.0f} s (one uninterrupted run: {ref_seconds:.0f} s):\n"
        + "\n".join(record))
  assert rc == 0
  got = record_of(workdir / "results.json")
  assert got["status"] == "done"
  assert got == record_of(ref_dir / "results.json"), "\n".join(record)
  (ref_step, ref_params), (got_step, got_params) = params(ref_dir), params(workdir)
  assert got_step == ref_step == 2 * PASS
  for a, b in zip(ref_params, got_params, strict=True):
    np.testing.assert_array_equal(a, b)
  left = [str(p) for p in workdir.rglob("*") if p.name.startswith(".tmp") or TMP in p.name]
  assert not left, left
  # Each stop lands at the run's next safe point, which on a fast machine passes the points
  # after the aimed one (a warm compilation cache: the whole run in about 12 s); at least six
  # runs stopped at distinct points, the record above says where.
  assert len(record) >= 6, "\n".join(record)


# The repro: 6,000 images, a checkpoint every 1,000 steps (one jitted call each), a
# signal while pass 1's last call runs, just after checkpoints/5000 appears.
REPRO = ["--experiment=c3_partial", "--epochs=2", "--set=train_size=6000",
         "--set=sdlm_samples=50", "--set=checkpoint_every=1000", f"--mnist_dir={MNIST_DIR}",
         "--progress=false"]


@pytest.fixture(scope="module")
def repro_reference(tmp_path_factory, env):
  workdir = tmp_path_factory.mktemp("repro") / "ref"
  r = rerun(workdir, env, REPRO)
  assert r.returncode == 0, r.stderr[-3000:]
  return workdir


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_in_the_last_call_of_a_pass_then_rerun_finishes(repro_reference, env, tmp_path,
                                                               sig):
  workdir = tmp_path / "cut"
  rc, err = interrupt_at(workdir, env, ("saved", 5000, 0.0, ""), sig, REPRO)
  assert rc == 130, err[-3000:]
  check_stderr(rc, err, sig)
  r = rerun(workdir, env, REPRO)
  assert r.returncode == 0, r.stderr[-3000:]
  assert record_of(workdir / "results.json") == record_of(repro_reference / "results.json")
  # It stopped at the end of the pass, after its evaluation and end-of-pass checkpoint.
  assert "stopped after pass 1" in err, err[-3000:]
