"""lenet_jax's entry point: run one registered experiment.

  python launch.py --experiment=c3_partial --mnist_dir=../shared/data/mnist
  python launch.py --experiment=c3_full --seed=1 --set=map_j=1.0 --workdir=runs/c3_full_j1
  python launch.py --experiment=param_counts
"""
from __future__ import annotations

import logging as std_logging
import os
import shutil
import signal
import statistics
import sys
import threading

from lenet_jax import files


def _stop_early(signum, frame):
  """SIGINT/SIGTERM before training starts: one line, exit 130, and the workdir removed again if
  this run created it. (A KeyboardInterrupt raised inside an import or XLA's compiler prints
  tracebacks, and can crash the process.) The training loop takes these signals over."""
  del frame
  for path in files.CREATED:
    shutil.rmtree(path, ignore_errors=True)
  os.write(2, f"error: {signal.Signals(signum).name} received before training started; "
              "nothing was kept\n".encode())
  os._exit(130)


signal.signal(signal.SIGINT, _stop_early)
signal.signal(signal.SIGTERM, _stop_early)
# Errors in library threads (tensorstore's callbacks into orbax's event loop after a failed
# read) go to the log (the workdir's log.txt), not between lenet_jax's own lines.
threading.excepthook = lambda a: std_logging.getLogger("threads").error(
    "in thread %s", a.thread, exc_info=(a.exc_type, a.exc_value, a.exc_traceback))
sys.unraisablehook = lambda u: std_logging.getLogger("unraisable").error(
    "%s: %r", u.err_msg or "unraisable", u.exc_value)
# A log that cannot be written (log.txt on a full disk) is dropped, without the traceback
# Python's logging would print for it; the run's own error says what failed.
std_logging.raiseExceptions = False

from absl import app, flags, logging  # noqa: E402 (after the handler, which must come first)

import experiments  # noqa: E402
from lenet_jax import config as config_lib  # noqa: E402
from lenet_jax import devices, paper, sweeps  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("experiment", None, "Experiment to run: a module of experiments/.")
flags.DEFINE_string("sweep", None, "Run a named list of experiments (lenet_jax/sweeps.py: "
                    "paper_ablations, figure6, smoke), each with --seeds, into --workdir/EXPERIMENT, and "
                    "write summary.json, summary.md and plots to --workdir.")
flags.DEFINE_integer("sweep_workers", 1, "A sweep's programs trained this many at a time, each "
                     "in its own process pinned to one CPU core (0: one per core). On CPU two "
                     "pinned processes train faster than one over both cores.")
flags.DEFINE_integer("cpu_core", None, "Pin this process to one CPU core before JAX starts, so "
                     "that XLA sees one device (what each --sweep_workers process does).")
flags.DEFINE_string("sweep_program", None, "(internal) the one program of --sweep a worker "
                    "process trains.")
flags.DEFINE_string("workdir", None, "Where results are written (default runs/EXPERIMENT).")
flags.DEFINE_integer("seed", None, "Random seed (overrides the config).")
flags.DEFINE_integer("epochs", None, "Passes over the training set (overrides the config).")
flags.DEFINE_integer("batch_size", None, "Patterns per update (overrides the config).")
flags.DEFINE_string("mnist_dir", None,
                    "Folder of the four MNIST IDX files, gzipped or not (default: "
                    "$LENET_MNIST_DIR, else tensorflow-datasets).")
flags.DEFINE_integer("seeds", None, "Train this many seeds (seed, seed+1, ...) together, vmapped.")
flags.DEFINE_multi_string("vary", [], "Also train every value of a field together, vmapped: "
                          "--vary=sdlm_mu=0.05,0.1 (fields: seed, sdlm_mu, map_j, "
                          "learning_rate; repeatable, combinations are crossed).")
flags.DEFINE_multi_string("set", [], "Override any config field: --set=name=value (repeatable).")
flags.DEFINE_bool("progress", True, "Show a progress bar per pass.")
flags.DEFINE_bool("overwrite", False, "Replace the results and checkpoints already in --workdir "
                  "(by default a rerun with the same config resumes from the last checkpoint, "
                  "and a different config is refused).")
flags.DEFINE_bool("distributed", False, "Start jax.distributed even if no JAX_NUM_PROCESSES, "
                  "SLURM or Open MPI job says there are several processes (for clusters JAX "
                  "detects itself: Cloud TPU pods, Kubernetes). See the README, Several hosts.")
flags.DEFINE_bool("deterministic", False, "Ask XLA for deterministic reductions on GPU "
                  "(--xla_gpu_deterministic_ops; slower). CPU runs are deterministic anyway.")


_DISTRIBUTED = []   # [True] once jax.distributed has started


def _exit(code: int) -> None:
  """Ends the process now: tensorstore callbacks still queued on orbax's closed event loop
  would print tracebacks during the interpreter's teardown. The processes of a multi-process
  run first leave together (one leaving alone aborts the others)."""
  sys.stdout.flush()
  sys.stderr.flush()
  if _DISTRIBUTED and code == 0:
    import jax   # started already: this import costs nothing
    jax.distributed.shutdown()
  os._exit(code)


def _fail(message: str) -> None:
  print(f"error: {message}", file=sys.stderr)
  _exit(2)


def build_config(module, argv_overrides, sweeping=False):
  """The experiment's config with the flags applied; in a sweep, flags and --set fields that an
  experiment does not have (a baseline has no --seeds) are left out for it."""
  config = module.get_config()
  overrides = list(argv_overrides)
  if FLAGS.vary:
    overrides.insert(0, f"vary={tuple(FLAGS.vary)!r}")
  for name in ("seed", "seeds", "epochs", "batch_size", "mnist_dir"):
    value = getattr(FLAGS, name)
    if value is not None:
      if name not in config:
        if sweeping:
          continue
        raise config_lib.ConfigError(f"--{name} does not apply to experiment "
                                     f"{config.experiment!r}")
      overrides.insert(0, f"{name}={value}")
  if sweeping:
    overrides = [o for o in overrides if o.split("=", 1)[0].strip() in config]
  config = config_lib.apply_overrides(config, overrides)
  if "optimizer" in config:   # a training experiment, not one of the study note's demos
    config_lib.validate(config)
  return config


def _summary(results) -> None:
  lanes = results["lanes"]
  if len(lanes) > 1:
    print(f"\n{'seed':>5s}  {'overrides':24s} {'test error (%)':>14s} {'training (%)':>12s}  status")
    finals = []
    for lane in lanes:
      last = lane["passes"][-1] if lane["passes"] else {}
      over = ", ".join(f"{k}={v}" for k, v in lane["overrides"].items()) or "-"
      te, tr = last.get("test_error", float("nan")), last.get("train_error", float("nan"))
      print(f"{lane['seed']:5d}  {over:24s} {te:14.2f} {tr:12.2f}  {lane['status']}")
      if lane["status"] in ("done", "stalled"):
        finals.append(te)
    if finals:
      print(f"test error over {len(finals)} finished lanes: mean {statistics.mean(finals):.2f}%, "
            f"std {statistics.stdev(finals) if len(finals) > 1 else 0.0:.2f}, min "
            f"{min(finals):.2f}, max {max(finals):.2f}; paper (one run): "
            f"{results.get('paper_test_error') or '-'}")
    print(f"seconds: {results['total_seconds']:.0f}")
    return
  last = results["passes"][-1]
  reported = results.get("paper_test_error")
  lenet5 = reported == paper.TEST_ERROR
  print()
  print(f"{'':24s} {'this run':>10s} {'paper':>8s}")
  print(f"{'test error (%)':24s} {last['test_error']:10.2f} "
        f"{(f'{reported:.2f}' if reported is not None else '-'):>8s}")
  print(f"{'training error (%)':24s} {last['train_error']:10.2f} "
        f"{(f'{paper.TRAIN_ERROR:.2f}' if lenet5 else '-'):>8s}")
  print(f"{'parameters':24s} {results['parameters']:10,d} "
        f"{(f'{paper.PARAMETERS:,d}' if lenet5 else '-'):>8s}")
  print(f"{'passes':24s} {len(results['passes']):10d} {paper.EPOCHS:8d}")
  print(f"{'seconds':24s} {results['total_seconds']:10.0f}")


def _set_xla_flags(configs):
  """Before JAX's backend starts: devices' XLA flag policy for these configs, then
  jax.distributed when several processes run."""
  trains = [c for c in configs if "seeds" in c] or [None]   # the baselines train no network
  devices.set_xla_flags(
      many_models=any(c is not None and config_lib.lane_count(c) > 1 for c in trains),
      large_batches=all(c is not None and c.batch_size >= devices.IM2COL_MAX_BATCH
                        for c in trains),
      deterministic=FLAGS.deterministic)
  try:
    if devices.start_distributed(FLAGS.distributed):
      _DISTRIBUTED.append(True)
  except ValueError as e:
    _fail(str(e))


def _train(config, workdir):
  """train_and_evaluate with launch's error handling: one line and a non-zero exit."""
  # Imported only once a run is certain and its XLA flags are set: a bad flag or config is
  # answered without loading JAX.
  from lenet_jax import train
  module = (experiments.load(config.experiment) if config.experiment in experiments.names()
            else None)   # a sweep's program of several experiments trains
  try:
    if hasattr(module, "run"):
      return module.run(config, workdir)
    return train.train_and_evaluate(config, workdir, progress=FLAGS.progress,
                                    overwrite=FLAGS.overwrite)
  except train.Interrupted as e:
    print(f"error: {e}", file=sys.stderr)
    _exit(130)
  except ValueError as e:   # MnistError, ConfigError, WorkdirError
    _fail(str(e))


def run_sweep(name: str) -> None:
  """Every experiment of the sweep with the same flags (lenet_jax.runner.run: one workdir each,
  experiments that differ only in lane fields trained together, finished ones skipped), then
  the summary."""
  try:
    names = sweeps.get(name)
    configs = [build_config(experiments.load(n), FLAGS.set, sweeping=True) for n in names]
  except (sweeps.UnknownSweep, experiments.UnknownExperiment, config_lib.ConfigError) as e:
    _fail(str(e))
  root = FLAGS.workdir or os.path.join("runs", f"sweep_{name}")
  env = dict(os.environ)   # the workers' own XLA flags are chosen in the workers
  cores = sorted(os.sched_getaffinity(0))
  workers = FLAGS.sweep_workers or len(cores)
  if not 1 <= workers <= len(cores):
    _fail(f"--sweep_workers={FLAGS.sweep_workers}: this process may use {len(cores)} cores; "
          f"give 1 to {len(cores)}, or 0 for one worker per core")
  _set_xla_flags(configs)
  from lenet_jax import multihost, runner   # after the XLA flags, as in _train
  try:
    if workers > 1 and not FLAGS.sweep_program:
      labels = runner.todo_labels(names, configs, root, FLAGS.overwrite)
      if labels:   # the data read once here, so that a bad file fails before anything is written
        from lenet_jax import data
        data.load_mnist(configs[0].mnist_dir or None, train_size=1)
      failure = runner.run_workers(
          labels, _worker_command, root, cores[:workers], env,
          on_done=lambda: runner.write_finished_summary(names, configs, root))
      if failure:
        print(f"error: {failure[0]}", file=sys.stderr)
        _exit(failure[1])
    runner.run(names, configs, root, _train, only=FLAGS.sweep_program,
               overwrite=FLAGS.overwrite and workers == 1)   # the workers overwrote already
  except ValueError as e:
    _fail(str(e))
  if not multihost.is_primary() or FLAGS.sweep_program:
    _exit(0)
  print()
  with open(os.path.join(root, "summary.md")) as f:
    print(f.read())
  print(f"summary: {os.path.join(root, 'summary.md')} (and summary.json, *.png)")
  _exit(0)


def _worker_command(label: str, core: int) -> list[str]:
  """This command line as the worker of the sweep that trains the program `label` on `core`."""
  ours = ("--sweep_workers", "--sweep_program", "--cpu_core")
  argv, skip = [], False
  for arg in sys.argv[1:]:
    if skip or arg.startswith((*ours, "--progress", "--noprogress")):
      skip = arg in ours   # the value is the next argument
      continue
    argv.append(arg)
  return [sys.executable, os.path.abspath(sys.argv[0]), *argv, "--sweep_workers=1",
          f"--sweep_program={label}", f"--cpu_core={core}", "--noprogress"]


def main(argv):
  if len(argv) > 1:
    _fail(f"unexpected arguments {argv[1:]}; flags are written --name=value")
  if FLAGS.cpu_core is not None:
    # Before JAX starts any thread: every thread it starts inherits the mask.
    try:
      os.sched_setaffinity(0, {FLAGS.cpu_core})
    except (OSError, ValueError) as e:
      _fail(f"--cpu_core={FLAGS.cpu_core}: {e}; give one of {sorted(os.sched_getaffinity(0))}")
  if not FLAGS["verbosity"].present:
    # absl logs at INFO by default: XLA backend probing and every orbax checkpoint step. What
    # is logged goes to the workdir's log.txt; the terminal shows lenet_jax's own lines (orbax
    # and asyncio would bury a one-line error under their tracebacks).
    logging.set_verbosity(logging.WARNING)
    logging.get_absl_handler().setLevel(std_logging.CRITICAL)   # Python's levels, not absl's
  if FLAGS.sweep:
    if FLAGS.experiment:
      _fail("give --experiment or --sweep, not both")
    run_sweep(FLAGS.sweep)
    return
  if not FLAGS.experiment:
    _fail("--experiment (or --sweep) is required; valid experiments: "
          + ", ".join(experiments.names()))
  try:
    module = experiments.load(FLAGS.experiment)
    config = build_config(module, FLAGS.set)
  except (experiments.UnknownExperiment, config_lib.ConfigError) as e:
    _fail(str(e))
  workdir = FLAGS.workdir or os.path.join("runs", FLAGS.experiment)

  if hasattr(module, "run") and "seeds" not in config:   # the study note's demos, the report
    try:
      module.run(config, workdir)
    except ValueError as e:
      _fail(str(e))
    _exit(0)

  _set_xla_flags([config])
  from lenet_jax import multihost, train   # after the XLA flags, as in _train
  try:
    results = _train(config, workdir)
  except train.DivergenceError as e:
    _fail(str(e))
  if not multihost.is_primary():
    return
  if results.get("kind") in ("baseline", "derived"):   # printed already, as they ran
    print(f"\nresults: {os.path.join(workdir, 'results.json')}")
    _exit(0)
  _summary(results)
  print(f"\nresults: {os.path.join(workdir, 'results.json')}")
  lane = results["lanes"][0]
  if len(results["lanes"]) == 1 and lane["status"] == "stalled" and not config.expect_stall:
    _fail(f"the model stalled from pass {lane['stalled_at']['pass']}: "
          f"{lane['stalled_at']['cause']} (recorded in results.json)")
  _exit(0)


def _parse_flags(argv):
  try:
    return FLAGS(argv)
  except flags.Error as e:
    _fail(f"{e}; flags are written --name=value, see --helpfull")


if __name__ == "__main__":
  app.run(main, flags_parser=_parse_flags)
