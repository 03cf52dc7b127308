"""What the report reads: run and sweep directories, statistics over their lanes, and a trained
model at its latest checkpoint whose checksum holds, with its test predictions."""
from __future__ import annotations

import os
from typing import Any, NamedTuple, Optional

import jax
import numpy as np

from lenet_jax import data, files, losses, trained
from lenet_jax.results import lanes, shape_problem
from lenet_jax.workdir import WorkdirError


class SourceError(ValueError):
  """A run or sweep directory that cannot be read."""


class Run(NamedTuple):
  path: str
  results: dict


# ---------------------------------------------------------------------------- reading the runs

def _read_json(path: str, name: str, missing: str, unreadable: str):
  """path/name parsed; SourceError naming the fix if the directory is missing or the file
  unreadable."""
  file = os.path.join(path, name)
  if not os.path.isdir(path):
    raise SourceError(missing)
  try:
    return file, files.read_json(file, unreadable)
  except files.FileProblem as e:
    raise SourceError(str(e)) from None


def read_run(path: str) -> Run:
  """The results.json of a run directory; SourceError (with the fix) if it cannot be read."""
  file, results = _read_json(
      path, "results.json",
      f"run directory {path!r} does not exist; train it first (python launch.py "
      f"--experiment=... --workdir={path}) or name another directory",
      "point the report at a directory holding a finished run's results.json")
  # Results written before lanes existed hold one model at the top level: read as one lane.
  old = isinstance(results, dict) and "lanes" not in results
  problem = shape_problem(dict(results, lanes=lanes(results), status="done") if old else results)
  if problem:
    raise SourceError(f"{file} is not a training run's results.json ({problem}); rerun that "
                      "training, or point the report at another run directory")
  return Run(path, results)


def read_sweep(path: str) -> dict:
  """The summary.json of a sweep directory; SourceError (with the fix) if it cannot be read."""
  file, summary = _read_json(
      path, "summary.json",
      f"sweep directory {path!r} does not exist; run it first (python launch.py "
      f"--sweep=paper_ablations --workdir={path}) or name another directory",
      "point the report at a sweep directory holding summary.json")
  if not isinstance(summary, dict) or not isinstance(summary.get("experiments"), list):
    raise SourceError(f"{file} is not a sweep summary (no 'experiments' list)")
  return summary


def first_pass_rates(runs: list[Run]) -> tuple[str, str]:
  """SDLM's effective rates before pass 1 over the lanes of `runs`, and the share of parameters
  inside the paper's first-pass range, as text ('-' where results.json does not record them)."""
  first = [l["passes"][0] for r in runs for l in lanes(r.results)
           if l.get("passes") and "effective_lr_min" in l["passes"][0]]
  if not first:
    return "-", "-"
  rates = (f"{min(p['effective_lr_min'] for p in first):.2g} to "
           f"{max(p['effective_lr_max'] for p in first):.2g}")
  shares = [p["sdlm"]["share_in_paper_range"] for p in first if "sdlm" in p]
  share = (f"{100 * min(shares):.1f}-{100 * max(shares):.1f}% (n={len(shares)} lanes)"
           if shares else "-")
  return rates, share


def kept_lanes(runs: list[Run]) -> list[dict]:
  """Every lane of the runs that has not diverged."""
  return [l for r in runs for l in lanes(r.results) if l.get("status") != "diverged"]


class Stat(NamedTuple):
  values: list[float]
  running: bool        # True: no lane has finished; these are the running lanes' latest passes
  passes: list[int]    # the pass each value is from
  epochs: int


def final_stat(runs: list[Run], key: str) -> Optional[Stat]:
  """`key` of the last pass over the finished lanes; over the running lanes' latest pass when
  none has finished; None when there is no pass at all."""
  done, running = [], []
  for r in runs:
    for l in lanes(r.results):
      if not l.get("passes") or key not in l["passes"][-1]:
        continue
      if l.get("status") == "diverged":
        continue
      target = done if l.get("status") in ("done", "stalled") else running
      target.append((float(l["passes"][-1][key]), len(l["passes"]),
                     int(r.results.get("config", {}).get("epochs", 0))))
  chosen = done or running
  if not chosen:
    return None
  return Stat([v for v, _, _ in chosen], not done, [p for _, p, _ in chosen],
              max(e for _, _, e in chosen))


def fmt_stat(stat: Optional[Stat]) -> str:
  if stat is None or not stat.values:
    return "-"
  v = stat.values
  text = f"{np.mean(v):.2f}"
  if len(v) > 1:
    text += f" ± {np.std(v, ddof=1):.2f} (n={len(v)} seeds, min {min(v):.2f}, max {max(v):.2f})"
  else:
    text += " (n=1 seed)"
  if stat.running:
    text += f" [still running: pass {min(stat.passes)}-{max(stat.passes)} of {stat.epochs}]" \
        if min(stat.passes) != max(stat.passes) else \
        f" [still running: pass {stat.passes[0]} of {stat.epochs}]"
  return text


def fmt_row_stat(row: dict) -> str:
  """A summary.json row's test error as fmt_stat writes it."""
  if row.get("test_error_mean") is None:
    return "-"
  text = f"{row['test_error_mean']:.2f}"
  n = row.get("seeds_finished") or len(row.get("test_errors") or [])
  if row.get("test_error_std") is not None:
    text += (f" ± {row['test_error_std']:.2f} (n={n} seeds, min {row['test_error_min']:.2f}, "
             f"max {row['test_error_max']:.2f})")
  else:
    text += f" (n={n} seed{'s' if n != 1 else ''})"
  return text


def total(results: dict, key: str) -> Optional[int]:
  for row in results.get("layers") or []:
    if row.get("layer") == "total":
      return row.get(key)
  return None


# ------------------------------------------------------------------------------- the model side

def _checkpoint_steps(run_dir: str) -> list[int]:
  d = os.path.join(run_dir, "checkpoints")
  if not os.path.isdir(d):
    return []
  return sorted(int(s) for s in os.listdir(d)
                if s.isdigit() and os.path.isdir(os.path.join(d, s, "state")))


def load_trained(run_dir: str) -> trained.Trained:
  """The run's every lane at its latest checkpoint whose checksum holds, read by
  lenet_jax.trained.load: a damaged checkpoint is passed over with a warning, never drawn from;
  SourceError if none is left (a run still training may also delete an old one meanwhile)."""
  if not _checkpoint_steps(run_dir):
    raise SourceError(f"{run_dir}/checkpoints holds no checkpoint")
  try:
    return trained.load(run_dir)
  except WorkdirError as e:
    raise SourceError(str(e)) from None


def _test_set(mnist_dir: Optional[str], results: dict):
  """(images (N, 32, 32, 1), labels) of the preprocessed MNIST test set."""
  candidates = [mnist_dir] if mnist_dir else []
  saved = results.get("config", {}).get("mnist_dir")
  if saved and os.path.isdir(saved):
    candidates.append(saved)
  candidates.append(None)        # $LENET_MNIST_DIR, then tensorflow-datasets
  error = None
  for d in candidates:
    try:
      ds = data.load_mnist(d, train_size=1)   # only the test split is used
      return ds.test_x, ds.test_y
    except Exception as e:      # MnistError, or tfds missing / offline
      error = e if error is None else error
  raise SourceError(f"MNIST test set not found ({str(error)[:200]}); pass mnist_dir "
                    "(--set=mnist_dir=...)")


class ModelView(NamedTuple):
  run: Run
  lane: int
  step: int
  params: Any
  model: Any
  test_x: np.ndarray
  test_y: np.ndarray
  preds: np.ndarray


def model_view(run: Run, mnist_dir: Optional[str]) -> ModelView:
  """The first non-diverged lane of `run` at its latest checkpoint whose checksum holds, and its
  test predictions."""
  lane = next((k for k, l in enumerate(lanes(run.results)) if l.get("status") != "diverged"), 0)
  got = load_trained(run.path)
  params, model = trained.lane_params(got, lane), got.model
  test_x, test_y = _test_set(mnist_dir, run.results)
  scores_fn = jax.jit(lambda p, x: losses.predict(model.apply({"params": p}, x), model.output))
  bs = 1000   # prediction batches; their size changes only float rounding
  preds = np.concatenate([np.asarray(scores_fn(params, test_x[i:i + bs]))
                          for i in range(0, len(test_x), bs)])
  return ModelView(run, lane, got.step, params, model, test_x, test_y, preds.astype(np.int64))


def stage_outputs(model, params, x) -> dict:
  """Each stage's output (after its activation), by stage name."""
  out = {}
  for s in model.stages():
    x = s.apply(params.get(s.name, {}), x)
    if s.act is not None:
      x = s.act(x)
    out[s.name] = np.asarray(x)
  return out


def checkpoint_position(view: ModelView) -> tuple[str, Optional[int]]:
  """Where the checkpoint is in training, and the test errors results.json records there."""
  r = view.run.results
  batch = int(r["config"].get("batch_size", 1) or 1)
  spp = int(r.get("train_images") or 0) // batch
  if not spp:
    return f"step {view.step:,}", None
  done, within = divmod(view.step, spp)
  passes = lanes(r)[view.lane].get("passes", [])
  if within:
    return f"step {view.step:,} (pass {done + 1}, step {within:,} of {spp:,})", None
  recorded = passes[done - 1].get("test_errors") if 0 < done <= len(passes) else None
  return f"step {view.step:,} (end of pass {done})", recorded
