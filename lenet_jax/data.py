"""MNIST for LeNet-5: IDX reader, tfds fallback, and the paper's preprocessing.

Everything here is NumPy; moving arrays to the device is the trainer's job.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import stat
from pathlib import Path
from typing import NamedTuple
import zlib

import numpy as np

from lenet_jax import versions

ENV_VAR = "LENET_MNIST_DIR"
# The four original MNIST files ship with the package (lenet_jax/mnist/README.md: source and
# licence), checked against their SHA-256 sums on every load: a fresh clone needs no download.
REPO_DIR = Path(__file__).resolve().parent / "mnist"
TFDS = "tfds"   # the mnist_dir that selects tensorflow-datasets instead of a folder
SUMS = "SHA256SUMS"

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# kind: (magic number, header length in bytes)
_IDX = {"images": (2051, 16), "labels": (2049, 8)}
_SIDE = 28
_FIX = ("point --mnist_dir (or LENET_MNIST_DIR) at a folder holding the four MNIST IDX files, "
        "or leave both unset for the copy in the repository")
# The images (and labels) of MNIST's splits: a header that claims more is refused unread.
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
DEFLATE_MAX_RATIO = 1032   # the most deflate expands: a 258-byte match from about 2 bits


class MnistError(ValueError):
  """A missing, malformed or inconsistent MNIST file or source."""


_PIECE = 1 << 22   # bytes decompressed or read at a time


def _read_upto(stream, limit: int) -> bytes:
  """Up to `limit` bytes of `stream` (fewer at its end), read in pieces of at most _PIECE, so
  that no more than `limit` + _PIECE bytes are ever held, however much the stream holds."""
  pieces, held = [], 0
  while held < limit:
    piece = stream.read(min(_PIECE, limit - held))
    if not piece:
      break
    pieces.append(piece)
    held += len(piece)
  return b"".join(pieces)


def _unbelievable(count: int, kind: str, expected: int, stored: int | None, gzipped: bool,
                  split: str | None) -> str | None:
  """Why a header's count cannot be true, decided before its payload is read or allocated (a
  gzip of zeros can claim millions of images and hold them): more payload bytes than the
  `stored` bytes of the file can hold, or more than MNIST's `split` holds; None if it may be."""
  said = f"header says {count} {kind}"
  if stored is not None and not gzipped and expected > stored:
    return f"{said}, i.e. {expected} payload bytes, but found {stored} (truncated)"
  if stored is not None and gzipped and expected > stored * DEFLATE_MAX_RATIO:
    return (f"{said}, i.e. {expected} payload bytes, more than a {stored}-byte gzip file can hold "
            f"(deflate expands at most {DEFLATE_MAX_RATIO}-fold)")
  if split is not None and count > SPLIT_SIZES[split]:
    return f"{said}, more than the {SPLIT_SIZES[split]:,} of MNIST's {split} split"
  return None


def read_idx(path: str | os.PathLike, kind: str, split: str | None = None) -> np.ndarray:
  """Reads an MNIST IDX file (gzipped or raw) into uint8 (N, 28, 28) or (N,).

  Args:
    path: file path; gzip is detected from the content, not the name.
    kind: "images" or "labels".
    split: "train" or "test": the MNIST split the file holds, whose size (SPLIT_SIZES) caps the
      count its header may claim; None: no cap but what the file's size can hold.

  Raises:
    MnistError: for any problem with the file or its bytes.
  """
  if kind not in _IDX:
    raise ValueError(f"kind must be 'images' or 'labels', got {kind!r}")
  path = Path(path)

  def fail(problem):
    return MnistError(f"{path}: {problem}; {_FIX}.")

  magic, header_len = _IDX[kind]
  # Bounded reads: the header says how many payload bytes follow, so at most that many plus
  # one (to tell "trailing bytes") are ever read or decompressed, in pieces of _PIECE. A small
  # gzip file that expands to gigabytes, a huge raw file or an endless stream is refused after
  # reading about as much as a genuine file of that header would hold.
  try:
    with open(path, "rb") as f:
      gzipped = f.read(2) == b"\x1f\x8b"
      f.seek(0)
      st = os.fstat(f.fileno())   # of the file as stored (compressed, if gzipped)
      stream = gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f
      header = _read_upto(stream, header_len)
      found = int.from_bytes(header[:4], "big")
      # Magic first (when there is one), so a labels file passed as images says so.
      if len(header) >= 4 and found != magic:
        other = [k for k, (m, _) in _IDX.items() if m == found]
        hint = f" (that is an IDX {other[0]} file)" if other else ""
        raise fail(f"expected IDX {kind} magic {magic}, found {found}{hint}")
      if len(header) < header_len:
        raise fail(
            f"truncated header: expected {header_len} bytes for an IDX {kind} "
            f"header, found {len(header)}")

      dims = [int.from_bytes(header[i:i + 4], "big") for i in range(4, header_len, 4)]
      count, shape = dims[0], tuple(dims[1:])
      if kind == "images" and shape != (_SIDE, _SIDE):
        raise fail(f"expected {_SIDE}x{_SIDE} images, found {shape[0]}x{shape[1]}")

      expected = count * math.prod(shape)
      said = f"header says {count} {kind}, i.e. {expected} payload bytes, but found"
      if not gzipped and stat.S_ISREG(st.st_mode) and st.st_size - header_len > expected:
        raise fail(f"{said} {st.st_size - header_len} (trailing bytes)")
      stored = st.st_size - (0 if gzipped else header_len) if stat.S_ISREG(st.st_mode) else None
      problem = _unbelievable(count, kind, expected, stored, gzipped, split)
      if problem:
        raise fail(problem)
      payload = _read_upto(stream, expected + 1)
  except MnistError:
    raise
  except (gzip.BadGzipFile, EOFError, zlib.error) as e:   # raised only for gzipped files
    raise fail(f"corrupt gzip stream ({e})") from e
  except (OSError, ValueError) as e:  # ValueError: e.g. a NUL byte in the path
    raise fail(f"cannot read the file ({getattr(e, 'strerror', None) or e})") from e
  if len(payload) != expected:
    if len(payload) < expected:
      raise fail(f"{said} {len(payload)} (truncated)")
    raise fail(f"{said} more (trailing bytes)")

  array = np.frombuffer(payload, np.uint8).reshape((count,) + shape).copy()
  if kind == "labels" and count and array.max() > 9:
    bad = int(np.argmax(array > 9))
    raise fail(f"expected labels in 0..9, found {array[bad]} at index {bad}")
  return array


def load_idx_dir(mnist_dir: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Loads {"train": (images, labels), "test": (images, labels)} from IDX files.

  Each file may be NAME or NAME.gz (raw preferred when both exist). The real files hold
  60,000 train and 10,000 test examples: smaller hand-made files load too, a header claiming
  more is refused before its payload is read (SPLIT_SIZES).
  """
  mnist_dir = Path(mnist_dir)
  # os.stat rather than Path.is_dir, which (Python < 3.14) lets some OSErrors through: a name
  # too long, a parent without search permission, ...
  try:
    is_dir = stat.S_ISDIR(os.stat(mnist_dir).st_mode)
  except (OSError, ValueError) as e:  # ValueError: e.g. a NUL byte in the path
    problem = ("does not exist" if isinstance(e, (FileNotFoundError, NotADirectoryError))
               else f"cannot be read ({getattr(e, 'strerror', None) or e})")
    raise MnistError(f"MNIST folder {mnist_dir} {problem}; {_FIX}.") from e
  if not is_dir:
    raise MnistError(f"MNIST folder {mnist_dir} is not a folder; {_FIX}.")
  paths, missing = {}, []
  for name in sum(FILES.values(), ()):
    found = [mnist_dir / n for n in (name, name + ".gz") if os.path.isfile(mnist_dir / n)]
    if found:
      paths[name] = found[0]
    else:
      missing.append(f"{name}[.gz]")
  if missing:
    raise MnistError(
        f"MNIST folder {mnist_dir} lacks {', '.join(missing)}; {_FIX}.")

  _check_sums(mnist_dir, paths.values())
  splits = {}
  for split, (image_name, label_name) in FILES.items():
    images = read_idx(paths[image_name], "images", split)
    labels = read_idx(paths[label_name], "labels", split)
    if len(images) != len(labels):
      raise MnistError(
          f"{paths[image_name]} holds {len(images)} images but "
          f"{paths[label_name]} holds {len(labels)} labels, but they must "
          f"match; {_FIX}.")
    if not len(images):
      # Nothing to train on or to measure: refused here, before a run makes its workdir.
      raise MnistError(f"{paths[image_name]} holds no images (its header says 0); {_FIX}.")
    splits[split] = (images, labels)
  return splits


def _check_sums(mnist_dir: Path, paths) -> None:
  """MnistError naming the file if one of `paths` that mnist_dir/SHA256SUMS lists (when there is
  one) does not have its listed SHA-256: a damaged copy fails here, not as odd numbers later."""
  try:
    with open(mnist_dir / SUMS) as f:
      listed = dict(reversed(line.split()) for line in f if len(line.split()) == 2)
  except FileNotFoundError:
    return
  except (OSError, UnicodeDecodeError, ValueError) as e:
    raise MnistError(f"{mnist_dir / SUMS} is unreadable ({e}); {_FIX}.") from None
  for path in paths:
    expected = listed.get(path.name)
    if expected is None:
      continue
    h = hashlib.sha256()
    with open(path, "rb") as f:
      for piece in iter(lambda: f.read(_PIECE), b""):
        h.update(piece)
    if h.hexdigest() != expected.lower():
      fix = ("restore it with `git checkout -- lenet_jax/mnist`" if mnist_dir.resolve() == REPO_DIR
             else f"replace it with the original file, or remove its line from {SUMS}")
      raise MnistError(f"{path}: its SHA-256 {h.hexdigest()[:12]}... is not the "
                       f"{expected[:12]}... that {SUMS} lists (the file is damaged); {fix}.")


# A small file of the MNIST copy tfds downloads (tensorflow_datasets/image_classification/
# mnist.py), asked for once before a download.
_DOWNLOAD_PROBE = "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-labels-idx1-ubyte.gz"
_PROBE_SECONDS = 5.0


def _unreachable(url: str, seconds: float = _PROBE_SECONDS) -> str | None:
  """None if one HEAD request for `url` gets any HTTP answer, else why not (the exception's
  name). Proxies are honoured as tfds's own downloads honour them (requests reads the same
  HTTP(S)_PROXY variables); no retries; at most 2 * `seconds` in all, name resolution included
  (which requests' timeout does not bound), hence the thread."""
  import threading  # pylint: disable=g-import-not-at-top
  import requests  # pylint: disable=g-import-not-at-top  (a dependency of tensorflow-datasets)

  outcome = []

  def probe():
    try:
      requests.head(url, timeout=seconds, allow_redirects=False)
      outcome.append(None)
    except Exception as e:  # pylint: disable=broad-except
      reason = getattr(e.args[0], "reason", None) if e.args else None   # urllib3's cause
      outcome.append(type(reason if isinstance(reason, Exception) else e).__name__)

  thread = threading.Thread(target=probe, name="mnist-download-probe", daemon=True)
  thread.start()
  thread.join(2 * seconds)
  return outcome[0] if outcome else f"no answer within {2 * seconds:.0f} s"


@contextlib.contextmanager
def _quiet_absl():
  """absl warnings off (tfds logs one per call for a dataset it has not prepared)."""
  from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
  old = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.ERROR)
  try:
    yield
  finally:
    absl_logging.set_verbosity(old)


def load_tfds(
    data_dir: str | os.PathLike | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Loads MNIST through tensorflow-datasets, same layout as `load_idx_dir`.

  Without a network and without MNIST prepared in tfds's data dir, fails within seconds (an
  MnistError naming --mnist_dir) rather than after tfds's download retries.
  """
  fix = (f"Leave --mnist_dir unset for the copy in the repository, or pass --mnist_dir=DIR or set "
         f"{ENV_VAR}=DIR, DIR being a folder with the four MNIST IDX files")
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    # data_source reads examples without building a tf.data pipeline; a batch_size=-1 tf.data
    # load aborts the process with TF 2.21 here.
    source_args = dict(split=["train", "test"], data_dir=data_dir,
                       builder_kwargs={"file_format": "array_record"})
    try:
      try:
        with _quiet_absl():
          sources = tfds.data_source("mnist", download=False, **source_args)
      except NotImplementedError:
        raise
      except Exception as e:  # pylint: disable=broad-except  (not prepared: tfds says KeyError)
        # Not prepared here, so tfds would download it, and with no network its downloader
        # retries each file 10 times with exponential backoff (urllib3 Retry, ~200 s) before
        # failing. Ask once, quickly, whether the download host answers at all: this is
        # robust where a tfds setting is not (tfds has no public retry option, and patching
        # its MAX_RETRIES is private API), it goes through the same proxies as tfds, it costs
        # nothing when MNIST is already prepared (the download=False load above needs no
        # network), and it only ever decides between failing now and letting tfds try.
        why = _unreachable(_DOWNLOAD_PROBE)
        if why is not None:
          where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
          host = _DOWNLOAD_PROBE.split("/")[2]
          raise MnistError(
              f"MNIST is not prepared for tfds in {where} and cannot be downloaded: {host} is "
              f"unreachable ({why}; tfds: {type(e).__name__}: {str(e)[:200]}). {fix}.") from e
        sources = tfds.data_source("mnist", **source_args)
    except NotImplementedError:
      # MNIST already prepared as TFRecord (e.g. by an earlier tfds.load),
      # which has no random access: stream it instead.
      sources = [tfds.as_numpy(ds) for ds in tfds.load(
          "mnist", split=["train", "test"], data_dir=data_dir)]
    splits = {}
    for split, source in zip(("train", "test"), sources):
      examples = list(source)
      images = np.stack([ex["image"] for ex in examples]).astype(np.uint8)
      labels = np.array([ex["label"] for ex in examples], dtype=np.uint8)
      if images.shape[1:] != (_SIDE, _SIDE, 1):
        raise ValueError(f"unexpected image shape {images.shape[1:]}")
      splits[split] = (images[..., 0], labels)
    return splits
  except MnistError:
    raise
  except Exception as e:  # no internet, missing package, bad cache, ...
    raise MnistError(
        f"MNIST could not be loaded through tfds ({type(e).__name__}: {e}). {fix}.") from e


def preprocess(images: np.ndarray, side: int = 32) -> np.ndarray:
  """uint8 (N, h, h) -> float32 (N, side, side, 1) as in LeCun et al. (1998).

  The pad to `side` (2 pixels for LeNet-5's 32x32 field) is background, and values are mapped
  linearly so that background (0) is -0.1 and foreground (255) is 1.175. The paper says this
  makes the mean roughly 0 and the variance roughly 1; on MNIST the mean is 0.03 but the
  standard deviation is only 0.35. Every network of Figure 9 reads its input so scaled.
  """
  images = np.asarray(images)
  pad = side - images.shape[1]
  if pad < 0 or pad % 2:
    raise ValueError(f"cannot centre {images.shape[1]}x{images.shape[2]} images in a "
                     f"{side}x{side} field")
  padded = np.pad(images, ((0, 0), (pad // 2, pad // 2), (pad // 2, pad // 2)))
  x = np.float32(-0.1) + padded.astype(np.float32) * np.float32(1.275 / 255)
  return x[..., None]


# The side of the images of each data version.
IMAGE_SIDE = versions.SIDES


class Mnist(NamedTuple):
  train_x: np.ndarray  # (N, side, side, 1) float32
  train_y: np.ndarray  # (N,) int32
  test_x: np.ndarray
  test_y: np.ndarray
  val_x: np.ndarray  # 0 rows unless validation > 0
  val_y: np.ndarray


def load_mnist(mnist_dir: str | os.PathLike | None = None, *, train_size: int = 0,
               subset: str = "first", validation: int = 0, seed: int = 0,
               version: str = "regular", permutation_seed: int | None = None,
               side: int = 32) -> Mnist:
  """Loads, splits and preprocesses MNIST.

  Args:
    mnist_dir: IDX folder, or "tfds" for tensorflow-datasets; defaults to $LENET_MNIST_DIR,
      then to the copy in the repository (REPO_DIR).
    train_size: number of training images kept (0: all after validation).
    subset: "first" keeps the first `train_size` images, "random" a random
      subset drawn with `seed`, kept in the original order.
    validation: number of images held out from the END of the training set,
      before `train_size` applies.
    seed: seed for `subset="random"`.
    version: the data version (lenet_jax.versions: regular, deslant, 16x16).
    permutation_seed: if given, the 784 pixels of every image in one fixed random order.
    side: the side of the field the images are centred in (the network's input).
  """
  if train_size < 0 or validation < 0:
    raise ValueError(
        f"train_size and validation must be >= 0, got train_size={train_size}, "
        f"validation={validation}")
  if subset not in ("first", "random"):
    raise ValueError(f"subset must be 'first' or 'random', got {subset!r}")

  if mnist_dir is None:
    mnist_dir = os.environ.get(ENV_VAR) or REPO_DIR
  splits = load_tfds() if str(mnist_dir) == TFDS else load_idx_dir(mnist_dir)
  for split, (split_images, _) in splits.items():
    if not len(split_images):
      raise MnistError(f"the MNIST {split} split holds no images; {_FIX}.")
  images, labels = splits["train"]

  if validation >= len(images):
    raise MnistError(
        f"validation={validation} leaves no training images: only "
        f"{len(images)} are available")
  keep = len(images) - validation
  val_x, val_y = images[keep:], labels[keep:]
  images, labels = images[:keep], labels[:keep]

  if train_size > len(images):
    raise MnistError(
        f"train_size={train_size} exceeds the {len(images)} training images "
        f"available (after holding out validation={validation})")
  if train_size:
    if subset == "first":
      index = np.arange(train_size)
    else:
      rng = np.random.default_rng(seed)
      index = np.sort(rng.choice(len(images), train_size, replace=False))
    images, labels = images[index], labels[index]

  test_x, test_y = splits["test"]
  if version != "regular" or permutation_seed is not None:
    # The same version (and permutation) of every split: one function of the image alone.
    perm = None if permutation_seed is None else versions.pixel_permutation(permutation_seed)
    images, test_x, val_x = (versions.apply(version, v, perm) for v in (images, test_x, val_x))
  return Mnist(
      preprocess(images, side), labels.astype(np.int32),
      preprocess(test_x, side), test_y.astype(np.int32),
      preprocess(val_x, side), val_y.astype(np.int32))
