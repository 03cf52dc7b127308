"""A report of finished runs: report.md and PNG figures (Figures 5, 6, 8, 9 and 10, the RBF
prototypes, feature maps, C1 kernels, a confusion matrix) beside a table of every number the
paper reports.

  python launch.py --experiment=report --workdir=runs/report
  python launch.py --experiment=report --workdir=runs/report \\
      --set=runs=c3_partial=runs/c3_partial_seed0;runs/c3_partial_seed1,sweep=runs/sweep_paper_ablations,distortions=runs/distortions,figure9=results/figure9

`runs` is comma-separated role=path pairs (roles: c3_partial, whose paths are separated by ';',
sweep, distortions, figure9); any role may be left out. Without `runs`, the report looks under
the current directory for runs/c3_partial_seed*, runs/c3_partial, runs/sweep_paper_ablations,
runs/distortions and runs/sweep_figure9 (else the repository's results/figure9) and uses those
that exist. A source named in `runs` that cannot be read is an error; one not found by that
search is skipped. See lenet_jax/report/build.py.
"""
from __future__ import annotations

import glob
import os

import ml_collections

from lenet_jax.report import build as report

DEFAULT_C3 = ("runs/c3_partial_seed*", "runs/c3_partial")
DEFAULT_SWEEP = "runs/sweep_paper_ablations"
DEFAULT_DISTORTIONS = "runs/distortions"
DEFAULT_FIGURE9 = ("runs/sweep_figure9", "results/figure9")


def get_config():
  return ml_collections.ConfigDict({"experiment": "report", "runs": "", "mnist_dir": ""})


def parse_runs(text: str) -> dict:
  """'c3_partial=a;b,sweep=c,distortions=d' -> {"c3_partial": [a, b], "sweep": c, ...}."""
  sources: dict = {}
  for item in filter(None, (part.strip() for part in text.split(","))):
    role, sep, value = item.partition("=")
    role, value = role.strip(), value.strip()
    if not sep or not value:
      raise ValueError(f"runs: {item!r} is not role=path; e.g. --set=runs=c3_partial=runs/"
                       "c3_partial_seed0;runs/c3_partial_seed1,sweep=runs/sweep_paper_ablations")
    if role not in report.ROLES:
      raise ValueError(f"runs: unknown role {role!r}; use one of {', '.join(report.ROLES)}")
    if role in sources:
      raise ValueError(f"runs: role {role!r} given twice; list several c3_partial runs with ';'")
    if role == "c3_partial":
      sources[role] = [p.strip() for p in value.split(";") if p.strip()]
    else:
      if ";" in value:
        raise ValueError(f"runs: {role} takes one directory, got {value!r}")
      sources[role] = value
  return sources


def check_sources(sources: dict) -> None:
  """Raises ValueError (path and fix) for an explicitly named source that cannot be read."""
  for path in sources.get("c3_partial", []):
    report.read_run(path)
  if "sweep" in sources:
    report.read_sweep(sources["sweep"])
  if "distortions" in sources:
    report.read_run(sources["distortions"])
  if "figure9" in sources:
    report.read_sweep(sources["figure9"])


def _readable(check, path) -> bool:
  try:
    check(path)
    return True
  except report.SourceError:
    return False


def discover(root: str = ".") -> dict:
  """The default runs under `root` that exist and can be read."""
  sources: dict = {}
  c3 = []
  for pattern in DEFAULT_C3:
    for path in map(os.path.normpath, sorted(glob.glob(os.path.join(root, pattern)))):
      if os.path.isdir(path) and path not in c3 and _readable(report.read_run, path):
        c3.append(path)
  if c3:
    sources["c3_partial"] = c3
  sweep = os.path.normpath(os.path.join(root, DEFAULT_SWEEP))
  if _readable(report.read_sweep, sweep):
    sources["sweep"] = sweep
  distortions = os.path.normpath(os.path.join(root, DEFAULT_DISTORTIONS))
  if _readable(report.read_run, distortions):
    sources["distortions"] = distortions
  figure9 = [p for p in (os.path.normpath(os.path.join(root, d)) for d in DEFAULT_FIGURE9)
             if _readable(report.read_sweep, p)]
  if figure9:
    sources["figure9"] = figure9[0]
  return sources


def run(config, workdir):
  if config.runs.strip():
    sources = parse_runs(config.runs)
    check_sources(sources)
  else:
    sources = discover(".")
    found = ", ".join(f"{k}={v if isinstance(v, str) else ';'.join(v)}"
                      for k, v in sources.items())
    looked = ", ".join(DEFAULT_C3 + (DEFAULT_SWEEP, DEFAULT_DISTORTIONS) + DEFAULT_FIGURE9)
    print(f"sources found: {found or f'none (looked for {looked})'}", flush=True)
  path = report.build_report(sources, workdir, config.mnist_dir or None)
  print(f"report: {path}")
  return path
