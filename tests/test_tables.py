"""The generated results tables: README.md's and RESULTS.md's blocks equal what
`launch.py --experiment=tables` writes, their statistics against hand-computed values, and the
rewriter's handling of the text around and the markers of each block."""
import json
import math
import os
import shutil
import subprocess
import sys

import pytest

import experiments
from conftest import ROOT
from experiments import tables as tables_experiment
from lenet_jax.report import tables

README_ROW = "| `c3_full` | 1.06 ± 0.07 | 0.7 |"   # a row of README's ablations block


def _repository_copy(tmp_path):
  """README.md and RESULTS.md copied into tmp_path, the results and experiments linked."""
  for doc in tables.DOCUMENTS:
    shutil.copy(ROOT / doc, tmp_path / doc)
  for folder in ("results", "experiments"):
    os.symlink(ROOT / folder, tmp_path / folder)
  return tmp_path


def _results(errors, parameters=None, **extra):
  """A results.json dict as training writes it, one finished lane per test error."""
  lanes = [{"seed": s, "overrides": {}, "status": "done", "final_test_error": e,
            "passes": [{"pass": 1, "test_error": e, "train_error": e / 2}]}
           for s, e in enumerate(errors)]
  return dict({"experiment": "x", "status": "done", "config": {}, "lanes": lanes,
               "parameters": parameters, "total_seconds": 120.0, "commit": "abc1234",
               "versions": {"jax": "0.10.2"},
               "device": {"platform": "cpu", "cpu": "x86_64", "cpu_count": 2}}, **extra)


def _write(root, relpath, results):
  path = root / "results" / relpath
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(results))


def _row(table: str, start: str) -> list[str]:
  line = next(l for l in table.splitlines() if l.startswith(start))
  return [cell.strip() for cell in line.strip("|").split("|")]


def test_committed_blocks_equal_what_the_command_writes():
  assert tables.stale() == [], "run `python launch.py --experiment=tables` and commit the result"


def test_a_number_edited_by_hand_is_reported_and_rewritten(tmp_path, monkeypatch, capsys):
  root = _repository_copy(tmp_path)
  readme = (root / "README.md").read_text()
  assert readme.count(README_ROW) == 1
  edited = readme.replace(README_ROW, README_ROW.replace("1.06", "1.05"))
  (root / "README.md").write_text(edited)
  assert tables.stale(str(root)) == ["README.md:ablations"]
  monkeypatch.setattr(tables, "REPOSITORY", str(root))
  check = tables_experiment.get_config()
  assert check.experiment == "tables" and check.check is False
  check.check = True
  with pytest.raises(tables.TableError, match="stale table blocks: README.md:ablations;"):
    tables_experiment.run(check, "ignored")
  assert tables_experiment.run(tables_experiment.get_config(), "ignored") == ["README.md:ablations"]
  assert (root / "README.md").read_text() == readme
  assert tables_experiment.run(check, "ignored") == []
  assert "every table block matches" in capsys.readouterr().out


def test_statistics_of_a_hand_made_sweep(tmp_path):
  _write(tmp_path, "sweep_ablations_v3/c3_partial/results.json", _results([1.0, 1.2, 1.1]))
  _write(tmp_path, "sweep_ablations_v3/c3_full/results.json", _results([1.3, 1.4, 1.5]))
  table = tables.ablations_full(str(tmp_path))
  # Means 1.1 and 1.4, sample stds 0.1 and 0.1 (ddof 1), z = 0.3 / sqrt(0.01/3 + 0.01/3) = 3.67.
  assert _row(table, "| `c3_partial`")[2:] == ["1.10 ± 0.10", "1.00", "1.20", "0.55", "", "-",
                                               "2"]
  assert _row(table, "| `c3_full`")[2:7] == ["1.40 ± 0.10", "1.30", "1.50", "0.70", "+3.7"]
  assert _row(table, "| `pool_avg`")[2:] == ["-"] * 4 + ["", "-", "-"]
  assert "Recorded in them: commit abc1234; JAX 0.10.2; 2-core x86_64 CPU." in table
  assert "files not there yet" in table   # the other 14 experiments
  a = {"test_error_mean": 1.1, "test_error_std": 0.1, "seeds_finished": 3}
  b = {"test_error_mean": 1.4, "test_error_std": 0.1, "seeds_finished": 3}
  assert tables.z_score(a, b) == pytest.approx(0.3 / math.sqrt(0.02 / 3))
  assert tables.z_score(a, dict(b, test_error_mean=None)) is None


def test_figure9_rows_against_the_paper_and_the_study_note(tmp_path):
  layers = [{"layer": "total", "params": 238_510, "connections": 238_510}]
  _write(tmp_path, "figure9/linear/results.json", _results([12.5], 7_850, multiply_adds=7_850))
  _write(tmp_path, "figure9/mlp_300/results.json", _results([5.0, 5.2], 238_510, layers=layers))
  _write(tmp_path, "figure9/mlp_300_permuted/results.json",
         _results([5.4, 5.6], 238_510, layers=layers))
  # A run still training has no results yet.
  _write(tmp_path, "figure9/lenet4/results.json", dict(_results([2.0]), status="running"))
  # Figure 10's shares of a row whose run records none: experiments/figure10.py's file.
  _write(tmp_path, "figure9/mlp_300_deslant/results.json", _results([1.5, 1.7]))
  _write(tmp_path, "figure10/figure10.json", {"rows": {"mlp_300_deslant": {"shares": [3.0, 3.4]}}})
  table = tables.figure9(str(tmp_path), full=True)
  # One run: z = (12.5 - 12.0) / 0.1; two: mean 5.1, std sqrt(0.02), z = 0.4 / sqrt(0.02/2 + 0.01).
  assert _row(table, "| linear |") == ["linear", "`linear`", "12.00", "12.50", "1/1", "+5.0",
                                       "7.85K / 4K", "7.85K / 4K", "", "2"]
  assert _row(table, "| 28x28-300-10 |")[3:8] == ["5.10 ± 0.14 (5.00, 5.20)", "2/2", "+2.8",
                                                  "239K", "239K"]
  assert _row(table, "| [dist] boosted LeNet-4 |")[3:] == ["-", "-", "", "- / 51K", "- / 460K",
                                                           "- / 0.5%", "-"]
  assert _row(table, "| LeNet-4 |")[3:5] == ["-", "-"]
  assert _row(table, "| [deslant] 20x20-300-10 |")[8] == "3.2% / 3.2%"
  assert "Recorded in them: commit abc1234" in table and "21 files not there yet" in table
  order = [line.split("|")[2].strip() for line in table.splitlines()[2:27]]
  assert order.index("`mlp_300_permuted`") == order.index("`mlp_300`") + 1
  note = tables.study_note(str(tmp_path))
  # B - A = 0.4, z = 0.4 / sqrt(0.02/2 + 0.02/2) = 2.83.
  assert _row(note, "| pixel order, fully connected")[1:] == [
      "`mlp_300`", "5.10 ± 0.14", "239K", "`mlp_300_permuted`", "5.50 ± 0.14", "239K", "+0.40",
      "+2.8"]


@pytest.mark.parametrize("name", sorted(tables.BUILDERS))
def test_a_missing_results_file_is_said_in_the_block(tmp_path, name):
  text = tables.BUILDERS[name](str(tmp_path))
  assert "Not found: results/" in text or "files not there yet" in text, text


def test_the_rewriter_leaves_the_text_around_the_blocks_byte_identical(tmp_path):
  before = "# Title\r\n\nSome text ± é, trailing spaces   \n\n<!-- table:figure6 -->"
  middle = "<!-- /table:figure6 -->\n\nmiddle\t\n<!-- table:mu_screen -->"
  after = "<!-- /table:mu_screen -->\nend without a newline"
  new, changed = tables.rewrite(before + "\nstale\n\nold\n" + middle + "x" + after,
                                str(tmp_path))
  assert changed == ["figure6", "mu_screen"]
  assert new == (before + "\n" + tables.figure6(str(tmp_path)).strip("\n") + "\n" + middle
                 + "\n" + tables.mu_screen(str(tmp_path)).strip("\n") + "\n" + after)
  assert tables.rewrite(new, str(tmp_path)) == (new, [])


@pytest.mark.parametrize("text, match", [
    ("<!-- table:nope -->\n<!-- /table:nope -->", "unknown table block 'nope'"),
    ("a\n<!-- table:figure6 -->\n| 1 |\n", "table block 'figure6' is never closed"),
    ("<!-- table:figure6 -->\n<!-- table:mu_screen -->\n", "'figure6' is not closed before "
                                                          "'mu_screen'"),
    ("<!-- table:figure6 -->\n<!-- /table:mu_screen -->", "closes no open block 'mu_screen'"),
    ("<!-- /table:figure6 -->", "closes no open block 'figure6'"),
])
def test_malformed_blocks_are_errors_naming_them(tmp_path, text, match):
  with pytest.raises(tables.TableError, match=match):
    tables.rewrite(text, str(tmp_path), "README.md")


def test_declared_matches_experiments_about():
  for name in ("c3_partial", "sdlm_refresh", "mlp_300", "act_relu"):
    about = experiments.about(name)
    assert tables.declared(name) == {"change": about["change"], "paper_row": about["paper_row"]}
  with pytest.raises(tables.TableError, match="no experiment module"):
    tables.declared("nope")


def test_the_tables_load_no_jax():
  code = ("import sys\nimport lenet_jax.report.tables, experiments.tables\n"
          "from lenet_jax.report import tables\ntables.figure9(tables.REPOSITORY)\n"
          "heavy = sorted(m for m in ('jax', 'flax', 'optax', 'orbax') if m in sys.modules)\n"
          "assert not heavy, heavy\n")
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
  assert r.returncode == 0, r.stderr
