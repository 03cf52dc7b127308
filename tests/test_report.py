"""The report (lenet_jax/report/, experiments/report.py) from a tiny real run and a fabricated
sweep summary."""
import copy
import json
import os
import re
import statistics
import struct

import pytest

import experiments
from conftest import ROOT
from lenet_jax import train
from lenet_jax.report import build as report
from lenet_jax.sweep import summary

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
  """(width, height) of a PNG, after checking its signature and IHDR chunk."""
  with open(path, "rb") as f:
    head = f.read(24)
  assert head[:8] == PNG_SIGNATURE, path
  assert head[12:16] == b"IHDR", path
  return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def tiny_run(mnist_dir, tmp_path_factory):
  """300 real training images, 2 passes of the paper's recipe at a larger eta: with the paper's
  etas so short a run predicts one class for every digit (~90% error), which would make the
  misclassified-digit check below hold trivially; at eta 0.002 it reaches ~40%."""
  c = experiments.load("c3_partial").get_config()
  c.mnist_dir = mnist_dir
  c.train_size = 300
  c.epochs = 2
  c.sdlm_samples = 100
  c.sdlm_etas = (0.002,)
  c.sdlm_eta_passes = ()
  workdir = str(tmp_path_factory.mktemp("report") / "run")
  results = train.train_and_evaluate(c, workdir, progress=False)
  return workdir, results


def _shifted(results, experiment, train_images, shift):
  """A copy of `results` as another experiment's, its errors moved by `shift` points."""
  r = copy.deepcopy(results)
  r["experiment"], r["train_images"] = experiment, train_images
  for lane in r["lanes"]:
    for p in lane["passes"]:
      p["test_error"] += shift
      p["train_error"] += shift / 2
    lane["final_test_error"] = lane["passes"][-1]["test_error"]
  return r


@pytest.fixture(scope="module")
def sweep_dir(tiny_run, tmp_path_factory):
  _, results = tiny_run
  root = tmp_path_factory.mktemp("sweep")
  entries = [("train_15k", _shifted(results, "train_15k", 15000, 4.0)),
             ("train_30k", _shifted(results, "train_30k", 30000, 2.0)),
             ("c3_partial", results)]
  for name, r in entries:
    os.makedirs(root / name)
    (root / name / "results.json").write_text(json.dumps(r))
  summary.write_summary(entries, str(root))
  return str(root)


@pytest.fixture(scope="module")
def built(tiny_run, sweep_dir, mnist_dir, tmp_path_factory):
  run_dir, _ = tiny_run
  out = tmp_path_factory.mktemp("out")
  path = report.build_report({"c3_partial": [run_dir], "sweep": sweep_dir}, str(out), mnist_dir)
  return path, open(path).read()


@pytest.mark.slow
def test_report_and_figures(built):
  path, text = built
  assert os.path.isfile(path) and os.path.basename(path) == "report.md"
  out = os.path.dirname(path)
  for name in report.FIGURES.values():
    assert name in text, name
    file = os.path.join(out, name)
    assert os.path.isfile(file), name
    assert os.path.getsize(file) > 5_000, name
    width, height = png_size(file)
    assert 200 <= width <= 4000 and 150 <= height <= 4000, (name, width, height)
    assert f"]({name})" in text, name      # drawn, not skipped
  assert not [f for f in os.listdir(out) if f.startswith(".tmp")]
  # The distortions run was not given: its row says so.
  assert re.search(r"\| test error with distortions \(%\) \| 0\.8 \| - \|", text)


def test_paper_numbers_in_table(built):
  _, text = built
  assert re.search(r"\| parameters \| 60,000 \| 60,000 \|", text)
  assert re.search(r"\| connections \| 340,908 \| 340,908 \|", text)
  assert re.search(r"\| test error \(%\) \| 0\.95 \| \d+\.\d\d \(n=1 seed\) \|", text)
  assert re.search(r"\| training error \(%\) \| 0\.35 \| \d+\.\d\d", text)
  for row in ("| [16x16] LeNet-1 | 1.7 | - |", "| LeNet-4 | 1.1 | - |",
              "| [dist] LeNet-5 | 0.8 | - |", "| misclassified test digits "
              "(Figure 8) | 82 |"):
    assert row in text, row
  assert re.search(r"\| LeNet-5 \| 0\.95 \| \d+\.\d\d \(n=1 seed\) \|", text)


def test_misclassified_count_matches_results(built, tiny_run):
  _, text = built
  _, results = tiny_run
  recorded = results["passes"][-1]["test_errors"]
  assert recorded < 7000, "the tiny model should have learned something: " + str(recorded)
  count = int(re.search(r"Misclassified test digits: \*\*(\d+)\*\*", text).group(1))
  assert count == recorded
  assert "end of pass 2" in text
  assert re.search(rf"\| misclassified test digits \(Figure 8\) \| 82 \| {recorded} \|", text)


def test_test_error_matches_results(built, tiny_run):
  _, text = built
  _, results = tiny_run
  assert f"| test error (%) | 0.95 | {results['final_test_error']:.2f} (n=1 seed)" in text


def test_missing_inputs_are_skipped(tmp_path):
  path = report.build_report({}, str(tmp_path / "out"), None)
  text = open(path).read()
  for name in report.FIGURES.values():
    assert f"*{name}: skipped (" in text, name
    assert not os.path.exists(tmp_path / "out" / name)
  assert "| parameters | 60,000 | - |" in text


def test_unreadable_source_skipped_with_a_line(tmp_path):
  (tmp_path / "bad").mkdir()
  (tmp_path / "bad" / "results.json").write_text("{not json")
  path = report.build_report({"c3_partial": str(tmp_path / "bad")}, str(tmp_path / "out"), None)
  text = open(path).read()
  assert "c3_partial source skipped:" in text and "unreadable" in text


def test_experiment_parses_runs():
  from experiments import report as exp
  assert exp.parse_runs("c3_partial=a;b, sweep=s,distortions=d") == {
      "c3_partial": ["a", "b"], "sweep": "s", "distortions": "d"}
  assert exp.parse_runs("") == {}
  for bad in ("nonsense", "bogus=x", "sweep=a;b", "sweep=a,sweep=b", "c3_partial="):
    with pytest.raises(ValueError):
      exp.parse_runs(bad)


def test_experiment_named_missing_source_is_an_error(tmp_path):
  mod = experiments.load("report")
  c = mod.get_config()
  assert c.experiment == "report" and c.runs == "" and c.mnist_dir == ""
  c.runs = f"c3_partial={tmp_path / 'nowhere'}"
  with pytest.raises(ValueError, match="nowhere.*does not exist"):
    mod.run(c, str(tmp_path / "out"))
  c.runs = f"sweep={tmp_path}"
  with pytest.raises(ValueError, match="summary.json"):
    mod.run(c, str(tmp_path / "out"))
  assert not (tmp_path / "out").exists()


def test_experiment_discovers_runs(tmp_path, monkeypatch, tiny_run, sweep_dir):
  from experiments import report as exp
  monkeypatch.chdir(tmp_path)
  assert exp.discover(".") == {}
  (tmp_path / "runs" / "c3_partial_seed0").mkdir(parents=True)       # no results.json: skipped
  (tmp_path / "runs" / "c3_partial_seed1.log").write_text("")
  os.symlink(tiny_run[0], tmp_path / "runs" / "c3_partial_seed3")
  os.symlink(sweep_dir, tmp_path / "runs" / "sweep_paper_ablations")
  assert exp.discover(".") == {"c3_partial": ["runs/c3_partial_seed3"],
                               "sweep": "runs/sweep_paper_ablations"}


def test_experiment_without_runs_writes_a_report(tmp_path, monkeypatch, capsys):
  monkeypatch.chdir(tmp_path)
  mod = experiments.load("report")
  path = mod.run(mod.get_config(), str(tmp_path / "out"))
  assert os.path.isfile(path)
  assert "report:" in capsys.readouterr().out


@pytest.mark.slow
def test_report_shows_sdlm_first_pass_rates_beside_the_papers(built, tiny_run):
  _, text = built
  run_dir, _ = tiny_run
  first = json.load(open(os.path.join(run_dir, "results.json")))["lanes"][0]["passes"][0]
  ours = f"{first['effective_lr_min']:.2g} to {first['effective_lr_max']:.2g}"
  assert f"| SDLM's first-pass rates eta/(mu + h) | 7e-05 to 0.016 | {ours} |" in text
  share = 100 * first["sdlm"]["share_in_paper_range"]
  assert f"| parameters with a first-pass rate in that range | all | {share:.1f}-{share:.1f}%" in text


def test_figure9_section_puts_ours_beside_the_papers(tmp_path):
  # A figure9 sweep holding one finished row (the committed LeNet-4 run): the paper's 1.1%
  # beside the mean and sample std of its seeds' final test errors, and the chart.
  results = json.loads((ROOT / "results" / "figure9" / "lenet4" / "results.json").read_text())
  sweep = tmp_path / "figure9"
  (sweep / "lenet4").mkdir(parents=True)
  (sweep / "lenet4" / "results.json").write_text(json.dumps(results))
  summary.write_summary([("lenet4", results)], str(sweep))
  text = open(report.build_report({"figure9": str(sweep)}, str(tmp_path / "out"))).read()
  errors = [lane["passes"][-1]["test_error"] for lane in results["lanes"]]
  mean, std = sum(errors) / len(errors), statistics.stdev(errors)
  assert f"| LeNet-4 | 1.1 | {mean:.2f} ± {std:.2f} ({len(errors)}) |" in text
  assert os.path.getsize(tmp_path / "out" / "fig9_comparison.png") > 0
  assert "*Figure 9: skipped (no figure9 sweep given).*" in open(
      report.build_report({}, str(tmp_path / "none"))).read()


def test_figure10_without_a_finished_row_is_one_error_and_writes_nothing(tmp_path):
  mod = experiments.load("figure10")
  c = mod.get_config()
  c.sweep_dir = str(tmp_path)
  with pytest.raises(ValueError, match="sweep_dir: no finished row of Figure 10"):
    mod.run(c, str(tmp_path / "out"))
  assert not (tmp_path / "out").exists()
