"""Writing files so that a reader never sees half of one, and reading back what runs wrote."""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Callable


class FileProblem(ValueError):
  """A file lenet_jax wrote earlier is unreadable or is not what it should be."""


def atomic_write(path: str, write: Callable[[str], None], suffix: str = "") -> None:
  """write(tmp) to a temporary file beside path, then renames it to path: never a truncated
  file, and the old one stays if writing fails."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
  os.close(fd)
  try:
    write(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; results are for sharing
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write_json(path: str, obj: Any) -> None:
  def write(tmp):
    with open(tmp, "w") as f:
      json.dump(obj, f, indent=2, sort_keys=False)
      f.write("\n")
  atomic_write(path, write, ".json")


def write_text(path: str, text: str) -> None:
  def write(tmp):
    with open(tmp, "w") as f:
      f.write(text)
  atomic_write(path, write, os.path.splitext(path)[1])


def read_json(path: str, fix: str, required: dict[str, type] | None = None) -> dict:
  """The JSON object in `path`; FileProblem naming the file and `fix` if it cannot be read, is
  not an object, or lacks a `required` key of the given type."""
  try:
    with open(path) as f:
      obj = json.load(f)
  except (OSError, ValueError) as e:
    raise FileProblem(f"{path} is unreadable ({getattr(e, 'strerror', None) or e}); {fix}") \
        from None
  if not isinstance(obj, dict):
    raise FileProblem(f"{path} holds a {type(obj).__name__}, not an object; {fix}")
  for key, kind in (required or {}).items():
    if not isinstance(obj.get(key), kind):
      raise FileProblem(f"{path}: '{key}' is missing or not a {kind.__name__}; {fix}")
  return obj
