"""The package's shape: imports that point one way, the light modules free of JAX, modules of
readable size."""
import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "lenet_jax"


def _own_imports(path: Path):
  """(module-level imports, imports inside functions) of lenet_jax modules in `path`."""
  tree = ast.parse(path.read_text())
  top, inner = set(), set()
  for node in ast.walk(tree):
    names = []
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lenet_jax"):
      names = [node.module] if node.module != "lenet_jax" else [
          f"lenet_jax.{a.name}" for a in node.names]
    elif isinstance(node, ast.Import):
      names = [a.name for a in node.names if a.name.startswith("lenet_jax")]
    for name in names:
      (top if node in tree.body else inner).add(name.split(".")[1] if "." in name else name)
  return top, inner


def test_imports_form_a_dag_with_none_inside_functions():
  graph = {}
  for path in PACKAGE.glob("*.py"):
    top, inner = _own_imports(path)
    assert not inner, f"{path.name} imports {sorted(inner)} inside a function"
    graph[path.stem] = top - {path.stem}
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
  code = ("import sys\nimport lenet_jax.config, lenet_jax.paper, lenet_jax.summary, "
          "lenet_jax.sweeps, lenet_jax.results\n"
          "heavy = sorted(m for m in ('jax', 'flax', 'optax', 'orbax') if m in sys.modules)\n"
          "assert not heavy, heavy\n")
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
  assert r.returncode == 0, r.stderr


def test_no_module_over_450_lines():
  sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
  assert max(sizes.values()) <= 450, {k: v for k, v in sizes.items() if v > 450}


def test_train_and_evaluate_is_at_most_150_lines():
  tree = ast.parse((PACKAGE / "train.py").read_text())
  fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
            and n.name == "train_and_evaluate")
  assert fn.end_lineno - fn.lineno + 1 <= 150
