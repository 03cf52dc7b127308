"""The package's shape: imports that point one way, the light modules free of JAX, modules of
readable size."""
import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "lenet_jax"


def _modules():
  """{dotted name below lenet_jax ("train", "sweep.run"): path} of every module, folders too."""
  return {".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__"): p
          for p in PACKAGE.rglob("*.py")}


def _own_imports(path: Path):
  """(module-level imports, imports inside functions) of lenet_jax modules in `path`, as dotted
  names below lenet_jax ("from lenet_jax.sweep import run" names sweep.run)."""
  tree = ast.parse(path.read_text())
  top, inner = set(), set()
  for node in ast.walk(tree):
    names = []
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lenet_jax"):
      names = [f"{node.module}.{a.name}" for a in node.names]
    elif isinstance(node, ast.Import):
      names = [a.name for a in node.names if a.name.startswith("lenet_jax")]
    for name in names:
      (top if node in tree.body else inner).add(name)
  return top, inner


def _resolve(name: str, modules) -> str | None:
  """The module a dotted import names: the longest prefix below lenet_jax that is one."""
  parts = name.split(".")[1:]
  for n in range(len(parts), 0, -1):
    if ".".join(parts[:n]) in modules:
      return ".".join(parts[:n])
  return None


def test_imports_form_a_dag_with_none_inside_functions():
  modules, graph = _modules(), {}
  for name, path in modules.items():
    top, inner = _own_imports(path)
    assert not inner, f"{name} imports {sorted(inner)} inside a function"
    graph[name] = {_resolve(t, modules) for t in top} - {name, None}
  state = {}

  def visit(node, trail):
    if state.get(node) == "done":
      return
    assert state.get(node) != "open", f"import cycle: {' -> '.join(trail + [node])}"
    state[node] = "open"
    for dep in graph.get(node, ()):
      visit(dep, trail + [node])
    state[node] = "done"

  for node in graph:
    visit(node, [])


def test_config_summary_and_paper_load_no_jax():
  code = ("import sys\nimport lenet_jax.config, lenet_jax.paper, lenet_jax.sweep.summary, "
          "lenet_jax.sweep, lenet_jax.results, lenet_jax.versions, lenet_jax.data\n"
          "heavy = sorted(m for m in ('jax', 'flax', 'optax', 'orbax') if m in sys.modules)\n"
          "assert not heavy, heavy\n")
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
  assert r.returncode == 0, r.stderr


def test_the_leaves_sit_in_their_folders_and_nothing_imports_them():
  # The sweep (its names, running it, its summary) and the report are leaves of the import
  # graph: the core, flat, never imports them (the report's plots serve the sweep's summary).
  modules = _modules()
  for name, path in modules.items():
    if name.split(".")[0] in ("sweep", "report"):
      continue
    top, _ = _own_imports(path)
    leaves = {_resolve(t, modules) for t in top} & {m for m in modules
                                                    if m.split(".")[0] in ("sweep", "report")}
    assert not leaves, f"{name} imports {sorted(leaves)}"
  assert {"sweep", "sweep.run", "sweep.summary", "report.build", "report.sources",
          "report.figures", "report.plots"} <= set(modules)


def test_no_module_over_450_lines():
  sizes = {name: len(p.read_text().splitlines()) for name, p in _modules().items()}
  assert max(sizes.values()) <= 450, {k: v for k, v in sizes.items() if v > 450}


def test_train_and_evaluate_is_at_most_150_lines():
  tree = ast.parse((PACKAGE / "train.py").read_text())
  fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
            and n.name == "train_and_evaluate")
  assert fn.end_lineno - fn.lineno + 1 <= 150
