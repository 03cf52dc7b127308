"""lenet_jax's entry point: run one registered experiment, or a named sweep of them.

  python launch.py --experiment=c3_partial
  python launch.py --experiment=c3_full --seed=1 --set=map_j=1.0 --workdir=runs/c3_full_j1
  python launch.py --sweep=figure9 --seeds=5 --sweep_workers=2
"""
from __future__ import annotations

import logging as std_logging
import os
import sys
import threading

from lenet_jax import interrupt

interrupt.record()   # first: a signal during the imports below is acted on once they are done
# Errors in library threads (tensorstore's callbacks into orbax's event loop after a failed
# read) go to the log (the workdir's log.txt), not between lenet_jax's own lines.
threading.excepthook = lambda a: std_logging.getLogger("threads").error(
    "in thread %s", a.thread, exc_info=(a.exc_type, a.exc_value, a.exc_traceback))
sys.unraisablehook = lambda u: std_logging.getLogger("unraisable").error(
    "%s: %r", u.err_msg or "unraisable", u.exc_value)
# A log that cannot be written (log.txt on a full disk) is dropped, without the traceback
# Python's logging would print for it; the run's own error says what failed.
std_logging.raiseExceptions = False

from absl import app, flags, logging  # noqa: E402 (after the handlers, which must come first)

import experiments  # noqa: E402
from lenet_jax import config as config_lib  # noqa: E402
from lenet_jax import devices, results as results_lib, sweep  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("experiment", None, "Experiment to run: a module of experiments/.")
flags.DEFINE_string("sweep", None, "Run a named list of experiments (lenet_jax/sweep), each with "
                    "the same flags, into --workdir/EXPERIMENT, and write summary.* there.")
flags.DEFINE_integer("sweep_workers", 1, "A sweep's programs trained this many at a time, each "
                     "in its own process pinned to one CPU core (0: one per core).")
flags.DEFINE_integer("cpu_core", None, "Pin this process to one CPU core before JAX starts, so "
                     "that XLA sees one device (what each --sweep_workers process does).")
flags.DEFINE_string("sweep_program", None, "(internal) the one program of --sweep a worker "
                    "process trains.")
flags.DEFINE_string("workdir", None, "Where results are written (default runs/EXPERIMENT).")
flags.DEFINE_integer("seed", None, "Random seed (overrides the config).")
flags.DEFINE_integer("epochs", None, "Passes over the training set (overrides the config).")
flags.DEFINE_integer("batch_size", None, "Patterns per update (overrides the config).")
flags.DEFINE_string("mnist_dir", None, "Folder of the four MNIST IDX files, or tfds (default: "
                    "$LENET_MNIST_DIR, else the copy in lenet_jax/mnist).")
flags.DEFINE_integer("seeds", None, "Train this many seeds (seed, seed+1, ...) together, vmapped.")
flags.DEFINE_multi_string("vary", [], "Also train every value of a field together, vmapped: "
                          "--vary=sdlm_mu=0.05,0.1 (fields: seed, sdlm_mu, map_j, "
                          "learning_rate; repeatable, combinations are crossed).")
flags.DEFINE_multi_string("set", [], "Override any config field: --set=name=value (repeatable).")
flags.DEFINE_bool("progress", True, "Show a progress bar per pass.")
flags.DEFINE_bool("overwrite", False, "Replace the results and checkpoints already in --workdir "
                  "(by default a rerun resumes, and a different config is refused).")
flags.DEFINE_bool("distributed", False, "Start jax.distributed even if no JAX_NUM_PROCESSES, "
                  "SLURM or Open MPI job says there are several processes (README: Several "
                  "hosts).")
flags.DEFINE_bool("deterministic", False, "Deterministic XLA reductions on GPU (slower).")
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


def _fail(message: str, code: int = 2) -> None:
  print(f"error: {message}", file=sys.stderr)
  _exit(code)


def build_config(name, overrides, sweeping=False):
  return experiments.build_config(
      name, overrides, {f: getattr(FLAGS, f) for f in experiments.FLAG_FIELDS}, FLAGS.vary,
      sweeping)


def _start(configs) -> None:
  """Before JAX's backend starts: the XLA flags for these configs, then jax.distributed when
  several processes run."""
  interrupt.check()
  if devices.start(configs, FLAGS.deterministic, FLAGS.distributed):
    _DISTRIBUTED.append(True)


def _run(config, workdir):
  interrupt.check()
  return experiments.run(config, workdir, progress=FLAGS.progress, overwrite=FLAGS.overwrite)


def run_sweep(name: str) -> None:
  names = sweep.get(name)
  configs = [build_config(n, FLAGS.set, sweeping=True) for n in names]
  root = FLAGS.workdir or os.path.join("runs", f"sweep_{name}")
  cores = sorted(os.sched_getaffinity(0))
  workers = FLAGS.sweep_workers or len(cores)
  if not 1 <= workers <= len(cores):
    raise config_lib.ConfigError(f"--sweep_workers={FLAGS.sweep_workers}: this process may use "
                                 f"{len(cores)} cores; give 1 to {len(cores)}, or 0 for one "
                                 "worker per core")
  if workers == 1 or FLAGS.sweep_program:   # a coordinator starts no XLA, and its flags would
    _start(configs)                          # reach its workers, which set their own
  from lenet_jax import multihost
  from lenet_jax.sweep import run as runner   # after the XLA flags
  failure = runner.sweep(names, configs, root, _run, cores=cores[:workers],
                         worker_command=lambda label, core: runner.worker_command(
                             sys.argv, label, core),
                         only=FLAGS.sweep_program, overwrite=FLAGS.overwrite)
  if failure:
    _fail(*failure)
  if multihost.is_primary() and not FLAGS.sweep_program:
    with open(os.path.join(root, "summary.md")) as f:
      print(f"\n{f.read()}\nsummary: {os.path.join(root, 'summary.md')} (and summary.json, "
            "*.png)")


def run_experiment(name: str) -> None:
  module = experiments.load(name)
  config = build_config(name, FLAGS.set)
  workdir = FLAGS.workdir or os.path.join("runs", name)
  if "seeds" in config:   # a network is trained: its XLA flags before JAX starts
    _start([config])
  results = module.run(config, workdir) if hasattr(module, "run") else _run(config, workdir)
  if not isinstance(results, dict) or "lanes" not in results:   # the study note's demos
    return
  from lenet_jax import multihost
  if not multihost.is_primary():
    return
  if results.get("kind") not in ("baseline", "derived"):   # those print as they run
    print(results_lib.summary_text(results))
  print(f"\nresults: {os.path.join(workdir, 'results.json')}")
  lane = results["lanes"][0]
  if len(results["lanes"]) == 1 and lane["status"] == "stalled" and not config.expect_stall:
    raise RuntimeError(f"the model stalled from pass {lane['stalled_at']['pass']}: "
                       f"{lane['stalled_at']['cause']} (recorded in results.json)")


def main(argv):
  """Reads the flags, runs what they name, and maps what can go wrong to one line and an exit
  code: 2 for bad input or a failed run, 130 for an interruption."""
  if len(argv) > 1:
    _fail(f"unexpected arguments {argv[1:]}; flags are written --name=value")
  if not FLAGS["verbosity"].present:
    # What absl, JAX and orbax log goes to the workdir's log.txt; the terminal shows lenet_jax's
    # own lines (orbax and asyncio would bury a one-line error under their tracebacks).
    logging.set_verbosity(logging.WARNING)
    logging.get_absl_handler().setLevel(std_logging.CRITICAL)   # Python's levels, not absl's
  try:
    interrupt.check()
    devices.check_platforms()   # an absent accelerator: one line now, not a traceback from JAX
    devices.pin(FLAGS.cpu_core)
    if FLAGS.sweep and FLAGS.experiment:
      raise config_lib.ConfigError("give --experiment or --sweep, not both")
    if FLAGS.sweep:
      run_sweep(FLAGS.sweep)
    elif FLAGS.experiment:
      if FLAGS["sweep_workers"].present:
        raise config_lib.ConfigError("--sweep_workers applies to --sweep only; drop it, or use "
                                     "--seeds to train several models of one experiment")
      run_experiment(FLAGS.experiment)
    else:
      raise config_lib.ConfigError("--experiment (or --sweep) is required; valid experiments: "
                                   + ", ".join(experiments.names()))
  except KeyboardInterrupt as e:   # interrupt.Stopped, or train.Interrupted after a checkpoint
    _fail(str(e), 130)
  except (ValueError, RuntimeError) as e:   # bad input, a divergence, a failed file
    _fail(str(e))
  _exit(0)


def _parse_flags(argv):
  try:
    return FLAGS(argv)
  except flags.Error as e:
    _fail(f"{e}; flags are written --name=value, see --helpfull")


if __name__ == "__main__":
  app.run(main, flags_parser=_parse_flags)
