"""The results tables of README.md and RESULTS.md, built from the committed results files.

A table sits between `<!-- table:NAME -->` and `<!-- /table:NAME -->`; BUILDERS[NAME](root)
writes it from root/results/ and `write` rewrites the blocks in place (`launch.py
--experiment=tables`). Text no results file holds is data here. No JAX: it reads JSON.
"""
from __future__ import annotations

import ast
import math
import os
import re
from typing import Callable

from lenet_jax import files, paper, sweep
from lenet_jax.results import lanes as lanes_of
from lenet_jax.sweep.summary import summarize

DOCUMENTS = ("README.md", "RESULTS.md")
MARKER = re.compile(r"<!-- (/?)table:(\S*?) -->")
REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TableError(ValueError):
  """A document's table blocks are malformed, or a row names no experiment."""


def declared(name: str) -> dict:
  """experiments/NAME.py's CHANGES and PAPER_ROW from its source (importing some loads JAX)."""
  path = os.path.join(REPOSITORY, "experiments", f"{name}.py")
  if not os.path.exists(path):
    raise TableError(f"no experiment module {path} for a table row named {name!r}")
  found, keys = {"change": "", "paper_row": None}, {"CHANGES": "change", "PAPER_ROW": "paper_row"}
  with open(path) as f:
    for node in ast.parse(f.read()).body:
      if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in keys:
        found[keys[node.targets[0].id]] = ast.literal_eval(node.value)
  return found


# What a table's footer says the results files record: commit, JAX version, machine.
FOOTER_KEYS = (
    lambda r: "commit " + r["commit"] if r.get("commit") else "no commit",
    lambda r: "JAX " + str((r.get("versions") or {}).get("jax")),
    lambda r: (lambda d: f"{d.get('cpu_count')}-core {d.get('cpu')} CPU" if d.get("platform")
               == "cpu" else f"{d.get('count')} x {d.get('kind')}")(r.get("device") or {}))


class Sources:
  """The results files a table reads, kept for its footer: what they record, what is missing
  (with `finished`, a run still training counts as missing: it has no results yet)."""

  def __init__(self, root: str, files_text: str, finished: bool = False):
    self.root, self.files_text, self.finished, self.found, self.missing = (
        root, files_text, finished, [], [])

  def read(self, relpath: str, name: str | None = None) -> dict | None:
    path = os.path.join(self.root, "results", relpath)
    results = os.path.exists(path) and files.read_json(path, "restore it with git, or rerun "
                                                             "the run that wrote it")
    if not results or self.finished and results.get("status") == "running":
      self.missing.append(f"results/{relpath}")
      return None
    self.found += [(name, results)] if name else []
    return results

  def row(self, relpath: str, name: str) -> dict | None:
    """summary.summarize's row for one results file, plus the file as "results"; or None."""
    results = self.read(relpath, name)
    rows = summarize([(name, results)], {name: {"change": ""}}) if results else []
    return dict(rows[0], results=results) if rows else None

  def rows(self, where: str, names, form: str = "{}/results.json") -> dict:
    self.files_text = f"`results/{where}/{form.format('NAME')}`"
    return {n: self.row(f"{where}/{form.format(n)}", n) for n in names}

  def footer(self, *more: str) -> str:
    parts, recorded = [f"Files: {self.files_text}."] + [m for m in more if m], []
    for key in FOOTER_KEYS if self.found else ():
      groups: dict[str, list[str]] = {}
      for name, results in self.found:
        groups.setdefault(key(results), []).append(name)
      recorded.append(next(iter(groups)) if len(groups) == 1 else ", ".join(
          f"{k} ({', '.join(v)})" for k, v in groups.items()))
    parts += [f"Recorded in them: {'; '.join(recorded)}."] if recorded else []
    if self.missing:
      parts.append(f"{len(self.missing)} files not there yet: their rows print '-'."
                   if len(self.missing) > 3 else f"Not found: {', '.join(self.missing)}.")
    return " ".join(parts)


def _f(x, digits: int = 2, sign: str = "", none: str = "-") -> str:
  return none if x is None else f"{x:{sign}.{digits}f}"


def _status(r: dict | None) -> str:
  parts = [f"{r[k]} {k}" for k in ("stalled", "diverged") if r and r.get(k)]
  return f" ({', '.join(parts)})" if parts else ""


def _error(r: dict | None, bold: bool = False, spread: bool = False) -> str:
  """Mean ± sample std over the finished seeds (one: the mean), stalled/diverged, (min, max)."""
  if r is None or r["test_error_mean"] is None:
    return "-"
  text = _f(r["test_error_mean"])
  if r["test_error_std"] is not None:
    text += f" ± {r['test_error_std']:.2f}"
    text += f" ({r['test_error_min']:.2f}, {r['test_error_max']:.2f})" if spread else ""
  return (f"**{text}**" if bold else text) + _status(r)


def z_score(a: dict | None, b: dict | None, floor: float = 0.0) -> float | None:
  """(b - a) / sqrt(std_a^2/n_a + std_b^2/n_b + floor^2), one run's std 0; None if undefined."""
  if not a or not b or a["test_error_mean"] is None or b["test_error_mean"] is None:
    return None
  var = floor ** 2 + sum((r["test_error_std"] or 0.0) ** 2 / max(r["seeds_finished"], 1)
                         for r in (a, b))
  return (b["test_error_mean"] - a["test_error_mean"]) / math.sqrt(var) if var > 0 else None


def _rate(x: float) -> str:
  """Two significant digits: 1.2e-4 below 0.001, else 0.0019 (a trailing zero kept)."""
  if x < 1e-3:
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"
  return f"{x:.{max(0, 1 - math.floor(math.log10(float(f'{x:.1e}'))))}f}"


def _cols(r: dict | None, *keys: str) -> list[str]:
  return [_f(r and r[k]) for k in keys]


def _minutes(r: dict | None, digits: int = 0) -> str:
  return _f(r and r["total_seconds"] and r["total_seconds"] / 60, digits)


def _table(header: list[str], rows: list[list[str]], *notes: str, left=1) -> str:
  """Markdown; `left` columns (the first n, or those indexes) aligned left; notes after it."""
  lines = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if (i < left if isinstance(left, int) else i in left) else "---:"
                          for i in range(len(header))) + "|"]
  lines += ["| " + " | ".join(row) + " |" for row in rows]
  return "\n".join(lines) + "\n\n" + "\n\n".join(n for n in notes if n)


# The SDLM verdict: (experiment, label, what it departs from in the paper's text); the first
# is the headline, the last only in RESULTS.md (README's table keeps to the six readings).
VERDICT = (
    ("sdlm_paper_mu025", "`c3_partial` (= `sdlm_paper_mu025`)",
     "init (the authors' code's), mu 0.25"),
    ("sdlm_refresh", "`sdlm_refresh` (the earlier recipe)", "mu 0.25, h refreshed in pass 1"),
    ("sdlm_lush_demo", "`sdlm_lush_demo`",
     "init, h once on 100 patterns, eta 1e-4 (all the authors' demo's)"),
    ("sdlm_paper_once", "`sdlm_paper_once`", "init, h estimated once (both the authors' demo's)"),
    ("sdlm_paper_authors", "`sdlm_paper_authors`", "init, the authors' two curvature choices"),
    ("sdlm_paper", "`sdlm_paper`", "init (the authors' code's)"),
    ("init_paper_text", "`init_paper_text` (full row: the ablation sweep)", "none"),
)


def _verdict_cells(r: dict | None, bold: bool) -> list[str]:
  """Test error (lanes stopped while running: their range), SDLM's pass-1 rates and share."""
  error = _error(r, bold)
  if r and r["running"] and not r["seeds_finished"]:
    error = (f"stopped after pass {r['passes']}: {min(r['per_pass']['min']):.2f}-"
             f"{max(r['per_pass']['max']):.2f}% over passes 1-{r['passes']}")
  p = r and r.get("sdlm_pass1")
  share = p and f"{100 * p['share_in_paper_range']:.1f}".removesuffix(".0") + "%"
  rates = p and f"{_rate(p['rate_min'])}..{_rate(p['rate_max'])}"
  return [error, *_cols(r, "test_error_min", "test_error_max", "train_error_mean"),
          rates or "-", share or "-"]


def verdict(root: str, full: bool = False) -> str:
  src = Sources(root, "`results/sdlm_verdict/NAME/results.json`")
  rates = "..".join(re.sub(r"e-0*(\d)", r"e-\1", f"{x:g}") for x in paper.FIRST_PASS_RATES)
  rows = [["the paper (one run)", "", _f(paper.TEST_ERROR), "", "", _f(paper.TRAIN_ERROR), rates,
           "all"]]
  for name, label, departs in VERDICT[:None if full else -1]:
    bold = name == VERDICT[0][0]
    rows.append([f"**{label}**" if bold else label, departs,
                 *_verdict_cells(src.row(f"sdlm_verdict/{name}/results.json", name), bold)])
  return _table(["recipe", "departs from the paper's text in", "test error %", "min", "max",
                 "training error %", "pass-1 rates eta/(mu+h)", f"share in {rates}"], rows,
                src.footer(), left=2)


# The ablation sweep in the README: two cells a line, each naming its experiments.
COMPACT = ((("c3_partial",), ("loss_mle",)), (("c3_full",), ("opt_sgd",)),
           (("pool_avg", "pool_max"), ("opt_adam",)), (("act_logistic",), ("init_default",)),
           (("act_relu",), ("init_paper_text",)),
           (("out_rbf_random", "out_linear"), ("train_15k", "train_30k")), (("modern",), ()))
# The earlier recipe's sweep: its rows' changes where they differ from today's CHANGES; its
# modern row's minutes carry RESULTS.md's footnote mark.
EARLIER_CHANGES = {"c3_partial": "the earlier recipe",
                   "init_default": "Flax default init (not +-2.4/fan-in)"}


def _z_against(base: dict | None, r: dict | None, sign: str = "+") -> str:
  """z against the recipe; blank for it and for stalled or diverged lanes (no spread to use)."""
  return "" if r is None or _status(r) or r is base else _f(z_score(base, r), 1, sign, "")


def ablations(root: str) -> str:
  src = Sources(root, "")
  rows = src.rows("sweep_ablations_v3", [n for line in COMPACT for cell in line for n in cell])
  lines = []
  for line in COMPACT:
    lines.append([])
    for cell in line:
      got = [rows[n] for n in cell]
      errors = [_error(r) if len(cell) == 1 else _f(r and r["test_error_mean"]) + _status(r)
                for r in got]
      zs = [_z_against(rows["c3_partial"], r, "") for r in got]
      lines[-1] += [", ".join(f"`{n}`" for n in cell), ", ".join(errors),
                    ", ".join(z for z in zs if z)]
  return _table(["experiment", "test error %", "z"] * 2, lines, src.footer(), left=(0, 3))


def ablations_full(root: str, earlier: bool = False) -> str:
  """RESULTS' ablation table; `earlier`: the same sweep from the earlier recipe."""
  names = [n for n in sweep.get("paper_ablations")   # init_paper_text joined it later
           if not earlier or n != "init_paper_text"]
  src = Sources(root, "")
  rows = (src.rows("sweep_paper_ablations", names, "{}.json") if earlier else
          src.rows("sweep_ablations_v3", names))
  old, lines = Sources(root, ""), []
  for n, r in rows.items():
    cells = [f"`{n}`" + (" (now `sdlm_refresh`)" if earlier and n == "c3_partial" else ""),
             earlier and EARLIER_CHANGES.get(n) or declared(n)["change"], _error(r),
             *_cols(r, "test_error_min", "test_error_max", "train_error_mean")]
    if not earlier:
      cells += [_z_against(rows["c3_partial"], r),
                _error(old.row(f"sweep_paper_ablations/{n}.json", n))]
    lines.append(cells + [_minutes(r) + ("\\*" if earlier and n == "modern" else "")])
  minutes = sum(r["total_seconds"] or 0 for r in rows.values() if r) / 60
  header = ["experiment", "changes", "test error % (mean ± std)", "min", "max",
            "training error %"] + ([] if earlier else ["z", "earlier recipe"]) + ["minutes"]
  return _table(header, lines, src.footer(f"The minutes sum to {minutes:.0f}.", "" if earlier
                                          else "Earlier recipe: `results/sweep_paper_ablations/"
                                          "NAME.json` (`-`: not in that sweep)."), left=2)


ALONE = tuple((n, f"{n}_seed{s}.json")
              for n, s in zip(["c3_partial"] * 3 + ["c3_full"], (0, 1, 2, 0)))


def recipe_alone(root: str) -> str:
  src = Sources(root, ", ".join(f"`results/{f}`" for _, f in ALONE))
  lines, recipe = [], []
  for i, (name, path) in enumerate(ALONE):
    r = src.row(path, name)
    last = r and lanes_of(r["results"])[0]["passes"][-1]
    recipe += [r["test_error_mean"]] if r and name == "c3_partial" else []
    lines.append([f"`{name}`", "-", "-", "-", "", "-"] if not r else [
        f"`{name}`", str(r["seeds"][0]), f"{last['test_error']:.2f}% ({last['test_errors']} "
        f"errors)", f"{last['train_error']:.2f}% / {last['train_error_online']:.2f}%",
        f"{paper.TEST_ERROR:.2f}% test, {paper.TRAIN_ERROR:.2f}% training" if i == 0 else "",
        _minutes(r, 1) + " min"])
  summary = recipe and "`c3_partial` over its {} seeds: mean {:.2f}%, range {:.2f}-{:.2f}%.".format(
      len(recipe), sum(recipe) / len(recipe), min(recipe), max(recipe))
  return _table(["experiment", "seed", "test error", "training error (after pass / on the fly)",
                 "paper", "wall time"], lines, summary or "", src.footer())


FIGURE6_IMAGES = {"train_15k": 15_000, "train_30k": 30_000, "c3_partial": 60_000}


def figure6(root: str) -> str:
  src = Sources(root, "`results/sweep_figure6/summary.json` (no commit or machine recorded)")
  got = {r["experiment"]: r for r in (src.read("sweep_figure6/summary.json") or {}).get(
      "experiments", [])}
  lines = [[f"{images:,d}", _error(got.get(n)),
            ", ".join(f"{e:.2f}" for e in got[n]["test_errors"]) if n in got else "-",
            *_cols(got.get(n), "train_error_mean")] for n, images in FIGURE6_IMAGES.items()]
  seeds = sorted({s for r in got.values() for s in r["seeds"]}) or ["?"]
  return _table(["training images", f"test error % (mean ± std, seeds {seeds[0]}-{seeds[-1]})",
                 "each seed", "training error %"], lines, src.footer())


MU_SCREENS = ("screen_mu_0.07-0.25_val10k_5passes.json", "screen_mu_0.25-2_val10k_10passes.json")


def mu_screen(root: str) -> str:
  """Mean validation error over the seeds of each mu after each screen's last pass."""
  src = Sources(root, " and ".join(f"`results/{f}`" for f in MU_SCREENS))
  screens = []
  for path in MU_SCREENS:
    results, by_mu = src.read(path, path), {}
    for lane in lanes_of(results) if results else []:
      mu = (lane.get("overrides") or {}).get("sdlm_mu", results["config"]["sdlm_mu"])
      by_mu.setdefault(float(mu), []).append(lane["passes"][-1]["val_error"])
    screens += [(min(len(lane["passes"]) for lane in lanes_of(results)),
                 {mu: sum(v) / len(v) for mu, v in by_mu.items()})] if results else []
  mus = sorted({mu for _, means in screens for mu in means})
  lines = [[f"after pass {n}"] + [f"{means[mu]:.2f}%" if mu in means else "" for mu in mus]
           for n, means in screens]
  return _table(["mu"] + [f"{mu:g}" for mu in mus], lines, src.footer())


def distortions(root: str) -> str:
  src = Sources(root, "`results/distortions_seeds0-1.json`")
  r = src.row("distortions_seeds0-1.json", "distortions")
  lines = [[str(lane["seed"]), f"{last['test_error']:.2f}% ({last['test_errors']} errors)",
            f"{last['train_error']:.2f}%"]
           for lane in (lanes_of(r["results"]) if r else []) for last in [lane["passes"][-1]]]
  return _table(["seed", "test error", "training error (undistorted images)"], lines,
                f"The paper's run: {paper.DISTORTIONS_TEST_ERROR:.2f}% test error.",
                src.footer(r and f"The run took {_minutes(r, 1)} minutes."))


# The study note's controls have no row in Figure 9: each follows the row it is compared with.
NEAR = {"mlp_300_permuted": "28x28-300-10", "lenet5_local": "LeNet-5", "lenet5_permuted": "LeNet-5"}


def _k(n) -> str:
  """A count in thousands, three significant digits (Figures 11 and 12 give thousands)."""
  return "-" if n is None else f"{n / 1000:,.0f}K" if n >= 100_000 else f"{n / 1000:.3g}K"


def figure9_rows(root: str, where: str = "figure9"):
  """Sources, and (experiment, declared, row or None) of the figure9 sweep in FIGURE9's order."""
  src = Sources(root, f"`results/{where}/NAME/results.json`", finished=True)
  order = {row[0]: i for i, row in enumerate(paper.FIGURE9)}
  swept = sweep.get("figure9")
  about = {n: declared(n) for n in swept}
  names = sorted(swept, key=lambda n: (order[about[n]["paper_row"] or NEAR[n]],
                                       about[n]["paper_row"] is None, swept.index(n)))
  return src, [(n, about[n], src.row(f"{where}/{n}/results.json", n)) for n in names]


def _figure9_cells(results: dict, p: dict, shares: list | None = None) -> list[str]:
  """Counted parameters and multiply-adds beside Figures 12 and 11's; Figure 10's rejection
  (recorded by the run, else `shares`: experiments/figure10.py's)."""
  total = [l for l in results.get("layers") or [] if l.get("layer") == "total"]
  macs = results.get("multiply_adds") or (total[0].get("connections") if total else None)
  cells = [_k(results.get("parameters")) + (f" / {p['memory_k']}K" if p.get("memory_k") else ""),
           _k(macs) + (f" / {p['multiply_adds_k']}K" if p.get("multiply_adds_k") else "")]
  ours = [l["rejection_for_0.5"] for l in lanes_of(results) if "rejection_for_0.5" in l] or \
      shares or [] if results else []
  rejection = (f"{sum(ours) / len(ours):.1f}%" if ours else "-") + (
      f" / {p['rejection']}%" if p.get("rejection") is not None else "")
  return cells + [rejection if rejection != "-" else ""]


def figure9(root: str, full: bool = False, where: str = "figure9") -> str:
  src, rows = figure9_rows(root, where)
  rejected = (src.read("figure10/figure10.json") or {}).get("rows", {})
  lines = []
  for name, about, r in rows:
    p = paper.figure9_row(about["paper_row"]) if about["paper_row"] else {}
    theirs = p and dict(test_error_mean=p["test_error"], test_error_std=None, seeds_finished=1)
    seeds = [f"{r['seeds_finished']}/{r['lanes']}" if r else "-"] if full else []
    shares = rejected.get(name, {}).get("shares")
    lines.append([about["paper_row"] or f"({about['change']})", f"`{name}`",
                  _f(p.get("test_error")), _error(r, spread=True), *seeds,
                  _f(z_score(theirs, r, paper.FIGURE9_UNCERTAINTY), 1, "+", ""),
                  *_figure9_cells(r["results"] if r else {}, p, shares)]
                 + ([_minutes(r)] if full else []))
  header = (["Figure 9 row", "experiment", "paper %", "ours % (mean ± std (min, max))"]
            + ["seeds"] * full + ["z", "parameters (ours / Fig. 12)", "multiply-adds (ours / "
                                  "Fig. 11)", "rejected for 0.5% error (ours / Fig. 10)"]
            + ["minutes"] * full)
  note = (f"z: (ours - paper) / sqrt(std^2/n + {paper.FIGURE9_UNCERTAINTY}^2), the paper's "
          "stated uncertainty; a single run's std counted as 0.")
  return _table(header, lines, note + " " + src.footer(), left=2)


# The study note's claims (sections 1.1 and 1.6): (question, A, B); B - A in standard errors.
STUDY = (
    ("pixel order, fully connected (expected: no change)", "mlp_300", "mlp_300_permuted"),
    ("pixel order, convolutional (expected: worse)", "c3_partial", "lenet5_permuted"),
    ("weight sharing removed (expected: no better)", "c3_partial", "lenet5_local"),
) + tuple(("local against full connection (expected: better)", mlp, "lenet5_local")
          for mlp in ("mlp_300", "mlp_500_150", "mlp_1000"))


def study_note(root: str, where: str = "figure9") -> str:
  src, rows = figure9_rows(root, where)
  got = {name: r for name, _, r in rows}
  lines = []
  for question, a, b in STUDY:
    z = z_score(got[a], got[b])
    diff = None if z is None else got[b]["test_error_mean"] - got[a]["test_error_mean"]
    lines.append([question] + [cell for n in (a, b) for cell in (
        f"`{n}`", _error(got[n]), _k(got[n] and got[n]["results"].get("parameters")))]
                 + [_f(diff, 2, "+", ""), _f(z, 1, "+", "")])
  return _table(["question", "A", "A: test error %", "A: parameters", "B", "B: test error %",
                 "B: parameters", "B - A", "z"], lines,
                "z: (B - A) / sqrt(std_A^2/n_A + std_B^2/n_B). " + src.footer(), left=(0, 1, 4))


BUILDERS: dict[str, Callable[[str], str]] = {
    "sdlm_verdict": verdict, "sdlm_verdict_full": lambda root: verdict(root, full=True),
    "ablations": ablations, "ablations_full": ablations_full,
    "ablations_earlier": lambda root: ablations_full(root, earlier=True),
    "recipe_alone": recipe_alone, "figure6": figure6, "mu_screen": mu_screen, "distortions":
    distortions, "figure9": figure9, "figure9_full": lambda root: figure9(root, full=True),
    "study_note": study_note}


def blocks(text: str, where: str = "text") -> list[tuple[str, int, int]]:
  """(name, start, end) of each block's inner text; TableError naming a malformed block."""
  spans, open_ = [], None
  for m in MARKER.finditer(text):
    closing, name = m.group(1) == "/", m.group(2)
    problem = (
        f"unknown table block {name!r}; known blocks: {', '.join(sorted(BUILDERS))}"
        if name not in BUILDERS else f"table block {open_[0]!r} is not closed before {name!r} "
        f"opens; add <!-- /table:{open_[0]} -->" if open_ and not closing else
        f"<!-- /table:{name} --> closes no open block {name!r}"
        if closing and (not open_ or open_[0] != name) else None)
    if problem:
      raise TableError(f"{where}: {problem}")
    spans += [(name, open_[1], m.start())] if closing else []
    open_ = None if closing else (name, m.end())
  if open_:
    raise TableError(f"{where}: table block {open_[0]!r} is never closed; add <!-- /table:NAME -->")
  return spans


def rewrite(text: str, root: str, where: str = "text") -> tuple[str, list[str]]:
  """text with each block rebuilt from root's results, outside them unchanged; changed names."""
  out, changed, last = [], [], 0
  for name, start, end in blocks(text, where):
    body = "\n" + BUILDERS[name](root).strip("\n") + "\n"
    changed += [name] if text[start:end] != body else []
    out += [text[last:start], body]
    last = end
  return "".join(out) + text[last:], changed


def write(docs_dir: str = REPOSITORY, documents=DOCUMENTS, results_root: str | None = None,
          apply: bool = True) -> list[str]:
  """'FILE:NAME' of each stale block (results from results_root, default docs_dir); with
  `apply`, once every block is built, each changed file rewritten atomically."""
  updates, blocks_changed = [], []
  for doc in documents:
    with open(os.path.join(docs_dir, doc)) as f:
      text = f.read()
    new, changed = rewrite(text, results_root or docs_dir, doc)
    updates += [(os.path.join(docs_dir, doc), new)] if new != text else []
    blocks_changed += [f"{doc}:{name}" for name in changed]
  for path, new in updates if apply else ():
    files.write_text(path, new)
  return blocks_changed


def stale(docs_dir: str = REPOSITORY, documents=DOCUMENTS, results_root=None) -> list[str]:
  return write(docs_dir, documents, results_root, apply=False)   # nothing is written
