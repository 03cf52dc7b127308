"""The report's figures: the paper's Figures 5, 6 and 8, the RBF prototypes, feature maps, C1
kernels and the confusion matrix, each written as a PNG."""
from __future__ import annotations

import json
import math
import os

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.gridspec import GridSpec

from lenet_jax import paper, tables
from lenet_jax.report import plots
from lenet_jax.report.sources import Run, SourceError, final_stat, kept_lanes

TRAIN_SIZES = {"train_15k": 15_000, "train_30k": 30_000, "c3_partial": paper.TRAIN_IMAGES}

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

# ------------------------------------------------------------------------------------- figures

def plot_error_per_pass(runs: list[Run], path: str) -> str:
  """Figure 5: on-the-fly training error, training error after each pass and test error per pass,
  mean over the lanes with a min-max band. Returns a caption."""
  kept = kept_lanes(runs)
  n_passes = max((len(l.get("passes", [])) for l in kept), default=0)
  if not n_passes:
    raise SourceError("no c3_partial lane has finished a pass")
  fig = plots.figure(figsize=(8.5, 5.5))
  ax = fig.add_subplot()
  curves = [("train_error_online", "training error on the fly (during the pass)", "C0", "o"),
            ("train_error", "training error after the pass", "C1", "s"),
            ("test_error", "test error after the pass", "C2", "D")]
  counts = set()
  low, high = paper.TRAIN_ERROR, paper.TEST_ERROR
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
  ax.axhline(paper.TEST_ERROR, color="C2", linestyle="--", linewidth=1,
             label=f"paper: test error {paper.TEST_ERROR}%")
  ax.axhline(paper.TRAIN_ERROR, color="C1", linestyle="--", linewidth=1,
             label=f"paper: training error {paper.TRAIN_ERROR}% (after 19 passes)")
  plots.log_axis(ax, low / 1.5, high * 1.5)
  ax.set_xticks(range(1, n_passes + 1, max(1, n_passes // 20)))
  ax.set_xlabel("pass over the training set")
  ax.set_ylabel("error (%), log scale")
  n = max(counts)
  ax.set_title("Figure 5: LeNet-5 error per pass"
               + (f" (mean of {n} models, band = min to max)" if n > 1 else " (one model)"))
  ax.grid(True, which="both", alpha=0.3)
  ax.legend(fontsize=8, loc="best")
  plots.save_png(fig, path)
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
  fig = plots.figure(figsize=(7.5, 5))
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
  ax.plot([paper.TRAIN_IMAGES], [paper.TEST_ERROR], "k*", markersize=12,
          label=f"paper: LeNet-5 at 60,000 ({paper.TEST_ERROR}%)")
  ax.set_xlabel("training-set size (images)")
  ax.set_ylabel("error after the last pass (%)")
  ax.set_xticks(sorted(set(x) | {paper.TRAIN_IMAGES}))
  ax.set_xticklabels([f"{v:,}" for v in sorted(set(x) | {paper.TRAIN_IMAGES})])
  ax.set_ylim(bottom=0)
  ax.set_title("Figure 6: error against training-set size")
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=8)
  plots.save_png(fig, path)
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
  fig = plots.figure(figsize=(cols * 0.8, height))
  title = (f"Figure 8: the {len(wrong)} misclassified test digits (paper: {paper.MISCLASSIFIED})"
           if len(shown) == len(wrong) else
           f"Figure 8: the first {len(shown)} of {len(wrong)} misclassified test digits "
           f"(paper: {paper.MISCLASSIFIED})")
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
  plots.save_png(fig, path)
  return int(len(wrong))


def plot_prototypes(protos, path: str, kind: str) -> None:
  """The ten RBF codes as 7x12 images (12 rows of 7, as tables.bitmap_prototypes lays them)."""
  fig = plots.figure(figsize=(9, 2.6))
  fig.suptitle(f"RBF output prototypes ({kind}): 84 = 12 rows x 7 columns, black = +1", fontsize=10)
  for d in range(len(protos)):
    ax = fig.add_subplot(1, len(protos), d + 1)
    ax.imshow(np.asarray(protos[d]).reshape(tables.BITMAP_HEIGHT, tables.BITMAP_WIDTH),
              cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_title(f"class {d}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
  plots.save_png(fig, path)


def plot_feature_maps(images, labels, maps: dict, path: str) -> None:
  """The input, C1's 6 and C3's 16 maps (after the activation) of a few test digits."""
  c1, c3 = np.asarray(maps["C1"]), np.asarray(maps["C3"])
  n = images.shape[0]
  cols = 1 + max(c1.shape[-1], c3.shape[-1])
  fig = plots.figure(figsize=(cols * 0.75, n * 1.75 + 0.6))
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
  plots.save_png(fig, path)


def plot_c1_kernels(w, b, path: str) -> None:
  """The six 5x5 C1 kernels on one symmetric colour scale."""
  w = np.asarray(w)
  lim = float(np.abs(w).max()) or 1.0
  fig = plots.figure(figsize=(9, 2.3))
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
  plots.save_png(fig, path)


def confusion_matrix(labels, preds, classes: int = 10) -> np.ndarray:
  m = np.zeros((classes, classes), np.int64)
  np.add.at(m, (np.asarray(labels), np.asarray(preds)), 1)
  return m


def plot_confusion(m: np.ndarray, path: str) -> None:
  """Counts annotated; the colour is the row fraction on a log scale so errors show."""
  frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
  fig = plots.figure(figsize=(7, 6))
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
  plots.save_png(fig, path)
