"""The training loop: `train_and_evaluate(config, workdir)`, the library entry point behind
launch.py. The step functions are lenet_jax.step's, compiled over lanes by lenet_jax.lanes."""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from lenet_jax import config as config_lib
from lenet_jax import data as data_lib
from lenet_jax import interrupt, lanes as lanes_lib, metrics, multihost, results as results_lib
from lenet_jax import sdlm
from lenet_jax import step
from lenet_jax import workdir as workdir_lib
from lenet_jax.model import describe
from lenet_jax.multihost import host, log


class DivergenceError(RuntimeError):
  """Every model diverged: non-finite loss or parameters, or weights growing without bound."""


# A layer's weights have run away when its largest |w| passes both bounds: trained LeNet-5
# weights stay within a few units and grow tens of times from initialisation, while the scaled
# tanh keeps the loss finite however large they grow.
RUNAWAY_WEIGHT, RUNAWAY_GROWTH = 10.0, 100.0
# Training error (%) at or above this, on the fly and after a pass of at least STALL_IMAGES:
# stuck at chance (90%). LeNet-5 that trains leaves chance within its first few thousand images.
STALLED_ERROR = 85.0
STALL_IMAGES = 5_000


class Interrupted(KeyboardInterrupt):
  """SIGINT or SIGTERM arrived; a checkpoint was written and the run can be resumed."""


def segments(config, epoch: int, steps_per_pass: int, chunk: int):
  """(start, stop, refresh h first?) for the jitted calls of one pass (for chunk 1: the runs
  of single-step calls between progress updates)."""
  starts = set(range(0, steps_per_pass, chunk if chunk > 1 else 50))
  refresh = {0} if config.optimizer == "sdlm" else set()
  if config.optimizer == "sdlm" and epoch == 0 and config.sdlm_first_pass_refresh:
    # At the paper's initialisation the curvature reaching the lower layers is ~0 and grows by
    # orders of magnitude in the first few hundred steps: re-estimating after 1, 2, 4, 8, ...
    # steps tracks that growth.
    refresh |= {2 ** k for k in range(steps_per_pass.bit_length()) if 2 ** k < steps_per_pass}
  bounds = sorted(starts | refresh | {steps_per_pass})
  return [(a, b, a in refresh) for a, b in zip(bounds[:-1], bounds[1:])]


def steps_per_call(config, steps_per_pass: int) -> int:
  if config.steps_per_call > 0:
    return min(config.steps_per_call, steps_per_pass)
  # Small batches: many steps per call amortise dispatch. Large batches: on CPU a step inside a
  # loop measured slower than the same jitted step called from Python, so one per call.
  return max(1, min(1000 if config.batch_size < 16 else 1, steps_per_pass))


def _on_devices(ds, mesh) -> dict:
  """The splits as device arrays, replicated on every device of the mesh (each device trains
  its own lanes on all of the data)."""
  splits = {"train": (ds.train_x, ds.train_y), "test": (ds.test_x, ds.test_y)}
  if ds.val_x.shape[0]:
    splits["val"] = (ds.val_x, ds.val_y)
  if mesh is None:
    return {k: (jnp.asarray(x), jnp.asarray(y)) for k, (x, y) in splits.items()}
  everywhere = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  return {k: tuple(jax.device_put(a, everywhere) for a in v) for k, v in splits.items()}


@dataclasses.dataclass
class _Pass:
  """What one pass's helpers share: the run's fixed parts and its host-side progress."""
  config: Any
  lanes: list
  programs: lanes_lib.Programs
  splits: dict
  steps_per_pass: int
  chunk: int              # optimiser steps per jitted call
  manager: Any            # orbax CheckpointManager
  results: dict           # what results.json holds
  run: dict               # host-side progress of the pass, saved with every checkpoint
  workdir: str
  progress: bool
  clock: Callable[[], float]   # seconds the run has trained, resumptions included
  board: metrics.Writers

  @property
  def n_lanes(self) -> int:
    return len(self.lanes)

  def checkpoint(self, state, global_step):
    self.run["total_seconds"] = self.clock()
    workdir_lib.save(self.manager, global_step, state, {"run": self.run, "results": self.results})

  def write_results(self):
    if multihost.is_primary():
      results_lib.write(self.workdir, self.results)

  def diverged(self, k: int, epoch: int, step: int, cause: str) -> None:
    lane = self.results["lanes"][k]
    lane.update(status="diverged", diverged_at={"pass": epoch + 1, "step": step, "cause": cause})
    lane.pop("final_test_error", None)   # of an earlier pass: not this lane's result
    if self.n_lanes > 1:
      log(f"lane {k} (seed {self.lanes[k]['seed']}) diverged in pass {epoch + 1} ({cause}); "
          "the other lanes go on", file=sys.stderr)

  def all_diverged(self, epoch: int) -> DivergenceError:
    """results.json marked diverged, and the error that ends the run."""
    self.results["status"] = "diverged"
    self.results.pop("final_test_error", None)
    self.write_results()
    causes = sorted({l["diverged_at"]["cause"] for l in self.results["lanes"]
                     if "diverged_at" in l})
    what = "the model" if self.n_lanes == 1 else "every lane"
    kept = (f"the last good checkpoint is kept in {self.workdir}/checkpoints"
            if self.manager.latest_step() is not None else "no checkpoint was written")
    return DivergenceError(f"{what} diverged in pass {epoch + 1} ({'; '.join(causes)}); {kept}; "
                           "lower the learning rate (or raise sdlm_mu) and rerun with --overwrite")


def _refresh_and_record(p: _Pass, state, epoch, records):
  """SDLM's h before the pass, and what it means for each lane's rates (in its record)."""
  if epoch == 0 or p.config.sdlm_hessian == "every_pass":   # "once": pass 1's h, checkpointed
    state = p.programs.refresh(state, *p.splits["train"], epoch, 0)
  eta = float(p.programs.recipe.schedule(int(host(state["step"])[0])))
  h = jax.tree.map(host, sdlm.get_hessian(state["opt_state"]))
  for k, r in enumerate(records):
    curv = sdlm.curvature_summary(jax.tree.map(lambda v: v[k], h), eta, p.lanes[k]["sdlm_mu"])
    r.update(eta=eta, effective_lr_min=curv.pop("rate_min"),
             effective_lr_max=curv.pop("rate_max"), sdlm=curv)
  return state


def _train_pass(p: _Pass, state, epoch, signals, t0):
  """The optimiser steps of one pass from run["step"] on, with the mid-pass checkpoints.
  Returns (state, seconds spent on the pass since t0 and before any interruption)."""
  run, config, n_lanes = p.run, p.config, p.n_lanes
  order = p.programs.order(state, epoch, p.splits["train"][0].shape[0], p.steps_per_pass,
                           config.batch_size)
  order = jnp.concatenate([order, order[:, :p.chunk]], axis=1)   # rows for the last call's tail
  bar = None
  if p.progress and multihost.is_primary():
    bar = tqdm(total=p.steps_per_pass * config.batch_size * n_lanes, unit="img", unit_scale=True,
               desc=f"pass {epoch + 1}/{config.epochs}", leave=False, file=sys.stderr,
               dynamic_ncols=True, initial=run["step"] * config.batch_size * n_lanes)
  loss_sum, errors = np.asarray(run["loss_sum"]), np.asarray(run["errors"], np.int64)
  alive = np.asarray(run["alive"], bool)
  last_checkpoint = run["step"]
  for start, stop, refresh in segments(config, epoch, p.steps_per_pass, p.chunk):
    if stop <= run["step"]:
      continue
    if refresh and start > 0:
      state = p.programs.refresh(state, *p.splits["train"], epoch, start)
    if p.chunk == 1:
      # One jitted step per call; the metrics stay on the device until the segment ends.
      seg_loss, seg_errors = 0.0, 0
      for i in range(start, stop):
        state, m = p.programs.train_step_at(state, *p.splits["train"], order, i)
        seg_loss, seg_errors = seg_loss + m["loss"], seg_errors + m["errors"]
    else:
      # Every call gets `chunk` rows (one compiled program) and uses the first stop - start.
      state, m = p.programs.train_steps(state, *p.splits["train"],
                                        order[:, start:start + p.chunk], stop - start)
      seg_loss, seg_errors = m["loss"], m["errors"]
    loss_sum, errors = loss_sum + host(seg_loss), errors + host(seg_errors)
    for k in np.flatnonzero(alive & ~np.isfinite(loss_sum)):
      alive[k] = False
      p.diverged(k, epoch, stop, f"the loss became non-finite by step {stop}")
    if not alive.any():
      raise p.all_diverged(epoch)
    run.update(step=stop, loss_sum=loss_sum.tolist(), errors=errors.tolist(), alive=alive.tolist())
    p.board.running_loss(epoch * p.steps_per_pass + stop,
                         {k: loss_sum[k] / stop for k in np.flatnonzero(alive)})
    if bar is not None:
      bar.update((stop - start) * config.batch_size * n_lanes)
      seen = stop * config.batch_size
      bar.set_postfix(loss=f"{np.mean(loss_sum[alive]) / stop:.4f}",
                      err=f"{100.0 * np.mean(errors[alive]) / seen:.2f}%")
    due = (config.checkpoint_every and stop < p.steps_per_pass
           and stop - last_checkpoint >= config.checkpoint_every)
    # A signal in the pass's last call waits for the end-of-pass checkpoint (after evaluation):
    # a checkpoint here would take that one's step.
    received = signals.anywhere() if stop < p.steps_per_pass else None
    if due or received:
      run["pass_seconds"] += time.perf_counter() - t0
      t0 = time.perf_counter()
      p.checkpoint(state, epoch * p.steps_per_pass + stop)
      last_checkpoint = stop
    if received:
      if bar is not None:
        bar.close()
      raise Interrupted(f"{received} received: stopped at pass {epoch + 1}, step {stop}, "
                        "checkpoint written; rerun the same command to resume")
  if bar is not None:
    bar.close()
  jax.block_until_ready(state["params"])
  return state, run["pass_seconds"] + time.perf_counter() - t0


def _evaluate_pass(p: _Pass, state, epoch, train_seconds):
  """Every split of every living lane after the pass, into the lanes' records."""
  run, records = p.run, p.run["records"]
  t_eval = time.perf_counter()
  # The training set's error after the pass is most of the evaluation (60,000 of 70,000
  # images); train_eval="last_pass" measures it after the last pass only.
  every = p.config.train_eval == "every_pass" or epoch + 1 == p.config.epochs
  evals = {k: p.programs.evaluate(state["params"], x, y, state["map_j"])
           for k, (x, y) in p.splits.items() if k != "train" or every}
  largest = {name: host(v) for name, v in p.programs.largest_weight(state["params"]).items()}
  alive = np.asarray(run["alive"], bool)
  images = p.steps_per_pass * p.config.batch_size
  for k in np.flatnonzero(alive):
    te, r = evals["test"][k], records[k]
    r.update(train_error_online=100.0 * run["errors"][k] / images,
             train_loss_online=run["loss_sum"][k] / p.steps_per_pass, seconds=train_seconds,
             images_per_second=images / train_seconds, test_error=te["error"],
             test_loss=te["loss"], test_errors=te["errors"])
    if "train" in evals:
      r.update(train_error=evals["train"][k]["error"], train_loss=evals["train"][k]["loss"])
    if "val" in evals:
      r.update(val_error=evals["val"][k]["error"], val_loss=evals["val"][k]["loss"])
    lane = p.results["lanes"][k]
    cause = _blown_up(largest, p.run.get("init_largest", {}), k)   # {}: an older checkpoint
    if cause:
      alive[k] = False
      p.diverged(k, epoch, p.steps_per_pass, cause)
      continue
    lane["passes"].append(r)
    p.board.end_of_pass((epoch + 1) * p.steps_per_pass, k, r)
    lane["final_test_error"] = te["error"]
    train_error = r.get("train_error", r["train_error_online"])
    stalled = (images >= STALL_IMAGES
               and min(r["train_error_online"], train_error) >= STALLED_ERROR)
    if stalled and "stalled_at" not in lane:
      lane["stalled_at"] = {"pass": epoch + 1, "cause": (
          f"training error at chance ({train_error:.1f}%) for the whole pass: the units "
          "saturated; a larger sdlm_mu or a smaller learning rate may train")}
      if p.n_lanes > 1:
        log(f"lane {k} (seed {p.lanes[k]['seed']}) stalled in pass {epoch + 1}: training error "
            f"at chance; it goes on", file=sys.stderr)
    final = "stalled" if stalled else "done"
    lane["status"] = "running" if epoch + 1 < p.config.epochs else final
  eval_seconds = time.perf_counter() - t_eval
  for k in np.flatnonzero(alive):
    records[k]["eval_seconds"] = eval_seconds
  run["alive"] = alive.tolist()
  _log_pass(p, epoch, [p.results["lanes"][k]["passes"][-1] for k in np.flatnonzero(alive)],
            train_seconds, eval_seconds)


def _final_status(results: dict) -> str:
  """done, unless every lane that did not diverge ended stuck at chance."""
  ended = [l["status"] for l in results["lanes"] if l["status"] != "diverged"]
  return "stalled" if ended and all(s == "stalled" for s in ended) else "done"


def _blown_up(largest: dict, at_init: dict, k: int):
  """Why lane k's parameters are no longer a model (None: they are)."""
  for name, v in largest.items():
    if not np.isfinite(v[k]):
      return "parameters became non-finite"
    start = at_init[name][k] if name in at_init else 0.0
    if v[k] > max(RUNAWAY_WEIGHT, RUNAWAY_GROWTH * start):
      return (f"{name}'s weights grew without bound, largest |w| {v[k]:.3g} from {start:.2g} "
              "at initialisation")
  return None


def _log_pass(p: _Pass, epoch, done, train_seconds, eval_seconds):
  prefix = f"pass {epoch + 1:2d}/{p.config.epochs}:"
  images = p.steps_per_pass * p.config.batch_size
  if p.n_lanes == 1 and done:
    r = done[0]
    after = (f", after pass {r['train_error']:.2f}% (loss {r['train_loss']:.4f})"
             if "train_error" in r else "")
    log(f"{prefix} train error on the fly {r['train_error_online']:.2f}%{after}, test "
        f"{r['test_error']:.2f}% ({r['test_errors']} errors), "
        f"{r['images_per_second']:.0f} img/s, {train_seconds:.1f}s")
  elif done:
    te = [r["test_error"] for r in done]
    log(f"{prefix} {len(done)} lanes, test error mean {np.mean(te):.2f}% (min {np.min(te):.2f}, "
        f"max {np.max(te):.2f}), {p.n_lanes * images / train_seconds:.0f} img/s summed, "
        f"{train_seconds:.1f}s + {eval_seconds:.1f}s eval")


def train_and_evaluate(config, workdir: str, *, progress: bool = True, overwrite: bool = False,
                       dataset: data_lib.Mnist | None = None) -> dict:
  """Trains `config` and writes workdir/results.json; returns the same dict.

  All the models of `lanes.lanes_of(config)` (config.seeds seeds, times the values of
  config.vary) train together in one compiled program, vmapped over a leading lane axis
  (sharded over the devices); each has its own initialisation, data order, Hessian estimates and
  hyperparameters, and its own entry in results["lanes"]. With one lane, results["passes"] and
  results["final_test_error"] are its.

  Checkpoints (orbax) go to workdir/checkpoints after every pass and every `checkpoint_every`
  steps; rerunning with the same workdir and config resumes from the latest one and ends with
  the same numbers as a run never interrupted. SIGINT/SIGTERM write a checkpoint and raise
  Interrupted. `dataset`: the splits to use instead of the config's (boosting's filtered sets),
  made the same way again when a run resumes.
  """
  config_lib.validate(config)
  lanes = lanes_lib.lanes_of(config)
  ds = load_data(config) if dataset is None else dataset
  n_train = ds.train_x.shape[0]
  if config.batch_size > n_train:
    raise config_lib.ConfigError(
        f"batch_size: {config.batch_size} is larger than the training set ({n_train} images); "
        "lower batch_size or raise train_size")
  steps_per_pass = n_train // config.batch_size
  trained = lanes_lib.padded_lanes(lanes)   # the first len(lanes) are the real ones
  mesh = lanes_lib.lane_mesh(len(trained))
  programs = lanes_lib.Programs(step.make_recipe(config, steps_per_pass), mesh,
                                config.lane_group)
  _check_memory(len(trained), describe(programs.recipe.model)[-1]["params"], config)
  # Everything above validates the config and the data; only now is anything written.
  prepared = workdir_lib.prepare(workdir, config, overwrite)
  log_file = manager = board = None
  stopped_empty = False
  try:
    multihost.barrier("workdir prepared")
    saved = prepared.saved
    if not prepared.resumable and saved is not None and saved["status"] in workdir_lib.FINISHED:
      return saved   # finished, its checkpoints since removed: nothing to redo or overwrite
    log_file = workdir_lib.log_to(workdir)
    splits = _on_devices(ds, mesh)
    state, results, run = _fresh(config, programs, lanes, trained, n_train, ds, mesh)
    manager = workdir_lib.checkpoint_manager(workdir, config.checkpoint_keep)
    interrupt.check()   # the last point before training at which a signal keeps nothing
    if prepared.resumable:
      state, meta = workdir_lib.resume(manager, state, config, prepared)
      run, results = meta["run"], meta["results"]
      if results["status"] in ("done", "stalled"):
        # Finished: results.json may be missing or stale (a write that failed); restore it.
        if multihost.is_primary():
          results_lib.write(workdir, results)
        return results
      results.setdefault("resumed", []).append({"pass": run["epoch"] + 1, "step": run["step"]})
      log(f"resuming from the checkpoint at pass {run['epoch'] + 1}, step {run['step']} of "
          f"{steps_per_pass}", file=sys.stderr)
    start, seconds_before = time.perf_counter(), run["total_seconds"]
    board = metrics.Writers(workdir, lanes, results["lanes"])
    p = _Pass(config, lanes, programs, splits, steps_per_pass,
              steps_per_call(config, steps_per_pass), manager, results, run, workdir, progress,
              lambda: seconds_before + time.perf_counter() - start, board)
    with multihost.Signals() as signals:
      for epoch in range(run["epoch"], config.epochs):
        t0 = time.perf_counter()
        if not (run["epoch"] == epoch and run["step"] > 0):   # not resuming mid-pass
          run.update(epoch=epoch, step=0, loss_sum=[0.0] * len(trained),
                     errors=[0] * len(trained), pass_seconds=0.0,
                     records=[{"pass": epoch + 1} for _ in lanes])
          if config.optimizer == "sdlm":
            state = _refresh_and_record(p, state, epoch, run["records"])
        state, train_seconds = _train_pass(p, state, epoch, signals, t0)
        _evaluate_pass(p, state, epoch, train_seconds)
        results_lib.end_pass(results, p.clock())
        if not any(run["alive"]):
          raise p.all_diverged(epoch)
        results["status"] = "running" if epoch + 1 < config.epochs else _final_status(results)
        run.update(epoch=epoch + 1, step=0, records=None)
        p.checkpoint(state, (epoch + 1) * steps_per_pass)
        p.write_results()
        received = signals.anywhere()
        if received and epoch + 1 < config.epochs:
          raise Interrupted(f"{received} received: stopped after pass {epoch + 1}, "
                            "checkpoint written; rerun the same command to resume")
  except KeyboardInterrupt:
    # Stopped before anything was checkpointed: a workdir this run made holds nothing to keep.
    stopped_empty = prepared.created and (manager is None or manager.latest_step() is None)
    raise
  finally:
    if manager is not None:
      workdir_lib.close(manager)
    if board is not None:
      board.close()
    if log_file is not None:
      workdir_lib.stop_logging(log_file)
    if prepared.lock is not None:
      prepared.lock.release()
    if stopped_empty and multihost.is_primary():
      shutil.rmtree(workdir, ignore_errors=True)
  return results


def _fresh(config, programs, lanes, trained, n_train, ds, mesh):
  """(state, results, run) of a run before its first step: every lane initialised, results.json's
  record, and the host-side progress of the current pass, saved with every checkpoint (the
  padding lanes count as never alive: they train, but nothing reads their numbers)."""
  state = programs.init_lanes(trained)
  n_params = sum(int(np.prod(v.shape[1:])) for v in jax.tree_util.tree_leaves(state["params"]))
  results = results_lib.new(config, describe(programs.recipe.model), lanes, n_params, n_train,
                            int(ds.test_x.shape[0]), 1 if mesh is None else mesh.size)
  run = {"epoch": 0, "step": 0, "loss_sum": [0.0] * len(trained), "errors": [0] * len(trained),
         "alive": [True] * len(lanes) + [False] * (len(trained) - len(lanes)),
         "pass_seconds": 0.0, "records": None, "total_seconds": 0.0,
         "init_largest": {name: host(v).tolist() for name, v in
                          programs.largest_weight(state["params"]).items()}}
  return state, results, run


def load_data(config) -> data_lib.Mnist:
  """The splits `config` trains and measures on: its data version and pixel order, centred in
  its network's input field."""
  return data_lib.load_mnist(
      config.mnist_dir or None, train_size=config.train_size, subset=config.train_subset,
      validation=config.validation, seed=config.seed, version=config.input_version,
      permutation_seed=config.permutation_seed if config.pixels == "permuted" else None,
      side=step.make_model(config).side)


def _check_memory(n_lanes: int, n_params: int, config) -> None:
  """ConfigError before anything is written if the lanes cannot fit in this host's free
  memory (CPU only; an accelerator reports its own out-of-memory). Per lane: the parameters,
  SDLM's h or Adam's moments, gradients and updates, about 8 copies, plus activations."""
  if jax.default_backend() != "cpu":
    return
  try:
    with open("/proc/meminfo") as f:
      free = next(int(l.split()[1]) * 1024 for l in f if l.startswith("MemAvailable:"))
  except (OSError, StopIteration, ValueError):
    return
  per_lane = 4 * (8 * n_params + 200_000 * config.batch_size)
  if n_lanes * per_lane > free:
    fits = max(1, free // per_lane)
    raise config_lib.ConfigError(
        f"seeds: {n_lanes} models trained together need about {n_lanes * per_lane / 2**30:.1f} "
        f"GiB, more than the {free / 2**30:.1f} GiB free here; train at most about {fits} at once "
        "(fewer --seeds or --vary values)")
