"""A report of finished training runs: report.md beside PNG figures, our numbers beside the paper's.

`build_report(sources, out_dir, mnist_dir)` reads the runs named in `sources` (each optional):

  c3_partial   a run directory (results.json, checkpoints/) or a list of them, one per seed: the
               paper's recipe. Figure 5's curves, the misclassified digits (Figure 8), the
               prototypes, feature maps, C1 kernels and the confusion matrix come from these.
  sweep        a sweep directory (summary.json, as lenet_jax.summary.write_summary writes it): its
               train_15k, train_30k and c3_partial rows give Figure 6.
  distortions  a run directory of the distorted-training run (the paper's 0.8%).

Every figure whose input is missing is skipped with a line in the report saying why. The figures
that need the trained model load the first c3_partial run's latest checkpoint and the MNIST test
set (`mnist_dir`, else the run's own config's mnist_dir, else $LENET_MNIST_DIR / tfds).
"""
from __future__ import annotations

import datetime
import json
import math
import os
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from lenet_jax import tables
from lenet_jax.summary import atomic_write

ROLES = ("c3_partial", "sweep", "distortions")

# LeCun et al. 1998 (../shared/reference/lenet5-paper-facts.md).
PAPER_PARAMETERS = 60_000
PAPER_CONNECTIONS = 340_908
PAPER_TEST_ERROR = 0.95           # %, LeNet-5, undistorted training set (Figures 5 and 9)
PAPER_TRAIN_ERROR = 0.35          # %, after 19 passes (Figure 5)
PAPER_DISTORTIONS = 0.8           # %, with 540,000 distorted extra copies (Figure 9)
PAPER_MISCLASSIFIED = 82          # test digits LeNet-5 gets wrong (Figure 8)
PAPER_LAYERS = [  # (layer, trainable parameters, connections)
    ("C1", 156, 122_304), ("S2", 12, 5_880), ("C3", 1_516, 151_600), ("S4", 32, 2_000),
    ("C5", 48_120, 48_120), ("F6", 10_164, 10_164), ("OUTPUT", 0, 840),
    ("total", PAPER_PARAMETERS, PAPER_CONNECTIONS)]
# Figure 9: (classifier, test error %, the source role that reproduces it or None).
FIGURE9 = [
    ("LeNet-1", 1.7, None), ("LeNet-4", 1.1, None), ("LeNet-5", 0.95, "c3_partial"),
    ("LeNet-5 with distortions", 0.8, "distortions"), ("boosted LeNet-4 with distortions", 0.7, None),
    ("linear classifier", 12.0, None), ("k-NN Euclidean", 5.0, None),
    ("40 PCA + quadratic", 3.3, None), ("1000 RBF + linear", 3.6, None),
    ("SVM poly 4", 1.1, None), ("reduced-set SVM", 1.0, None), ("virtual SVM", 0.8, None),
    ("28x28-300-10", 4.7, None), ("28x28-500-150-10", 2.95, None),
]
# Figure 6's training-set sizes, for sweep rows whose results.json is not beside summary.json.
TRAIN_SIZES = {"train_15k": 15_000, "train_30k": 30_000, "c3_partial": 60_000}

FIGURES = {
    "fig5": "fig5_error_per_pass.png",
    "fig6": "fig6_training_set_size.png",
    "fig8": "fig8_misclassified.png",
    "prototypes": "prototypes.png",
    "feature_maps": "feature_maps.png",
    "c1_kernels": "c1_kernels.png",
    "confusion": "confusion.png",
}
MAX_MISCLASSIFIED_SHOWN = 120     # the grid of Figure 8 shows at most this many digits
FEATURE_DIGITS = 3                # test digits whose feature maps are drawn


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
    with open(file) as f:
      return file, json.load(f)
  except (OSError, ValueError) as e:
    raise SourceError(f"{file} is unreadable ({getattr(e, 'strerror', None) or e}); "
                      f"{unreadable}") from None


def read_run(path: str) -> Run:
  """The results.json of a run directory; SourceError (with the fix) if it cannot be read."""
  file, results = _read_json(
      path, "results.json",
      f"run directory {path!r} does not exist; train it first (python launch.py "
      f"--experiment=... --workdir={path}) or name another directory",
      "point the report at a directory holding a finished run's results.json")
  if not isinstance(results, dict) or "config" not in results:
    raise SourceError(f"{file} is not a training run's results.json (no 'config'); point the "
                      "report at a run directory")
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


def lanes(results: dict) -> list[dict]:
  """The models of a run (results files older than lanes hold one model at the top level)."""
  if "lanes" in results:
    return results["lanes"]
  return [{"seed": results.get("config", {}).get("seed", 0), "overrides": {},
           "passes": results.get("passes", []), "status": results.get("status", "done")}]


def _kept(runs: list[Run]) -> list[dict]:
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
      target = done if l.get("status") == "done" else running
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


def _fmt_row_stat(row: dict) -> str:
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


def _total(results: dict, key: str) -> Optional[int]:
  for row in results.get("layers") or []:
    if row.get("layer") == "total":
      return row.get(key)
  return None


# ------------------------------------------------------------------------------------- writing

def _save(fig, path: str) -> None:
  atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"),
               ".png")


def _write_text(path: str, text: str) -> None:
  def write(tmp):
    with open(tmp, "w") as f:
      f.write(text)
  atomic_write(path, write, ".md")


def _figure(**kw):
  from matplotlib.figure import Figure   # Figure API: Agg, pyplot's global state untouched
  return Figure(**kw)


def _log_axis(ax, low: float, high: float) -> None:
  """Log-scale y over [low, high], labelled with plain numbers at 1, 2, 5 times powers of ten."""
  from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
  ax.set_yscale("log")
  ax.set_ylim(low, high)
  ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
           for m in (1, 2, 5) if low <= m * 10.0 ** e <= high]
  ax.yaxis.set_major_locator(FixedLocator(ticks))
  ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
  ax.yaxis.set_minor_formatter(NullFormatter())


# ------------------------------------------------------------------------------------- figures

def plot_error_per_pass(runs: list[Run], path: str) -> str:
  """Figure 5: on-the-fly training error, training error after each pass and test error per pass,
  mean over the lanes with a min-max band. Returns a caption."""
  kept = _kept(runs)
  n_passes = max((len(l.get("passes", [])) for l in kept), default=0)
  if not n_passes:
    raise SourceError("no c3_partial lane has finished a pass")
  fig = _figure(figsize=(8.5, 5.5))
  ax = fig.add_subplot()
  curves = [("train_error_online", "training error on the fly (during the pass)", "C0", "o"),
            ("train_error", "training error after the pass", "C1", "s"),
            ("test_error", "test error after the pass", "C2", "D")]
  counts = set()
  low, high = PAPER_TRAIN_ERROR, PAPER_TEST_ERROR
  for key, label, color, marker in curves:
    xs, mean, lo, hi = [], [], [], []
    for i in range(n_passes):
      v = [float(l["passes"][i][key]) for l in kept
           if len(l.get("passes", [])) > i and key in l["passes"][i]]
      if v:
        xs.append(i + 1)
        mean.append(np.mean(v))
        lo.append(min(v))
        hi.append(max(v))
        counts.add(len(v))
    if not xs:
      continue
    ax.plot(xs, mean, color=color, marker=marker, markersize=4, label=label)
    if max(counts) > 1:
      ax.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0)
    positive = [v for v in lo + hi if v > 0]
    if positive:
      low, high = min(low, min(positive)), max(high, max(positive))
  ax.axhline(PAPER_TEST_ERROR, color="C2", linestyle="--", linewidth=1,
             label=f"paper: test error {PAPER_TEST_ERROR}%")
  ax.axhline(PAPER_TRAIN_ERROR, color="C1", linestyle="--", linewidth=1,
             label=f"paper: training error {PAPER_TRAIN_ERROR}% (after 19 passes)")
  _log_axis(ax, low / 1.5, high * 1.5)
  ax.set_xticks(range(1, n_passes + 1, max(1, n_passes // 20)))
  ax.set_xlabel("pass over the training set")
  ax.set_ylabel("error (%), log scale")
  n = max(counts)
  ax.set_title("Figure 5: LeNet-5 error per pass"
               + (f" (mean of {n} models, band = min to max)" if n > 1 else " (one model)"))
  ax.grid(True, which="both", alpha=0.3)
  ax.legend(fontsize=8, loc="best")
  _save(fig, path)
  return (f"Mean over {n} model(s) from {len(runs)} run(s); the shaded bands span the "
          "lowest to the highest model. Dashed: the paper's final numbers.")


def _sweep_points(sweep_dir: str, summary: dict, runs: list[Run]):
  """(size, label, row-like dict, source) for Figure 6, sorted by size."""
  rows = {r["experiment"]: r for r in summary["experiments"] if not r.get("overrides")}
  points = []
  for name in ("train_15k", "train_30k", "c3_partial"):
    row = rows.get(name)
    source = f"sweep row {name}"
    if row is None and name == "c3_partial" and runs:
      # The full training set from the c3_partial runs when the sweep lacks that row.
      te, tr = final_stat(runs, "test_error"), final_stat(runs, "train_error")
      if te is None:
        continue
      row = {"test_errors": te.values, "test_error_mean": float(np.mean(te.values)),
             "test_error_std": float(np.std(te.values, ddof=1)) if len(te.values) > 1 else None,
             "train_error_mean": float(np.mean(tr.values)) if tr else None}
      source = "c3_partial runs"
    if row is None or row.get("test_error_mean") is None:
      continue
    size = TRAIN_SIZES[name]
    if source == "c3_partial runs":
      size = int(runs[0].results.get("train_images") or size)
    else:
      try:
        with open(os.path.join(sweep_dir, name, "results.json")) as f:
          size = int(json.load(f).get("train_images") or size)
      except (OSError, ValueError, TypeError, AttributeError):
        pass
    points.append((size, name, row, source))
  return sorted(points, key=lambda p: p[0])


def plot_training_set_size(sweep_dir: str, summary: dict, runs: list[Run], path: str) -> str:
  """Figure 6: test (and training) error against the training-set size."""
  points = _sweep_points(sweep_dir, summary, runs)
  if not points:
    raise SourceError(f"{sweep_dir}/summary.json has no finished train_15k, train_30k or "
                      "c3_partial row")
  fig = _figure(figsize=(7.5, 5))
  ax = fig.add_subplot()
  x = [p[0] for p in points]
  mean = [p[2]["test_error_mean"] for p in points]
  std = [p[2].get("test_error_std") or 0.0 for p in points]
  ax.errorbar(x, mean, yerr=std, color="C2", marker="o", capsize=4,
              label="test error (mean ± std over seeds)")
  for size, name, row, _ in points:
    n = len(row.get("test_errors") or []) or row.get("seeds_finished") or 1
    ax.annotate(f"{name}, n={n}", (size, row["test_error_mean"]), xytext=(6, 6),
                textcoords="offset points", fontsize=8)
  train = [(p[0], p[2].get("train_error_mean")) for p in points
           if p[2].get("train_error_mean") is not None]
  if train:
    ax.plot([t[0] for t in train], [t[1] for t in train], color="C1", marker="s",
            linestyle=":", label="training error (mean over seeds)")
  ax.plot([60_000], [PAPER_TEST_ERROR], "k*", markersize=12,
          label=f"paper: LeNet-5 at 60,000 ({PAPER_TEST_ERROR}%)")
  ax.set_xlabel("training-set size (images)")
  ax.set_ylabel("error after the last pass (%)")
  ax.set_xticks(sorted(set(x) | {60_000}))
  ax.set_xticklabels([f"{v:,}" for v in sorted(set(x) | {60_000})])
  ax.set_ylim(bottom=0)
  ax.set_title("Figure 6: error against training-set size")
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=8)
  _save(fig, path)
  return ("Points: " + "; ".join(f"{name} ({size:,} images, {source})"
                                 for size, name, _, source in points)
          + ". The paper plots this figure without stating its 15k/30k numbers.")


def plot_misclassified(images, labels, preds, path: str) -> int:
  """Figure 8: the misclassified test digits titled true->pred; returns their count."""
  wrong = np.flatnonzero(preds != labels)
  shown = wrong[:MAX_MISCLASSIFIED_SHOWN]
  cols = 12
  rows = max(1, math.ceil(len(shown) / cols))
  height = rows * 0.95 + 0.7
  fig = _figure(figsize=(cols * 0.8, height))
  title = (f"Figure 8: the {len(wrong)} misclassified test digits (paper: {PAPER_MISCLASSIFIED})"
           if len(shown) == len(wrong) else
           f"Figure 8: the first {len(shown)} of {len(wrong)} misclassified test digits "
           f"(paper: {PAPER_MISCLASSIFIED})")
  fig.suptitle(title + "; each titled true->predicted", fontsize=10,
               y=1.0 - 0.1 / height)
  if not len(shown):
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "no misclassified digit", ha="center", va="center")
    ax.set_axis_off()
  for i, k in enumerate(shown):
    ax = fig.add_subplot(rows, cols, i + 1)
    ax.imshow(images[k, :, :, 0], cmap="gray_r", interpolation="nearest")
    ax.set_title(f"{labels[k]}->{preds[k]}", fontsize=8, pad=2)
    ax.set_xticks([])
    ax.set_yticks([])
  fig.subplots_adjust(wspace=0.1, hspace=0.45, top=1.0 - 0.6 / height)
  _save(fig, path)
  return int(len(wrong))


def plot_prototypes(protos, path: str, kind: str) -> None:
  """The ten RBF codes as 7x12 images (12 rows of 7, as tables.bitmap_prototypes lays them)."""
  fig = _figure(figsize=(9, 2.6))
  fig.suptitle(f"RBF output prototypes ({kind}): 84 = 12 rows x 7 columns, black = +1", fontsize=10)
  for d in range(len(protos)):
    ax = fig.add_subplot(1, len(protos), d + 1)
    ax.imshow(np.asarray(protos[d]).reshape(tables.BITMAP_HEIGHT, tables.BITMAP_WIDTH),
              cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_title(f"class {d}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
  _save(fig, path)


def plot_feature_maps(images, labels, maps: dict, path: str) -> None:
  """The input, C1's 6 and C3's 16 maps (after the activation) of a few test digits."""
  from matplotlib.gridspec import GridSpec
  c1, c3 = np.asarray(maps["C1"]), np.asarray(maps["C3"])
  n = images.shape[0]
  cols = 1 + max(c1.shape[-1], c3.shape[-1])
  fig = _figure(figsize=(cols * 0.75, n * 1.75 + 0.6))
  fig.suptitle("Feature maps after the activation: input, C1 (6 @ 28x28, top row of each digit) "
               "and C3 (16 @ 10x10, bottom row); white = high, one grey scale per layer", fontsize=10)
  grid = GridSpec(2 * n, cols, figure=fig, hspace=0.5, wspace=0.1)
  lim1 = float(np.abs(c1).max()) or 1.0
  lim3 = float(np.abs(c3).max()) or 1.0
  for d in range(n):
    ax = fig.add_subplot(grid[2 * d:2 * d + 2, 0])
    ax.imshow(images[d, :, :, 0], cmap="gray_r", interpolation="nearest")
    ax.set_title(f"input ({labels[d]})", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    for layer, m, lim, row in (("C1", c1, lim1, 2 * d), ("C3", c3, lim3, 2 * d + 1)):
      for j in range(m.shape[-1]):
        ax = fig.add_subplot(grid[row, 1 + j])
        ax.imshow(m[d, :, :, j], cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(f"{layer}-{j}", fontsize=7, pad=2)
        ax.set_xticks([])
        ax.set_yticks([])
  _save(fig, path)


def plot_c1_kernels(w, b, path: str) -> None:
  """The six 5x5 C1 kernels on one symmetric colour scale."""
  w = np.asarray(w)
  lim = float(np.abs(w).max()) or 1.0
  fig = _figure(figsize=(9, 2.3))
  fig.suptitle("C1 kernels (5x5, one per feature map; shared colour scale)", fontsize=10)
  axes = [fig.add_subplot(1, w.shape[-1], j + 1) for j in range(w.shape[-1])]
  for j, ax in enumerate(axes):
    im = ax.imshow(w[:, :, 0, j], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_title(f"map {j}\nbias {float(b[j]):+.3f}", fontsize=8)
    ax.set_xticks(range(5))
    ax.set_yticks(range(5))
    ax.tick_params(labelsize=6)
    ax.set_xlabel("column", fontsize=7)
    if j == 0:
      ax.set_ylabel("row", fontsize=7)
  fig.colorbar(im, ax=axes, shrink=0.8, label="weight")
  _save(fig, path)


def confusion_matrix(labels, preds, classes: int = 10) -> np.ndarray:
  m = np.zeros((classes, classes), np.int64)
  np.add.at(m, (np.asarray(labels), np.asarray(preds)), 1)
  return m


def plot_confusion(m: np.ndarray, path: str) -> None:
  """Counts annotated; the colour is the row fraction on a log scale so errors show."""
  from matplotlib.colors import LogNorm
  frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
  fig = _figure(figsize=(7, 6))
  ax = fig.add_subplot()
  im = ax.imshow(np.maximum(frac, 1e-4), cmap="Blues", norm=LogNorm(vmin=1e-4, vmax=1))
  for i in range(m.shape[0]):
    for j in range(m.shape[1]):
      if m[i, j]:
        ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                color="white" if frac[i, j] > 0.3 else "black")
  ax.set_xticks(range(m.shape[1]))
  ax.set_yticks(range(m.shape[0]))
  ax.set_xlabel("predicted class")
  ax.set_ylabel("true class")
  errors = int(m.sum() - np.trace(m))
  ax.set_title(f"Confusion matrix on the {int(m.sum()):,} test digits ({errors} errors)")
  fig.colorbar(im, ax=ax, label="fraction of the true class (log)")
  _save(fig, path)


# ------------------------------------------------------------------------------- the model side

def _checkpoint_steps(run_dir: str) -> list[int]:
  d = os.path.join(run_dir, "checkpoints")
  if not os.path.isdir(d):
    return []
  return sorted(int(s) for s in os.listdir(d)
                if s.isdigit() and os.path.isdir(os.path.join(d, s, "state")))


def load_params(run_dir: str, lane: int = 0):
  """(params of `lane` from the latest readable checkpoint, its step). A run still training may
  delete an old checkpoint while it is read: the next older one is tried then."""
  import jax
  import orbax.checkpoint as ocp
  steps = _checkpoint_steps(run_dir)
  if not steps:
    raise SourceError(f"{run_dir}/checkpoints holds no checkpoint")
  problems = []
  for step in reversed(steps):
    path = os.path.abspath(os.path.join(run_dir, "checkpoints", str(step), "state"))
    try:
      tree = ocp.StandardCheckpointer().restore(path)
    except Exception as e:   # orbax raises many types for a missing or damaged checkpoint
      problems.append(f"{step}: {type(e).__name__}")
      continue
    return jax.tree.map(lambda v: np.asarray(v)[lane], tree["params"]), step
  raise SourceError(f"no checkpoint of {run_dir} could be read ({', '.join(problems)})")


def _model_config(results: dict):
  import ml_collections
  saved = dict(results["config"])
  for k, v in saved.items():
    if isinstance(v, list):   # JSON turns the tuples of the config into lists
      saved[k] = tuple(v)
  return ml_collections.ConfigDict(saved)


def _test_set(mnist_dir: Optional[str], results: dict):
  """(images (N, 32, 32, 1), labels) of the preprocessed MNIST test set."""
  from lenet_jax import data
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
  """The first non-diverged lane of `run` at its latest checkpoint, and its test predictions."""
  import jax
  from lenet_jax import losses
  from lenet_jax.train import make_model
  lane = next((k for k, l in enumerate(lanes(run.results)) if l.get("status") != "diverged"), 0)
  params, step = load_params(run.path, lane)
  config = _model_config(run.results)
  model = make_model(config)
  test_x, test_y = _test_set(mnist_dir, run.results)
  scores_fn = jax.jit(lambda p, x: losses.predict(model.apply({"params": p}, x), config.output))
  bs = 1000   # prediction batches; their size changes only float rounding
  preds = np.concatenate([np.asarray(scores_fn(params, test_x[i:i + bs]))
                          for i in range(0, len(test_x), bs)])
  return ModelView(run, lane, step, params, model, test_x, test_y, preds.astype(np.int64))


def stage_outputs(model, params, x) -> dict:
  """Each stage's output (after its activation), by stage name."""
  out = {}
  for s in model.stages():
    x = s.apply(params.get(s.name, {}), x)
    if s.act is not None:
      x = s.act(x)
    out[s.name] = np.asarray(x)
  return out


def _checkpoint_position(view: ModelView) -> tuple[str, Optional[int]]:
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


# -------------------------------------------------------------------------------------- report

def _normalize(sources: dict) -> dict:
  unknown = set(sources) - set(ROLES)
  if unknown:
    raise ValueError(f"unknown report source role(s) {sorted(unknown)}; use {', '.join(ROLES)}")
  out = {}
  c3 = sources.get("c3_partial")
  if c3:
    out["c3_partial"] = [c3] if isinstance(c3, (str, os.PathLike)) else list(c3)
  for role in ("sweep", "distortions"):
    if sources.get(role):
      out[role] = str(sources[role])
  return out


def _img(name: str, alt: str) -> str:
  return f"![{alt}]({name})"


def build_report(sources: dict, out_dir: str, mnist_dir: Optional[str] = None) -> str:
  """Writes out_dir/report.md and its PNG figures (each atomically); returns report.md's path.

  sources: {"c3_partial": run dir or list of run dirs, "sweep": sweep dir, "distortions": run
  dir}, each optional. A source that cannot be read, and every figure without its input, is
  skipped with a line in the report.
  """
  sources = _normalize(sources)
  os.makedirs(out_dir, exist_ok=True)
  notes: list[str] = []
  c3_runs: list[Run] = []
  for path in sources.get("c3_partial", []):
    try:
      c3_runs.append(read_run(str(path)))
    except SourceError as e:
      notes.append(f"c3_partial source skipped: {e}")
  sweep, sweep_dir = None, sources.get("sweep")
  if sweep_dir:
    try:
      sweep = read_sweep(sweep_dir)
    except SourceError as e:
      notes.append(f"sweep source skipped: {e}")
  distortions = None
  if sources.get("distortions"):
    try:
      distortions = read_run(sources["distortions"])
    except SourceError as e:
      notes.append(f"distortions source skipped: {e}")

  def out(name):
    return os.path.join(out_dir, name)

  figures: dict[str, str] = {}   # key -> markdown section body

  def attempt(key, title, fn, missing):
    """Runs fn() -> caption; on a missing input writes the skip line instead."""
    name = FIGURES[key]
    if missing:
      figures[key] = f"*{name}: skipped ({missing}).*"
      return
    try:
      caption = fn()
    except SourceError as e:
      figures[key] = f"*{name}: skipped ({e}).*"
      return
    figures[key] = _img(name, title) + ("\n\n" + caption if caption else "")

  attempt("fig5", "Figure 5", lambda: plot_error_per_pass(c3_runs, out(FIGURES["fig5"])),
          None if c3_runs else "no c3_partial run")
  attempt("fig6", "Figure 6",
          lambda: plot_training_set_size(sweep_dir, sweep, c3_runs, out(FIGURES["fig6"])),
          None if sweep is not None else "no sweep summary")

  # The figures of the trained model: the first c3_partial run's latest checkpoint.
  view, view_problem, misclassified, checkpoint_note = None, None, None, ""
  if not c3_runs:
    view_problem = "no c3_partial run"
  else:
    try:
      view = model_view(c3_runs[0], mnist_dir)
    except SourceError as e:
      view_problem = str(e)
  if view is not None:
    position, recorded = _checkpoint_position(view)
    seed = lanes(view.run.results)[view.lane].get("seed")
    checkpoint_note = (f"{view.run.path}, lane {view.lane} (seed {seed}), checkpoint at "
                       f"{position}")

    def fig8():
      nonlocal misclassified
      misclassified = plot_misclassified(view.test_x, view.test_y, view.preds,
                                         out(FIGURES["fig8"]))
      text = (f"Misclassified test digits: **{misclassified}** of {len(view.test_y):,} "
              f"(paper: {PAPER_MISCLASSIFIED}), from {checkpoint_note}. Titles are "
              "true->predicted.")
      if recorded is not None:
        text += (" results.json records " + f"{recorded} test errors at that pass"
                 + (" (the same)." if recorded == misclassified else
                    ": the numbers differ (floating-point ties?)."))
      if misclassified > MAX_MISCLASSIFIED_SHOWN:
        text += f" The figure shows the first {MAX_MISCLASSIFIED_SHOWN}."
      return text
    attempt("fig8", "Figure 8", fig8, None)

    protos = view.model.prototypes()
    attempt("prototypes", "RBF prototypes",
            lambda: plot_prototypes(protos, out(FIGURES["prototypes"]),
                                    view.run.results["config"].get("output", "")),
            None if protos is not None else "the run's output is linear: no RBF prototypes")

    idx = np.arange(min(FEATURE_DIGITS, len(view.test_y)))
    maps = stage_outputs(view.model, view.params, view.test_x[idx])
    attempt("feature_maps", "Feature maps",
            lambda: plot_feature_maps(view.test_x[idx], view.test_y[idx], maps,
                                      out(FIGURES["feature_maps"])),
            None if {"C1", "C3"} <= set(maps) else "the model has no C1/C3 stage")
    attempt("c1_kernels", "C1 kernels",
            lambda: plot_c1_kernels(view.params["C1"]["w"], view.params["C1"]["b"],
                                    out(FIGURES["c1_kernels"])),
            None if "C1" in view.params else "the model has no C1 parameters")
    attempt("confusion", "Confusion matrix",
            lambda: plot_confusion(confusion_matrix(view.test_y, view.preds),
                                   out(FIGURES["confusion"])), None)
  else:
    for key in ("fig8", "prototypes", "feature_maps", "c1_kernels", "confusion"):
      attempt(key, key, None, view_problem)

  text = _markdown(sources, c3_runs, sweep_dir, sweep, distortions, figures, notes,
                   misclassified, checkpoint_note)
  path = out("report.md")
  _write_text(path, text)
  return path


def _markdown(sources, c3_runs, sweep_dir, sweep, distortions, figures, notes, misclassified,
              checkpoint_note) -> str:
  L = ["# LeNet-5 reproduction report", "",
       f"Generated {datetime.datetime.now().isoformat(timespec='seconds')} from:", ""]
  for r in c3_runs:
    ls = lanes(r.results)
    L.append(f"- c3_partial: `{r.path}` ({len(ls)} model(s), seeds "
             f"{', '.join(str(l.get('seed')) for l in ls)}; status {r.results.get('status')}, "
             f"{max((len(l.get('passes', [])) for l in ls), default=0)} of "
             f"{r.results['config'].get('epochs')} passes)")
  if sweep is not None:
    L.append(f"- sweep: `{sweep_dir}` ({len(sweep['experiments'])} rows in summary.json)")
  if distortions is not None:
    L.append(f"- distortions: `{distortions.path}` (status {distortions.results.get('status')})")
  for role in ROLES:
    if role not in sources:
      L.append(f"- {role}: none given")
  for n in notes:
    L.append(f"- {n}")

  # Our numbers.
  c3_row = None
  if sweep is not None:
    c3_row = next((r for r in sweep["experiments"]
                   if r["experiment"] == "c3_partial" and not r.get("overrides")), None)
  ref = c3_runs[0].results if c3_runs else None
  params = ref.get("parameters") if ref else (c3_row or {}).get("parameters")
  conns = _total(ref, "connections") if ref else None
  test = fmt_stat(final_stat(c3_runs, "test_error")) if c3_runs else (
      _fmt_row_stat(c3_row) + " (sweep)" if c3_row else "-")
  train = fmt_stat(final_stat(c3_runs, "train_error")) if c3_runs else "-"
  dist = fmt_stat(final_stat([distortions], "test_error")) if distortions else "-"
  src_c3 = ", ".join(f"`{r.path}`" for r in c3_runs) or ("sweep c3_partial" if c3_row else "-")
  L += ["", "## The paper's numbers beside ours", "",
        "Errors are in percent after the last pass: mean ± sample std (ddof 1) over the seeds "
        "that finished, with the seed count and the range. '-': no run of ours.", "",
        "| quantity | paper | ours | our source |", "|---|---:|---|---|",
        f"| parameters | {PAPER_PARAMETERS:,} | {f'{params:,}' if params else '-'} | {src_c3} |",
        f"| connections | {PAPER_CONNECTIONS:,} | {f'{conns:,}' if conns else '-'} | {src_c3} |",
        f"| test error (%) | {PAPER_TEST_ERROR} | {test} | {src_c3} |",
        f"| training error (%) | {PAPER_TRAIN_ERROR} | {train} | {src_c3} |",
        f"| test error with distortions (%) | {PAPER_DISTORTIONS} | {dist} | "
        f"{f'`{distortions.path}`' if distortions else '-'} |",
        f"| misclassified test digits (Figure 8) | {PAPER_MISCLASSIFIED} | "
        f"{misclassified if misclassified is not None else '-'} | "
        f"{checkpoint_note or '-'} |",
        "", "### Figure 9 (test error %, MNIST)", "",
        "| classifier | paper | ours |", "|---|---:|---|"]
  for name, paper, role in FIGURE9:
    ours = test if role == "c3_partial" else dist if role == "distortions" else "-"
    L.append(f"| {name} | {paper} | {ours} |")

  if ref and ref.get("layers"):
    ours = {row["layer"]: row for row in ref["layers"]}
    L += ["", "### Parameters and connections per layer", "",
          "| layer | paper params | our params | paper connections | our connections |",
          "|---|---:|---:|---:|---:|"]
    for layer, p, c in PAPER_LAYERS:
      o = ours.get(layer, {})
      fmt = lambda v: f"{v:,}" if isinstance(v, int) else "-"
      L.append(f"| {layer} | {p:,} | {fmt(o.get('params'))} | {c:,} | "
               f"{fmt(o.get('connections'))} |")

  sections = [
      ("fig5", "Figure 5: error per pass"),
      ("fig6", "Figure 6: error against training-set size"),
      ("fig8", "Figure 8: misclassified test digits"),
      ("prototypes", "RBF output prototypes"),
      ("feature_maps", "Feature maps"),
      ("c1_kernels", "C1 kernels"),
      ("confusion", "Confusion matrix"),
  ]
  L += ["", "## Figures"]
  for key, title in sections:
    L += ["", f"### {title}", "", figures[key]]
  return "\n".join(L) + "\n"
