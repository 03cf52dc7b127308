"""launch.py as a user runs it: the note's experiments, and clear errors for bad flags."""
import json
import os

import numpy as np
import pytest

from conftest import launch


def test_edge_detection_prints_the_note_result():
  r = launch("--experiment=edge_detection")
  assert r.returncode == 0, r.stderr
  rows = r.stdout.split("6x7:\n")[1].splitlines()[:6]
  for row in rows:
    assert row.split() == ["0", "1", "0", "0", "0", "-1", "0"]


def test_param_counts_prints_the_paper_numbers():
  r = launch("--experiment=param_counts")
  assert r.returncode == 0, r.stderr
  for number in ("1e+12", "1e+08", "1,516", "2,416", "60,000", "60,900", "340,908", "122,304"):
    assert number in r.stdout, number


@pytest.mark.slow
def test_receptive_field_and_conv_shapes():
  r = launch("--experiment=receptive_field")
  assert r.returncode == 0, r.stderr
  assert [l.split()[-1] for l in r.stdout.splitlines()[1:]] == [
      "5x5", "6x6", "14x14", "16x16", "32x32"]
  r = launch("--experiment=conv_shapes")
  assert r.returncode == 0, r.stderr
  lines = r.stdout.splitlines()
  assert lines[1].split()[-3:] == ["4x4"] * 3
  assert lines[2].split()[-3:] == ["6x6"] * 3
  assert lines[3].split()[-3:] == ["2x2"] * 3


@pytest.mark.parametrize("args,message", [
    (["--experiment=nope"], "unknown experiment 'nope'; valid experiments: act_logistic, act_relu"),
    ([], "--experiment (or --sweep) is required"),
    (["--sweep=nope"], "unknown sweep 'nope'; valid sweeps: figure6, figure9, paper_ablations, sdlm_verdict, smoke"),
    (["--sweep=smoke", "--experiment=c3_partial"], "not both"),
    (["--experiment=c3_partial", "--vary=c3=full"], "vary: 'c3=full'"),
    (["--experiment=c3_partial", "--set=epoch=2"], "unknown config field 'epoch'"),
    (["--experiment=c3_partial", "--set=epochs=two"], "epochs='two'"),
    (["--experiment=c3_partial", "--set=epochs"], "not of the form name=value"),
    (["--experiment=c3_partial", "--epochs=0", "--mnist_dir=/nonexistent"], "epochs"),
    (["--experiment=c3_partial", "--mnist_dir=/nonexistent/mnist"], "/nonexistent/mnist"),
    # A flag of sweeps only, with one experiment: refused whatever its value (no data: a run
    # wrongly let through stops at once).
    (["--experiment=c3_partial", "--sweep_workers=2", "--mnist_dir=/nonexistent"],
     "--sweep_workers applies to --sweep only"),
    (["--experiment=c3_partial", "--sweep_workers=1", "--mnist_dir=/nonexistent"],
     "--sweep_workers applies to --sweep only"),
])
def test_bad_flags_fail_with_one_clear_line(tmp_path, args, message):
  r = launch(*args, f"--workdir={tmp_path / 'w'}")
  assert r.returncode != 0
  assert message in r.stderr, r.stderr
  assert "Traceback" not in r.stderr
  assert not (tmp_path / "w" / "results.json").exists()


@pytest.mark.slow
def test_training_from_the_command_line(mnist_dir, tmp_path):
  r = launch("--experiment=c3_partial", f"--mnist_dir={mnist_dir}", "--epochs=1",
             "--set=train_size=200", "--set=sdlm_samples=50", "--noprogress",
             f"--workdir={tmp_path}")
  assert r.returncode == 0, r.stderr
  assert "test error" in r.stdout and "0.95" in r.stdout
  results = json.loads((tmp_path / "results.json").read_text())
  assert results["config"]["train_size"] == 200 and results["train_images"] == 200


@pytest.mark.slow
def test_tiny_sweep_writes_table_and_plots_and_skips_what_is_done(mnist_dir, tmp_path):
  args = ("--sweep=smoke", "--seeds=2", f"--mnist_dir={mnist_dir}", "--epochs=1",
          "--set=train_size=200", "--set=sdlm_samples=50", "--noprogress", f"--workdir={tmp_path}")
  r = launch(*args)
  assert r.returncode == 0, r.stderr
  summary = json.loads((tmp_path / "summary.json").read_text())
  rows = {row["experiment"]: row for row in summary["experiments"]}
  assert set(rows) == {"c3_partial", "c3_full", "pool_max"}
  for name, row in rows.items():
    lanes = json.loads((tmp_path / name / "results.json").read_text())["lanes"]
    errors = [lane["final_test_error"] for lane in lanes]
    assert abs(row["test_error_mean"] - sum(errors) / 2) < 1e-9
  table = (tmp_path / "summary.md").read_text()
  assert "| c3_partial |" in table and "0.95" in table
  for png in ("test_error_per_pass.png", "final_errors.png"):
    assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  before = (tmp_path / "c3_full" / "results.json").stat().st_mtime_ns
  again = launch(*args)
  assert again.returncode == 0, again.stderr
  assert again.stdout.count("done already, skipped") == 3
  assert (tmp_path / "c3_full" / "results.json").stat().st_mtime_ns == before


@pytest.mark.slow
def test_signal_spread_shows_the_logistic_function_losing_the_input(mnist_dir):
  from experiments import signal_spread
  # Per-unit standard deviation over images, averaged over units: units (0, 2) and (2, 2).
  assert signal_spread.spread(np.array([[0.0, 2.0], [2.0, 2.0]])) == 0.5
  r = launch("--experiment=signal_spread", f"--mnist_dir={mnist_dir}")
  assert r.returncode == 0, r.stderr
  f6 = {line.split()[0]: float(line.split("F6 ")[1].split()[0])
        for line in r.stdout.splitlines() if "F6 " in line}
  assert set(f6) == {"scaled_tanh", "logistic", "relu"}
  # Slope 0.25 against 1.14 at each of six squashing layers: orders of magnitude less spread.
  assert 0 < f6["logistic"] < f6["scaled_tanh"] / 100


@pytest.mark.slow
def test_sweep_workers_train_each_program_pinned_and_agree_with_one_process(mnist_dir, tmp_path):
  """--sweep_workers=2: each program in its own process pinned to one core, a log per program,
  the summary at the end; the numbers those of the one-process sweep (error counts exactly,
  losses to float32 rounding: a worker vmaps both lanes on one device, the one-process sweep
  shards them over two)."""
  args = ("--sweep=smoke", "--seeds=2", f"--mnist_dir={mnist_dir}", "--epochs=1",
          "--set=train_size=1000", "--set=sdlm_samples=50", "--set=init=fan_in", "--noprogress")
  one = launch(*args, f"--workdir={tmp_path / 'one'}")
  assert one.returncode == 0, one.stderr
  two = launch(*args, f"--workdir={tmp_path / 'two'}", "--sweep_workers=2")
  assert two.returncode == 0, two.stderr
  assert "started on core 0" in two.stdout and "started on core 1" in two.stdout
  assert "os.fork()" not in two.stderr   # the coordinator starts no XLA threads before forking
  for name in ("c3_partial", "c3_full", "pool_max"):
    assert "pass  1/1" in (tmp_path / "two" / "logs" / f"{name}.txt").read_text()
    a, b = (json.loads((tmp_path / d / name / "results.json").read_text())
            for d in ("one", "two"))
    # A worker sees its one core as one XLA device (the coordinator's flags once leaked into
    # the workers: two devices time-sliced on one core, the lanes padded to an even count).
    assert b["lane_devices"] == 1 and b["device"]["count"] == 1, b["device"]
    a, b = a["lanes"], b["lanes"]
    assert [p["test_error"] for l in a for p in l["passes"]] == [
        p["test_error"] for l in b for p in l["passes"]]
    np.testing.assert_allclose([p["test_loss"] for l in a for p in l["passes"]],
                               [p["test_loss"] for l in b for p in l["passes"]], rtol=1e-5)
  rows = json.loads((tmp_path / "two" / "summary.json").read_text())["experiments"]
  assert {r["experiment"] for r in rows} == {"c3_partial", "c3_full", "pool_max"}
  again = launch(*args, f"--workdir={tmp_path / 'two'}", "--sweep_workers=2")
  assert again.returncode == 0 and again.stdout.count("done already, skipped") == 3


def test_sweep_workers_beyond_the_cores_is_one_clear_error(tmp_path):
  r = launch("--sweep=smoke", "--sweep_workers=999", f"--workdir={tmp_path / 'w'}")
  assert r.returncode == 2 and "--sweep_workers=999" in r.stderr and "Traceback" not in r.stderr
  assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("core", ["999", "99999999999", "-1"])
def test_cpu_core_out_of_range_is_one_clear_error(tmp_path, core):
  r = launch("--experiment=c3_partial", f"--cpu_core={core}", f"--workdir={tmp_path / 'w'}")
  errors = [l for l in r.stderr.splitlines() if l.strip()]
  assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
  assert len(errors) == 1 and errors[0].startswith(f"error: --cpu_core={core}:"), r.stderr
  assert "give one of them" in errors[0]
  assert not (tmp_path / "w").exists()


@pytest.mark.slow
def test_sigterm_to_a_sweep_with_workers_stops_them_and_the_sweep_resumes(mnist_dir, tmp_path):
  import signal
  import time
  args = ("--sweep=smoke", "--seeds=2", f"--mnist_dir={mnist_dir}", "--epochs=2",
          "--set=train_size=3000", "--set=sdlm_samples=50", "--noprogress", f"--workdir={tmp_path}",
          "--sweep_workers=2")
  sweep = launch(*args, background=True)
  logs = tmp_path / "logs"
  deadline = time.time() + 120
  while time.time() < deadline and not (
      logs.exists() and sum("pass" in f.read_text() for f in logs.glob("*.txt")) >= 1):
    time.sleep(0.5)
  sweep.send_signal(signal.SIGTERM)
  out, err = sweep.communicate(timeout=300)
  assert sweep.returncode == 130, (out[-2000:], err[-2000:])
  assert "Traceback" not in err and [l for l in err.splitlines() if l.startswith("error:")], err
  again = launch(*args)
  assert again.returncode == 0, again.stderr[-2000:]
  rows = json.loads((tmp_path / "summary.json").read_text())["experiments"]
  assert {r["experiment"] for r in rows} == {"c3_partial", "c3_full", "pool_max"}


@pytest.mark.slow
def test_a_sweep_with_workers_checks_the_data_before_it_writes(tmp_path):
  empty = tmp_path / "no_mnist"
  empty.mkdir()
  r = launch("--sweep=smoke", "--seeds=2", f"--mnist_dir={empty}", "--noprogress",
             f"--workdir={tmp_path / 'w'}", "--sweep_workers=2")
  errors = [l for l in r.stderr.splitlines() if l.startswith("error:")]
  assert r.returncode == 2 and len(errors) == 1 and "Traceback" not in r.stderr, r.stderr
  assert str(empty) in errors[0] and not (tmp_path / "w").exists(), errors


@pytest.mark.parametrize("platforms", ["gpu", "cuda", "rocm", "tpu", "cuda,rocm"])
def test_jax_platforms_naming_an_absent_accelerator_is_one_clear_error(tmp_path, platforms):
  # JAX's own answer is a bare AssertionError (cuda without a GPU) or a RuntimeError at the
  # first computation, after the workdir was made.
  from lenet_jax import devices
  wanted = [p for n in platforms.split(",") for p in devices.PLATFORM_ALIASES.get(n, (n,))]
  if not all(devices._missing(p) for p in wanted):
    pytest.skip(f"this machine has a {platforms} backend")
  r = launch("--experiment=c3_partial", f"--workdir={tmp_path / 'w'}", "--epochs=1",
             "--set=train_size=300", "--noprogress", env={"JAX_PLATFORMS": platforms})
  lines = [l for l in r.stderr.splitlines() if l.strip()]
  assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
  assert len(lines) == 1 and lines[0].startswith(f"error: JAX_PLATFORMS={platforms}: "), r.stderr
  assert "unset JAX_PLATFORMS" in lines[0] and "install jax[" in lines[0], lines[0]
  assert not (tmp_path / "w").exists()


def test_sweep_workers_with_a_file_as_workdir_is_one_clear_error(mnist_dir, tmp_path):
  # Without workers the same input is one line from the first run's workdir check.
  if len(os.sched_getaffinity(0)) < 2:
    pytest.skip("two workers need two cores")
  target = tmp_path / "F"
  target.write_text("hi\n")
  r = launch("--sweep=smoke", f"--mnist_dir={mnist_dir}", "--epochs=1", "--set=train_size=300",
             "--noprogress", f"--workdir={target}", "--sweep_workers=2")
  lines = [l for l in r.stderr.splitlines() if l.strip()]
  assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
  assert len(lines) == 1 and lines[0].startswith(f"error: cannot write {target}"), r.stderr
  assert "--workdir" in lines[0] and "started on core" not in r.stdout
  assert target.read_text() == "hi\n"
