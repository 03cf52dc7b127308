"""Writing files so that a reader never sees half of one, and reading back what runs wrote.

Every write a run makes goes through `writing`: an OSError on writing a path becomes one
WriteError naming the path, the cause and the fix (a full disk included), never a traceback."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from typing import Any, Callable, Iterator

# The prefix of atomic_write's temporary files: one left behind was cut short (SIGKILL).
TMP_PREFIX = ".tmp-"
SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
# How tensorstore (through orbax) words the same failures.
SPACE_WORDS = ("No space left on device", "File too large", "Disk quota exceeded")


class FileProblem(ValueError):
  """A file lenet_jax wrote earlier is unreadable or is not what it should be."""


class WriteError(OSError, ValueError):
  """A path could not be written: one line naming it, the cause and the fix. An OSError, so that
  code catching those still does; a ValueError, which launch.py prints as one `error:` line."""

  def __str__(self) -> str:
    return self.args[0]


def no_space(e: BaseException | None) -> bool:
  """Whether e, or what caused it, is the device running out of space."""
  while e is not None:
    if isinstance(e, OSError) and e.errno in SPACE_ERRNOS:
      return True
    if any(s in str(e) for s in SPACE_WORDS):
      return True
    e = e.__cause__ or e.__context__
  return False


def size_text(n: int) -> str:
  """'812 bytes', '4.2 KiB', '1.3 MiB'."""
  if n < 1024:
    return f"{n} bytes"
  return f"{n / 1024:.1f} KiB" if n < 2**20 else f"{n / 2**20:.1f} MiB"


def os_error(e: BaseException) -> OSError | None:
  """The OSError in e's chain (orbax wraps them), if any."""
  while e is not None:
    if isinstance(e, OSError) and not isinstance(e, WriteError):
      return e
    e = e.__cause__ or e.__context__
  return None


def write_error(path: str, e: BaseException, needed: int | None = None) -> WriteError:
  """The one-line error for failing to write `path` with e; `needed`: bytes the write needed."""
  if no_space(e):
    size = f" (about {size_text(needed)} needed)" if needed else ""
    return WriteError(f"no space left on the device holding {path}{size}; free some space and "
                      "rerun the same command to resume")
  found = os_error(e)
  code = found.errno if found is not None else None
  cause = (found.strerror if found is not None and found.strerror else
           str(e).splitlines()[0][:160] if str(e) else type(e).__name__)
  if code == errno.EISDIR:
    fix = "remove that directory, or choose another --workdir"
  elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
    fix = "make it writable, or choose another --workdir"
  elif code == errno.ENOENT:
    fix = "create its folder, or choose another --workdir"
  else:
    fix = "remove what is in the way, or choose another --workdir"
  return WriteError(f"cannot write {path} ({cause}); {fix}")


@contextlib.contextmanager
def writing(path: str, needed: int | None = None) -> Iterator[None]:
  """Runs the block that writes `path`, turning an OSError into one WriteError naming it."""
  try:
    yield
  except WriteError:
    raise
  except OSError as e:
    raise write_error(path, e, needed) from None


def atomic_write(path: str, write: Callable[[str], None], suffix: str = "",
                 needed: int | None = None) -> None:
  """write(tmp) to a temporary file beside path, then renames it to path: never a truncated
  file, and the old one stays if writing fails (a WriteError naming path)."""
  directory = os.path.dirname(os.path.abspath(path))
  with writing(path, needed):
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TMP_PREFIX, suffix=suffix)
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
  text = json.dumps(obj, indent=2, sort_keys=False) + "\n"

  def write(tmp):
    with open(tmp, "w") as f:
      f.write(text)
  atomic_write(path, write, ".json", len(text.encode()))


def write_text(path: str, text: str) -> None:
  def write(tmp):
    with open(tmp, "w") as f:
      f.write(text)
  atomic_write(path, write, os.path.splitext(path)[1], len(text.encode()))


def remove_leftovers(directory: str) -> list[str]:
  """Removes the temporary files of atomic writes cut short in `directory` (a SIGKILL between
  mkstemp and the rename); returns their names. Only under the workdir's lock: no other writer."""
  gone = []
  for name in os.listdir(directory) if os.path.isdir(directory) else ():
    path = os.path.join(directory, name)
    if name.startswith(TMP_PREFIX) and (os.path.islink(path) or os.path.isfile(path)):
      with writing(path):
        os.unlink(path)
      gone.append(name)
  return gone


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
