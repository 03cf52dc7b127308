"""A report of finished training runs: report.md beside PNG figures, our numbers beside the paper's.

`build_report(sources, out_dir, mnist_dir)` reads the runs named in `sources` (each optional):

  c3_partial   a run directory (results.json, checkpoints/) or a list of them, one per seed: the
               paper's recipe. Figure 5's curves, the misclassified digits (Figure 8), the
               prototypes, feature maps, C1 kernels and the confusion matrix come from these.
  sweep        a sweep directory (summary.json, as lenet_jax.summary.write_summary writes it): its
               train_15k, train_30k and c3_partial rows give Figure 6.
  distortions  a run directory of the distorted-training run (the paper's 0.8%).
  figure9      a figure9 sweep's directory (`--sweep=figure9`, or the repository's results/figure9):
               Figure 9's chart, ours beside the paper's, and Figure 10's rejection measure.

Every figure whose input is missing is skipped with a line in the report saying why. The figures
that need the trained model load the first c3_partial run's latest checkpoint whose checksum
holds (lenet_jax.trained.load: a damaged one is passed over with a warning) and the MNIST test
set (`mnist_dir`, else the run's own config's mnist_dir, else $LENET_MNIST_DIR / tfds).
"""
from __future__ import annotations

import datetime
import os
import tempfile
from typing import Optional

import numpy as np

from lenet_jax import files, paper, sweep as sweep_lib
from lenet_jax.report import figure9 as figure9_lib
from lenet_jax.report.tables import declared
from lenet_jax.report.figures import (FEATURE_DIGITS, FIGURES, MAX_MISCLASSIFIED_SHOWN, confusion_matrix,
                               plot_c1_kernels, plot_confusion, plot_error_per_pass,
                               plot_feature_maps, plot_misclassified, plot_prototypes,
                               plot_training_set_size)
from lenet_jax.report.sources import (Run, SourceError, checkpoint_position, final_stat,
                               first_pass_rates, fmt_row_stat, fmt_stat,
                               lanes, model_view, read_run, read_sweep, stage_outputs, total)

ROLES = ("c3_partial", "sweep", "distortions", "figure9")

# -------------------------------------------------------------------------------------- report

def _normalize(sources: dict) -> dict:
  unknown = set(sources) - set(ROLES)
  if unknown:
    raise ValueError(f"unknown report source role(s) {sorted(unknown)}; use {', '.join(ROLES)}")
  out = {}
  c3 = sources.get("c3_partial")
  if c3:
    out["c3_partial"] = [c3] if isinstance(c3, (str, os.PathLike)) else list(c3)
  for role in ("sweep", "distortions", "figure9"):
    if sources.get(role):
      out[role] = str(sources[role])
  return out


def _img(name: str, alt: str) -> str:
  return f"![{alt}]({name})"


def _prepare(out_dir: str) -> None:
  """Makes out_dir and proves it writable before any run is read or figure drawn: one
  files.WriteError naming it and the fix otherwise (a file in its place, read-only, full)."""
  with files.writing(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=out_dir, prefix=files.TMP_PREFIX + "probe")
    os.close(fd)
    os.unlink(probe)


def build_report(sources: dict, out_dir: str, mnist_dir: Optional[str] = None) -> str:
  """Writes out_dir/report.md and its PNG figures (each atomically); returns report.md's path.

  sources: {"c3_partial": run dir or list of run dirs, "sweep": sweep dir, "distortions": run
  dir}, each optional. A source that cannot be read, and every figure without its input, is
  skipped with a line in the report. A file that cannot be written is one files.WriteError
  naming it and the fix; the files already there stay whole.
  """
  sources = _normalize(sources)
  _prepare(out_dir)
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
    position, recorded = checkpoint_position(view)
    seed = lanes(view.run.results)[view.lane].get("seed")
    checkpoint_note = (f"{view.run.path}, lane {view.lane} (seed {seed}), checkpoint at "
                       f"{position}")

    def fig8():
      nonlocal misclassified
      misclassified = plot_misclassified(view.test_x, view.test_y, view.preds,
                                         out(FIGURES["fig8"]))
      text = (f"Misclassified test digits: **{misclassified}** of {len(view.test_y):,} "
              f"(paper: {paper.MISCLASSIFIED}), from {checkpoint_note}. Titles are "
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

  figures["figure9"] = _figure9(sources.get("figure9"), out_dir)
  text = _markdown(sources, c3_runs, sweep_dir, sweep, distortions, figures, notes,
                   misclassified, checkpoint_note)
  path = out("report.md")
  files.write_text(path, text)
  return path


def _figure9(sweep_dir: Optional[str], out_dir: str) -> str:
  """The Figure 9 and 10 section from a figure9 sweep's folder, or the line saying why not."""
  if not sweep_dir:
    return "*Figure 9: skipped (no figure9 sweep given).*"
  names = sweep_lib.get("figure9")
  try:
    return figure9_lib.section(sweep_dir, names, {n: declared(n) for n in names}, out_dir)
  except SourceError as e:
    return f"*Figure 9: skipped ({e}).*"


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
  conns = total(ref, "connections") if ref else None
  test = fmt_stat(final_stat(c3_runs, "test_error")) if c3_runs else (
      fmt_row_stat(c3_row) + " (sweep)" if c3_row else "-")
  train = fmt_stat(final_stat(c3_runs, "train_error")) if c3_runs else "-"
  dist = fmt_stat(final_stat([distortions], "test_error")) if distortions else "-"
  low, high = paper.FIRST_PASS_RATES
  rates, share = first_pass_rates(c3_runs)
  src_c3 = ", ".join(f"`{r.path}`" for r in c3_runs) or ("sweep c3_partial" if c3_row else "-")
  L += ["", "## The paper's numbers beside ours", "",
        "Errors are in percent after the last pass: mean ± sample std (ddof 1) over the seeds "
        "that finished, with the seed count and the range. '-': no run of ours.", "",
        "| quantity | paper | ours | our source |", "|---|---:|---|---|",
        f"| parameters | {paper.PARAMETERS:,} | {f'{params:,}' if params else '-'} | {src_c3} |",
        f"| connections | {paper.CONNECTIONS:,} | {f'{conns:,}' if conns else '-'} | {src_c3} |",
        f"| test error (%) | {paper.TEST_ERROR} | {test} | {src_c3} |",
        f"| training error (%) | {paper.TRAIN_ERROR} | {train} | {src_c3} |",
        f"| SDLM's first-pass rates eta/(mu + h) | {low:g} to {high:g} | {rates} | {src_c3} |",
        f"| parameters with a first-pass rate in that range | all | {share} | {src_c3} |",
        f"| test error with distortions (%) | {paper.DISTORTIONS_TEST_ERROR} | {dist} | "
        f"{f'`{distortions.path}`' if distortions else '-'} |",
        f"| misclassified test digits (Figure 8) | {paper.MISCLASSIFIED} | "
        f"{misclassified if misclassified is not None else '-'} | "
        f"{checkpoint_note or '-'} |",
        "", "### Figure 9 (test error %, MNIST)", "",
        "| classifier | paper | ours |", "|---|---:|---|"]
  for name, reported, _, _ in paper.FIGURE9:
    ours = {"LeNet-5": test, "[dist] LeNet-5": dist}.get(name, "-")
    L.append(f"| {name} | {reported} | {ours} |")

  if ref and ref.get("layers"):
    ours = {row["layer"]: row for row in ref["layers"]}
    L += ["", "### Parameters and connections per layer", "",
          "| layer | paper params | our params | paper connections | our connections |",
          "|---|---:|---:|---:|---:|"]
    for layer, p, c in paper.LAYERS:
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
      ("figure9", "Figures 9 and 10: the comparison of classifiers, and rejection"),
  ]
  L += ["", "## Figures"]
  for key, title in sections:
    L += ["", f"### {title}", "", figures[key]]
  return "\n".join(L) + "\n"
