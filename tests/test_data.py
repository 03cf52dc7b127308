"""Tests for lenet_jax.data against facts about MNIST and hand-built IDX files."""
from __future__ import annotations

import functools
import gzip
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lenet_jax import data
from lenet_jax.data import MnistError

from conftest import MNIST_DIR, ROOT, require_mnist

# Published MNIST facts (LeCun's page / torchvision), not derived from this code.
TRAIN_FIRST_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
TEST_FIRST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TRAIN_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# The usual per-pixel normalisation constants of the 28x28 training images, v / 255.
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081


@pytest.fixture(scope="module")
def real():
  require_mnist()
  return data.load_idx_dir(MNIST_DIR)


# --- hand-built IDX files ---------------------------------------------------------------------


def idx_bytes(kind, array, *, magic=None, count=None, rows=None, cols=None):
  """Packs an IDX file; keyword overrides write a header that lies about the payload."""
  array = np.asarray(array, dtype=np.uint8)
  count = len(array) if count is None else count
  if kind == "images":
    rows = array.shape[1] if rows is None else rows
    cols = array.shape[2] if cols is None else cols
    header = struct.pack(">IIII", 2051 if magic is None else magic, count, rows, cols)
  else:
    header = struct.pack(">II", 2049 if magic is None else magic, count)
  return header + array.tobytes()


def small_images(n, seed=0):
  """n distinct 28x28 images: pixel (0, 0) holds the index, the rest is noise."""
  images = np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)
  images[:, 0, 0] = np.arange(n)
  return images


def small_labels(n):
  return (np.arange(n) * 7 % 10).astype(np.uint8)


def write(path, payload, gz=False):
  path.write_bytes(gzip.compress(payload) if gz else payload)
  return path


def make_dir(root, n_train=50, n_test=10, gz=True):
  """An MNIST folder with small files, train gzipped (if gz) and test raw."""
  root.mkdir(parents=True, exist_ok=True)
  for split, n in (("train", n_train), ("test", n_test)):
    image_name, label_name = data.FILES[split]
    zipped = gz and split == "train"
    suffix = ".gz" if zipped else ""
    write(root / (image_name + suffix), idx_bytes("images", small_images(n, seed=n)), zipped)
    write(root / (label_name + suffix), idx_bytes("labels", small_labels(n)), zipped)
  return root


def index_of(x):
  """Recovers small_images' index from preprocessed pixel (2, 2), i.e. raw pixel (0, 0)."""
  return np.rint((x[:, 2, 2, 0] + 0.1) * 255 / 1.275).astype(int)


# --- real files -------------------------------------------------------------------------------


def test_real_shapes_and_counts(real):
  (train_x, train_y), (test_x, test_y) = real["train"], real["test"]
  assert train_x.shape == (60000, 28, 28) and train_x.dtype == np.uint8
  assert test_x.shape == (10000, 28, 28) and test_x.dtype == np.uint8
  assert train_y.shape == (60000,) and train_y.dtype == np.uint8
  assert test_y.shape == (10000,) and test_y.dtype == np.uint8
  assert train_x.max() == 255 and train_x.min() == 0


def test_real_first_labels(real):
  assert real["train"][1][:10].tolist() == TRAIN_FIRST_LABELS
  assert real["test"][1][:10].tolist() == TEST_FIRST_LABELS


def test_real_class_counts(real):
  assert np.bincount(real["train"][1], minlength=10).tolist() == TRAIN_CLASS_COUNTS
  assert np.bincount(real["test"][1], minlength=10).tolist() == TEST_CLASS_COUNTS


@pytest.mark.slow
def test_preprocess_real_statistics(real):
  # Expected moments of the padded, rescaled data follow from the 28x28 pixel moments:
  # padding adds 1024 - 784 zero pixels. The paper's "variance roughly 1" does not hold;
  # the standard deviation is about 0.35.
  x = data.preprocess(real["train"][0])
  frac = 784 / 1024
  mean01 = PIXEL_MEAN * frac
  var01 = (PIXEL_STD**2 + PIXEL_MEAN**2) * frac - mean01**2
  assert abs(float(x.mean()) - (-0.1 + 1.275 * mean01)) < 2e-3  # about 0.028
  assert abs(float(x.std()) - 1.275 * var01**0.5) < 2e-3  # about 0.351
  assert abs(float(x.mean())) < 0.05


# --- preprocess -------------------------------------------------------------------------------


def test_preprocess_values_border_shape_dtype():
  images = np.zeros((3, 28, 28), np.uint8)
  images[0] = 255
  images[1, 10, 12] = 51  # -0.1 + 1.275 * 51 / 255 = -0.1 + 0.255 = 0.155
  x = data.preprocess(images)
  assert x.shape == (3, 32, 32, 1) and x.dtype == np.float32
  np.testing.assert_allclose(x[0, 2:30, 2:30], 1.175, rtol=0, atol=1e-6)
  np.testing.assert_allclose(x[2], -0.1, rtol=0, atol=1e-6)
  assert x[1, 12, 14, 0] == pytest.approx(0.155, abs=1e-6)
  assert np.count_nonzero(x[1] != x[2]) == 1
  border = np.ones((32, 32), bool)
  border[2:30, 2:30] = False
  np.testing.assert_allclose(x[:, border], -0.1, rtol=0, atol=1e-6)


# --- IDX reader on hand-built files -----------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
  images, labels = small_images(5), small_labels(5)
  name = "x.gz" if gz else "x"  # the name must not matter, only the bytes
  img = data.read_idx(write(tmp_path / ("i" + name), idx_bytes("images", images), gz), "images")
  lab = data.read_idx(write(tmp_path / ("l" + name), idx_bytes("labels", labels), gz), "labels")
  np.testing.assert_array_equal(img, images)
  np.testing.assert_array_equal(lab, labels)
  assert img.dtype == lab.dtype == np.uint8
  assert img.shape == (5, 28, 28) and lab.shape == (5,)


def test_gzip_detected_by_content_not_name(tmp_path):
  labels = small_labels(4)
  raw_named_gz = write(tmp_path / "labels.gz", idx_bytes("labels", labels))
  gz_named_raw = write(tmp_path / "labels", idx_bytes("labels", labels), gz=True)
  np.testing.assert_array_equal(data.read_idx(raw_named_gz, "labels"), labels)
  np.testing.assert_array_equal(data.read_idx(gz_named_raw, "labels"), labels)


def test_empty_files_load(tmp_path):
  assert data.read_idx(write(tmp_path / "i", idx_bytes("images", np.zeros((0, 28, 28)))),
                       "images").shape == (0, 28, 28)
  assert data.read_idx(write(tmp_path / "l", idx_bytes("labels", [])), "labels").shape == (0,)


def test_load_idx_dir_round_trip(tmp_path):
  root = make_dir(tmp_path / "mnist")
  splits = data.load_idx_dir(root)
  assert set(splits) == {"train", "test"}
  np.testing.assert_array_equal(splits["train"][0], small_images(50, seed=50))
  np.testing.assert_array_equal(splits["train"][1], small_labels(50))
  np.testing.assert_array_equal(splits["test"][0], small_images(10, seed=10))
  np.testing.assert_array_equal(splits["test"][1], small_labels(10))


IMAGES = small_images(3)
LABELS = small_labels(3)
CORRUPTIONS = {
    # name: (kind, bytes, words expected in the message)
    "wrong magic": ("images", idx_bytes("images", IMAGES, magic=1234), ["2051", "1234"]),
    "labels file read as images": ("images", idx_bytes("labels", LABELS), ["2051", "2049"]),
    "truncated header": ("images", idx_bytes("images", IMAGES)[:10], ["header", "16", "10"]),
    "empty file": ("labels", b"", ["header"]),
    "truncated payload": ("images", idx_bytes("images", IMAGES)[:-1], ["truncated"]),
    "trailing bytes": ("labels", idx_bytes("labels", LABELS) + b"\0", ["trailing"]),
    "count too large": ("labels", idx_bytes("labels", LABELS, count=4), ["4", "3"]),
    "wrong rows": ("images", idx_bytes("images", IMAGES, rows=27), ["28x28", "27x28"]),
    "wrong cols": ("images", idx_bytes("images", IMAGES, cols=29), ["28x28", "28x29"]),
    "label out of range": ("labels", idx_bytes("labels", [3, 10, 2]), ["0..9", "10"]),
    "corrupt gzip": ("labels", gzip.compress(idx_bytes("labels", LABELS))[:-6], ["gzip"]),
    "gzip with bad crc": ("labels", bytearray(gzip.compress(idx_bytes("labels", LABELS))),
                          ["gzip"]),
}
CORRUPTIONS["gzip with bad crc"][1][-5] ^= 0xFF  # the CRC32 field of the trailer


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_read_idx_corruptions(tmp_path, case):
  kind, payload, words = CORRUPTIONS[case]
  path = write(tmp_path / "bad-file-idx", bytes(payload))
  with pytest.raises(MnistError) as info:
    data.read_idx(path, kind)
  message = str(info.value)
  assert "bad-file-idx" in message
  assert "--mnist_dir" in message  # says how to fix it
  for word in words:
    assert word in message, (word, message)


def test_read_idx_missing_file(tmp_path):
  with pytest.raises(MnistError, match="nothing-here"):
    data.read_idx(tmp_path / "nothing-here", "labels")


def test_load_idx_dir_missing_dir(tmp_path):
  with pytest.raises(MnistError, match="no-such-dir"):
    data.load_idx_dir(tmp_path / "no-such-dir")


def test_load_idx_dir_missing_file_lists_it(tmp_path):
  root = make_dir(tmp_path / "mnist")
  (root / "t10k-labels-idx1-ubyte").unlink()
  with pytest.raises(MnistError) as info:
    data.load_idx_dir(root)
  assert "t10k-labels-idx1-ubyte" in str(info.value)
  assert "train-images" not in str(info.value)  # only what is missing


def test_load_idx_dir_count_mismatch(tmp_path):
  root = make_dir(tmp_path / "mnist")
  write(root / "t10k-labels-idx1-ubyte", idx_bytes("labels", small_labels(9)))
  with pytest.raises(MnistError) as info:
    data.load_idx_dir(root)
  message = str(info.value)
  for word in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "10 images", "9 labels"]:
    assert word in message


def test_load_idx_dir_reports_the_bad_file(tmp_path):
  root = make_dir(tmp_path / "mnist")
  write(root / "train-images-idx3-ubyte.gz", b"\x1f\x8b garbage")
  with pytest.raises(MnistError, match="train-images-idx3-ubyte.gz"):
    data.load_idx_dir(root)


@pytest.mark.parametrize("name, words", [
    ("x" * 300, ["File name too long"]),  # Path.is_dir raises OSError here (Python < 3.14)
    ("a\0b", ["embedded null byte"]),
])
def test_load_idx_dir_unusable_path(tmp_path, name, words):
  with pytest.raises(MnistError) as info:
    data.load_idx_dir(str(tmp_path) + "/" + name)
  for word in words + ["--mnist_dir"]:
    assert word in str(info.value)


def test_load_idx_dir_file_instead_of_folder(tmp_path):
  path = write(tmp_path / "not-a-folder", idx_bytes("labels", LABELS))
  with pytest.raises(MnistError, match="not-a-folder is not a folder"):
    data.load_idx_dir(path)
  with pytest.raises(MnistError, match="does not exist"):
    data.load_idx_dir(path / "below-a-file")


def test_read_idx_unusable_paths(tmp_path):
  with pytest.raises(MnistError, match="embedded null byte"):
    data.read_idx(str(tmp_path / "a\0b"), "labels")
  with pytest.raises(MnistError, match="a-folder"):
    (tmp_path / "a-folder").mkdir()
    data.read_idx(tmp_path / "a-folder", "labels")


def test_load_idx_dir_label_out_of_range_names_the_file(tmp_path):
  root = make_dir(tmp_path / "mnist", gz=False)
  labels = small_labels(50)
  labels[17] = 255
  write(root / "train-labels-idx1-ubyte", idx_bytes("labels", labels))
  with pytest.raises(MnistError) as info:
    data.load_idx_dir(root)
  for word in ["train-labels-idx1-ubyte", "0..9", "255", "index 17", "--mnist_dir"]:
    assert word in str(info.value)


# --- fuzzing: bad bytes give MnistError, never anything else ----------------------------------

FUZZ = settings(max_examples=200, deadline=None)
VALID = {"images": idx_bytes("images", small_images(2)),
         "labels": idx_bytes("labels", small_labels(6))}
VALID_GZ = {kind: gzip.compress(raw, mtime=0) for kind, raw in VALID.items()}


@functools.lru_cache(maxsize=1)
def fuzz_dir():
  return Path(tempfile.mkdtemp(prefix="lenet-fuzz-"))


@functools.lru_cache(maxsize=1)
def real_gz_head():
  return (MNIST_DIR / "train-images-idx3-ubyte.gz").read_bytes()[:2000]


def read_bytes(payload, kind):
  """read_idx on payload; returns the array, or None if it raised MnistError."""
  path = fuzz_dir() / "fuzz-idx"
  path.write_bytes(payload)
  try:
    array = data.read_idx(path, kind)
  except MnistError as e:
    assert "fuzz-idx" in str(e)
    return None
  assert array.dtype == np.uint8
  if kind == "images":
    assert array.ndim == 3 and array.shape[1:] == (28, 28)
  else:
    assert array.ndim == 1 and (array.size == 0 or array.max() <= 9)
  return array


kinds = st.sampled_from(["images", "labels"])


@FUZZ
@given(payload=st.binary(max_size=3000), kind=kinds)
def test_fuzz_random_bytes(payload, kind):
  read_bytes(payload, kind)


@FUZZ
@given(payload=st.binary(max_size=200), kind=kinds)
def test_fuzz_random_gzip_payload(payload, kind):
  read_bytes(gzip.compress(payload), kind)


@FUZZ
@given(kind=kinds, gz=st.booleans(), data_=st.data())
def test_fuzz_truncations_always_fail(kind, gz, data_):
  valid = (VALID_GZ if gz else VALID)[kind]
  cut = data_.draw(st.integers(0, len(valid) - 1))
  assert read_bytes(valid[:cut], kind) is None


@FUZZ
@given(kind=kinds, gz=st.booleans(), data_=st.data())
def test_fuzz_byte_flips(kind, gz, data_):
  valid = bytearray((VALID_GZ if gz else VALID)[kind])
  positions = data_.draw(st.lists(st.integers(0, len(valid) - 1), min_size=1, max_size=4))
  for pos in positions:
    valid[pos] ^= data_.draw(st.integers(1, 255))
  read_bytes(bytes(valid), kind)


@FUZZ
@given(data_=st.data())
def test_fuzz_real_gz_head(data_):
  require_mnist()
  head = bytearray(real_gz_head())
  head = head[:data_.draw(st.integers(0, len(head)))]
  for pos in data_.draw(st.lists(st.integers(0, max(len(head) - 1, 0)), max_size=4)):
    if head:
      head[pos] ^= data_.draw(st.integers(1, 255))
  # Any prefix of the 9.9 MB file is incomplete, flipped or not.
  assert read_bytes(bytes(head), "images") is None


# The real files: every truncation fails; flips either fail or load what the bytes say.
REAL_NAMES = sum(data.FILES.values(), ())
REAL_FUZZ = settings(max_examples=40, deadline=None)


@functools.lru_cache(maxsize=1)
def real_files():
  """{name: (gz bytes, raw bytes, kind)} of the four real MNIST files."""
  require_mnist()
  files = {}
  for name in REAL_NAMES:
    gz = (MNIST_DIR / (name + ".gz")).read_bytes()
    files[name] = (gz, gzip.decompress(gz), "images" if "images" in name else "labels")
  return files


def read_named(payload, kind, name):
  """read_idx on payload written as fuzz_dir()/name: the array, or None on MnistError."""
  path = fuzz_dir() / name
  path.write_bytes(payload)
  try:
    return data.read_idx(path, kind)
  except MnistError as e:
    assert name in str(e) and "--mnist_dir" in str(e)
    return None
  finally:
    path.unlink()


def cut_points(n):
  """Anywhere in 0..n, with the header and the last bytes drawn more often."""
  return st.one_of(st.integers(0, min(n, 64)), st.integers(0, n), st.integers(max(n - 64, 0), n))


@pytest.mark.slow
@REAL_FUZZ
@given(name=st.sampled_from(REAL_NAMES), gz=st.booleans(), data_=st.data())
def test_fuzz_real_truncations(name, gz, data_):
  compressed, raw, kind = real_files()[name]
  valid = compressed if gz else raw
  cut = data_.draw(cut_points(len(valid)), label="cut")
  array = read_named(valid[:cut], kind, name + (".gz" if gz else ""))
  if cut < len(valid):
    assert array is None, f"a {cut}-byte prefix of {len(valid)} loaded"
  else:  # the whole file: the right data
    assert array is not None
    np.testing.assert_array_equal(array.reshape(-1), np.frombuffer(raw, np.uint8, offset=len(raw) - array.size))


@REAL_FUZZ
@given(name=st.sampled_from(("t10k-images-idx3-ubyte",) + data.FILES["train"][1:] + data.FILES["test"][1:]),
       data_=st.data())
def test_fuzz_real_raw_byte_flips(name, data_):
  """Flips in a raw file: MnistError, or exactly the original values except where flipped."""
  _, raw, kind = real_files()[name]
  header = data._IDX[kind][1]
  buf = bytearray(raw)
  spots = st.one_of(st.integers(0, header - 1), st.integers(0, len(buf) - 1))
  flipped = set(data_.draw(st.lists(spots, min_size=1, max_size=4), label="positions"))
  for pos in flipped:
    buf[pos] ^= data_.draw(st.integers(1, 255))
  array = read_named(bytes(buf), kind, name)
  if array is None:
    return
  assert not any(pos < header for pos in flipped)  # any header change must be caught
  got = array.reshape(-1)
  want = np.frombuffer(raw, np.uint8, offset=header)
  changed = set((np.flatnonzero(got != want) + header).tolist())
  assert changed <= flipped
  if kind == "labels":
    assert got.max() <= 9


@REAL_FUZZ
@given(name=st.sampled_from(data.FILES["train"][1:] + data.FILES["test"][1:]), data_=st.data())
def test_fuzz_real_gz_byte_flips(name, data_):
  """Flips anywhere in a real gzipped labels file: MnistError, or exactly the real labels (the
  gzip CRC catches changed content; flips of e.g. the timestamp are harmless)."""
  compressed, raw, kind = real_files()[name]
  buf = bytearray(compressed)
  for pos in data_.draw(st.lists(st.integers(0, len(buf) - 1), min_size=1, max_size=4)):
    buf[pos] ^= data_.draw(st.integers(1, 255))
  array = read_named(bytes(buf), kind, name + ".gz")
  if array is not None:
    np.testing.assert_array_equal(array, np.frombuffer(raw, np.uint8, offset=8))


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(name=st.sampled_from(REAL_NAMES), gz=st.booleans(), data_=st.data())
def test_fuzz_real_dir_with_one_truncated_file(name, gz, data_):
  """load_idx_dir on the real folder with one file truncated: MnistError naming that file."""
  compressed, raw, _ = real_files()[name]
  valid = compressed if gz else raw
  cut = data_.draw(cut_points(len(valid) - 1), label="cut")
  root = Path(tempfile.mkdtemp(prefix="lenet-fuzz-dir-", dir=fuzz_dir()))
  try:
    for other in REAL_NAMES:
      if other != name:
        (root / (other + ".gz")).symlink_to(MNIST_DIR / (other + ".gz"))
    bad = root / (name + (".gz" if gz else ""))
    bad.write_bytes(valid[:cut])
    with pytest.raises(MnistError, match=bad.name):
      data.load_idx_dir(root)
  finally:
    for path in root.iterdir():
      path.unlink()
    root.rmdir()


# --- load_mnist: splits and subsets -----------------------------------------------------------


@pytest.fixture
def small_dir(tmp_path):
  return make_dir(tmp_path / "mnist", n_train=60, n_test=10)


def test_load_mnist_all(small_dir):
  m = data.load_mnist(small_dir)
  assert m.train_x.shape == (60, 32, 32, 1) and m.train_x.dtype == np.float32
  assert m.test_x.shape == (10, 32, 32, 1) and m.test_x.dtype == np.float32
  assert m.train_y.dtype == m.test_y.dtype == m.val_y.dtype == np.int32
  assert m.val_x.shape == (0, 32, 32, 1) and m.val_y.shape == (0,)
  np.testing.assert_array_equal(m.train_y, small_labels(60))
  np.testing.assert_array_equal(index_of(m.train_x), np.arange(60))


def test_load_mnist_first(small_dir):
  m = data.load_mnist(small_dir, train_size=7)
  np.testing.assert_array_equal(m.train_y, small_labels(60)[:7])
  np.testing.assert_array_equal(index_of(m.train_x), np.arange(7))
  assert len(m.test_y) == 10  # the test set is never subsampled


def test_load_mnist_random_is_seeded(small_dir):
  a = index_of(data.load_mnist(small_dir, train_size=20, subset="random", seed=1).train_x)
  b = index_of(data.load_mnist(small_dir, train_size=20, subset="random", seed=1).train_x)
  c = index_of(data.load_mnist(small_dir, train_size=20, subset="random", seed=2).train_x)
  assert len(a) == len(set(a)) == 20  # no repeats
  assert np.all(np.diff(a) > 0)  # original order kept
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  assert not np.array_equal(a, np.arange(20))  # not just the first 20


def test_load_mnist_random_labels_follow_images(small_dir):
  m = data.load_mnist(small_dir, train_size=15, subset="random", seed=3)
  np.testing.assert_array_equal(m.train_y, small_labels(60)[index_of(m.train_x)])


def test_load_mnist_validation(small_dir):
  m = data.load_mnist(small_dir, validation=12)
  assert len(m.train_y) == 48 and len(m.val_y) == 12
  np.testing.assert_array_equal(index_of(m.val_x), np.arange(48, 60))  # the last 12
  np.testing.assert_array_equal(m.val_y, small_labels(60)[48:])
  np.testing.assert_array_equal(index_of(m.train_x), np.arange(48))


def test_load_mnist_validation_then_subset(small_dir):
  m = data.load_mnist(small_dir, validation=10, train_size=50)  # all that remains
  np.testing.assert_array_equal(index_of(m.train_x), np.arange(50))
  r = data.load_mnist(small_dir, validation=30, train_size=25, subset="random", seed=0)
  assert len(r.train_y) == 25 and index_of(r.train_x).max() < 30
  np.testing.assert_array_equal(index_of(r.val_x), np.arange(30, 60))


@pytest.mark.parametrize("kwargs, words", [
    (dict(train_size=61), ["61", "60"]),
    (dict(train_size=51, validation=10), ["51", "50", "10"]),
    (dict(train_size=-1), ["-1"]),
    (dict(validation=-5), ["-5"]),
    (dict(validation=60), ["60"]),
    (dict(validation=100), ["100", "60"]),
    (dict(subset="last"), ["last"]),
])
def test_load_mnist_bad_values(small_dir, kwargs, words):
  with pytest.raises(ValueError) as info:  # MnistError is a ValueError too
    data.load_mnist(small_dir, **kwargs)
  for word in words:
    assert word in str(info.value)


def test_load_mnist_real(real):
  del real  # only to require the files
  m = data.load_mnist(MNIST_DIR, train_size=10, validation=1000)
  assert m.train_y.tolist() == TRAIN_FIRST_LABELS
  assert m.train_x.shape == (10, 32, 32, 1)
  assert m.val_x.shape == (1000, 32, 32, 1)
  assert m.test_x.shape == (10000, 32, 32, 1)
  assert m.test_y[:10].tolist() == TEST_FIRST_LABELS


# --- where the data comes from ----------------------------------------------------------------


def forbid_tfds(monkeypatch):
  def fail(*args, **kwargs):
    raise AssertionError("tfds must not be used when an IDX folder is given")
  monkeypatch.setattr(data, "load_tfds", fail)


def test_env_var_is_used(small_dir, monkeypatch):
  forbid_tfds(monkeypatch)
  monkeypatch.setenv(data.ENV_VAR, str(small_dir))
  assert len(data.load_mnist().train_y) == 60


def test_explicit_dir_beats_env_var(small_dir, tmp_path, monkeypatch):
  forbid_tfds(monkeypatch)
  monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "not-there"))
  assert len(data.load_mnist(small_dir).train_y) == 60


def test_bad_env_var_dir_is_reported(tmp_path, monkeypatch):
  forbid_tfds(monkeypatch)
  monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "not-there"))
  with pytest.raises(MnistError, match="not-there"):
    data.load_mnist()


def test_tfds_used_when_named(monkeypatch):
  monkeypatch.delenv(data.ENV_VAR, raising=False)
  fake = {"train": (small_images(20), small_labels(20)),
          "test": (small_images(5), small_labels(5))}
  monkeypatch.setattr(data, "load_tfds", lambda: fake)
  m = data.load_mnist(data.TFDS, validation=4)
  assert len(m.train_y) == 16 and len(m.val_y) == 4 and len(m.test_y) == 5


def test_repository_copy_is_the_default(monkeypatch):
  # A fresh clone trains with no flag and no network: the files in lenet_jax/mnist.
  forbid_tfds(monkeypatch)
  monkeypatch.delenv(data.ENV_VAR, raising=False)
  m = data.load_mnist(train_size=10)
  assert m.test_x.shape == (10000, 32, 32, 1) and m.test_y[:10].tolist() == TEST_FIRST_LABELS


def test_repository_copy_is_mnist():
  # The class counts of MNIST's two splits as its authors' page and every MNIST loader give them,
  # typed here independently of the files.
  train = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
  test = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
  splits = data.load_idx_dir(data.REPO_DIR)
  assert np.bincount(splits["train"][1]).tolist() == train
  assert np.bincount(splits["test"][1]).tolist() == test
  assert splits["train"][0].shape == (60000, 28, 28)


def test_damaged_file_is_one_error_naming_it(tmp_path):
  import shutil
  copy = tmp_path / "mnist"
  shutil.copytree(data.REPO_DIR, copy)
  raw = bytearray((copy / "t10k-labels-idx1-ubyte.gz").read_bytes())
  raw[100] ^= 1
  (copy / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(raw))
  with pytest.raises(MnistError) as info:
    data.load_mnist(copy)
  message = str(info.value)
  for word in ["t10k-labels-idx1-ubyte.gz", "SHA-256", "SHA256SUMS", "damaged"]:
    assert word in message, (word, message)


# --- tfds, mocked: never touches the network ---------------------------------------------------

@pytest.fixture(scope="module")
def tfds():
  return pytest.importorskip("tensorflow_datasets")


def check_tfds_splits(splits, n):
  assert set(splits) == {"train", "test"}
  for images, labels in splits.values():
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    assert labels.max() <= 9
    assert images.max() > 0  # the mock draws random pixels, not zeros
    x = data.preprocess(images)
    assert x.shape == (n, 32, 32, 1) and x.dtype == np.float32
    assert x.min() >= -0.1 - 1e-6 and x.max() <= 1.175 + 1e-6


def test_load_tfds_mocked(tfds, tmp_path):
  with tfds.testing.mock_data(num_examples=12):
    splits = data.load_tfds(tmp_path / "tfds")
  check_tfds_splits(splits, 12)


def test_load_mnist_through_mocked_tfds(tfds, monkeypatch):
  monkeypatch.delenv(data.ENV_VAR, raising=False)
  with tfds.testing.mock_data(num_examples=9):
    m = data.load_mnist(data.TFDS, validation=3, train_size=4)
  assert m.train_x.shape == (4, 32, 32, 1) and m.val_x.shape == (3, 32, 32, 1)
  assert m.test_x.shape == (9, 32, 32, 1) and m.test_y.dtype == np.int32


@pytest.mark.slow
def test_load_tfds_tfrecord_fallback(tfds, monkeypatch, tmp_path):
  # A data_dir already holding TFRecord MNIST makes data_source raise NotImplementedError.
  def no_random_access(*args, **kwargs):
    raise NotImplementedError("Random access data source for file format tfrecord")
  monkeypatch.setattr(tfds, "data_source", no_random_access)
  with tfds.testing.mock_data(num_examples=5):
    splits = data.load_tfds(tmp_path / "tfds")
  check_tfds_splits(splits, 5)


def test_load_tfds_failure_is_mnist_error(tfds, monkeypatch):
  def offline(*args, **kwargs):
    raise ConnectionError("no internet")
  monkeypatch.setattr(tfds, "data_source", offline)
  with pytest.raises(MnistError) as info:
    data.load_tfds()
  message = str(info.value)
  for word in ["tfds", "no internet", "--mnist_dir", data.ENV_VAR]:
    assert word in message


# --- bounded reads: the header says how many bytes follow (issue 18, point 5) ------------------

BOMB_BYTES = 256 << 20   # what the bombs below expand to
READ_LIMIT = 32 << 20    # the most a read of them may hold at once


def gzip_bomb(head: bytes, zeros: int = BOMB_BYTES) -> bytes:
  """A valid gzip stream of `head` followed by `zeros` zero bytes, ~1,000 times smaller than
  that: one 16 MiB member of zeros, repeated (gzip allows several members)."""
  piece = 16 << 20
  member = gzip.compress(bytes(piece), compresslevel=9)
  return gzip.compress(head) + member * (zeros // piece)


def peak_bytes(fn):
  """(fn's exception or result, the most memory Python held at once while it ran)."""
  tracemalloc.start()
  try:
    try:
      outcome = fn()
    except Exception as e:  # pylint: disable=broad-except
      outcome = e
    return outcome, tracemalloc.get_traced_memory()[1]
  finally:
    tracemalloc.stop()


@pytest.mark.parametrize("kind, array", [("labels", small_labels(10)),
                                         ("images", small_images(10))])
def test_gzip_bomb_is_refused_without_expanding_it(tmp_path, kind, array):
  path = write(tmp_path / "bomb-idx.gz", gzip_bomb(idx_bytes(kind, array)))
  assert path.stat().st_size < BOMB_BYTES // 500
  error, peak = peak_bytes(lambda: data.read_idx(path, kind))
  assert isinstance(error, MnistError), error
  message = str(error)
  for word in ["bomb-idx.gz", "header says 10", "trailing", "--mnist_dir"]:
    assert word in message, (word, message)
  assert peak < READ_LIMIT, f"held {peak >> 20} MiB at once reading a {BOMB_BYTES >> 20} MiB bomb"


def test_oversized_raw_file_is_refused_without_reading_it(tmp_path):
  path = tmp_path / "huge-idx"
  path.write_bytes(idx_bytes("labels", small_labels(10)))
  os.truncate(path, BOMB_BYTES)   # sparse: costs no disk
  error, peak = peak_bytes(lambda: data.read_idx(path, "labels"))
  assert isinstance(error, MnistError), error
  message = str(error)
  for word in ["huge-idx", "10 payload bytes", str(BOMB_BYTES - 8), "trailing", "--mnist_dir"]:
    assert word in message, (word, message)
  assert peak < READ_LIMIT, f"held {peak >> 20} MiB at once for a {BOMB_BYTES >> 20} MiB file"


def test_real_files_read_in_pieces_hold_little_more_than_the_payload(real):
  # 47,040,000 payload bytes: the bounded reader holds the pieces and their join, then the array.
  path = MNIST_DIR / "train-images-idx3-ubyte.gz"
  images, peak = peak_bytes(lambda: data.read_idx(path, "images"))
  np.testing.assert_array_equal(images, real["train"][0])
  assert peak < 4 * images.nbytes


# --- no network: fail within seconds, naming --mnist_dir (issue 18, point 11) -----------------


def offline_env(tmp_path):
  """The environment of a machine without network: every HTTP(S) request goes to a proxy on a
  closed local port (refused at once), whether or not this machine has a network; tfds's data
  dir is empty; no LENET_MNIST_DIR."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{s.getsockname()[1]}"
  env = {k: v for k, v in os.environ.items()
         if k.lower() not in ("no_proxy", "http_proxy", "https_proxy", "all_proxy")
         and k != data.ENV_VAR}
  for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    env[name] = closed
  (tmp_path / "tfds").mkdir()
  env["TFDS_DATA_DIR"] = str(tmp_path / "tfds")
  return env


def test_load_tfds_without_network_fails_within_seconds(tmp_path):
  pytest.importorskip("tensorflow_datasets")
  code = ("from lenet_jax import data\n"
          "try:\n  data.load_mnist(data.TFDS)\n"
          "except data.MnistError as e:\n  print(e)\n  raise SystemExit(3)\n")
  start = time.monotonic()
  try:
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=offline_env(tmp_path),
                       capture_output=True, text=True, timeout=90)
  except subprocess.TimeoutExpired:
    pytest.fail("load_mnist without a network was still retrying the download after 90 s")
  seconds = time.monotonic() - start
  assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
  assert seconds < 20, f"took {seconds:.0f} s to report that there is no network"
  for word in ["--mnist_dir", data.ENV_VAR, "cannot be downloaded", "storage.googleapis.com"]:
    assert word in r.stdout, (word, r.stdout)
  assert "Traceback" not in r.stderr, r.stderr
  assert not list((tmp_path / "tfds").iterdir()), "nothing is left in tfds's data dir"


def test_prepared_tfds_mnist_needs_no_network(tfds, monkeypatch, tmp_path):
  import requests
  def no_network(*args, **kwargs):
    raise AssertionError("MNIST is prepared: no request may be made")
  monkeypatch.setattr(requests, "head", no_network)
  monkeypatch.setattr(requests.Session, "request", no_network)
  with tfds.testing.mock_data(num_examples=6):
    splits = data.load_tfds(tmp_path / "tfds")
  check_tfds_splits(splits, 6)


@pytest.mark.parametrize("split", ["train", "test"])
def test_split_without_images_is_refused_naming_the_file(tmp_path, split):
  # Valid IDX files of 0 images: a run would otherwise fail (a division by 0 test images) only
  # after training, its workdir made (issue 18, point 1).
  root = make_dir(tmp_path / "mnist", gz=False, **{f"n_{split}": 0})
  with pytest.raises(MnistError) as info:
    data.load_idx_dir(root)
  message = str(info.value)
  for word in [data.FILES[split][0], "no images", "--mnist_dir"]:
    assert word in message, (word, message)
