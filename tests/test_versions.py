"""MNIST versions (deslanted, 16x16, permuted) against hand-made images and hand-computed
pixels; the slant of a result is measured here from its raw second moments, not by the module."""
import subprocess
import sys

import numpy as np
import pytest

from lenet_jax import data, versions

INK = 255


def blank(n=1):
  return np.zeros((n, 28, 28), np.uint8)


def slant(image, threshold=128):
  """mu11 / mu02 of the pixels >= threshold: columns the principal axis moves per row down."""
  rows, cols = np.nonzero(image >= threshold)
  rows, cols = rows - rows.mean(), cols - cols.mean()
  return float((rows * cols).sum() / (rows * rows).sum())


def row_centres(image):
  """The grey-weighted mean column of each row that holds ink."""
  cols = np.arange(image.shape[1])
  weights = image.astype(float)
  has = weights.sum(axis=1) > 0
  return (weights[has] * cols).sum(axis=1) / weights[has].sum(axis=1)


def thick_line(start, end, half_width=1.5):
  """A binary bar of ink through (row, col) start and end, `half_width` columns either side."""
  img = blank()
  (r0, c0), (r1, c1) = start, end
  for r in range(r0, r1 + 1):
    centre = c0 + (c1 - c0) * (r - r0) / (r1 - r0)
    cols = np.arange(28)
    img[0, r, np.abs(cols - centre) <= half_width] = INK
  return img


@pytest.fixture(scope="module")
def mnist_train():
  return data.load_idx_dir(data.REPO_DIR)["train"][0]


# deslant

def test_diagonal_pixels_become_a_column_whichever_way_they_lean():
  # Ink at (10, 12), (11, 13), (12, 14): mu11 = mu02 = 2, slant 1, pivot row 11, so rows 10 and
  # 12 move one column right and left onto column 13. The sheared ink's centre of mass is
  # (11.5, 13.5): the crop's top is round(11.5 - 10) = 2 and its left round(13.5 - 10) = 4.
  want = np.zeros((1, 20, 20), np.uint8)
  want[0, 8:11, 9] = INK
  for cols in ((12, 13, 14), (14, 13, 12)):
    img = blank()
    img[0, [10, 11, 12], cols] = INK
    np.testing.assert_array_equal(versions.deslant(img), want)


def test_half_pixel_shifts_interpolate_the_grey_values():
  # Ink at (10, 12) and (12, 13): mu02 = 2, mu11 = 1, slant 1/2 about row 11. Row 10 moves half
  # a column right, row 12 half a column left: each spreads over columns 12 and 13 at 127.5,
  # rounded to 128. Centre of mass (11.5, 13): crop top 2, left round(13 - 10) = 3.
  img = blank()
  img[0, 10, 12] = img[0, 12, 13] = INK
  want = np.zeros((1, 20, 20), np.uint8)
  want[0, [8, 8, 10, 10], [9, 10, 9, 10]] = 128
  np.testing.assert_array_equal(versions.deslant(img), want)


def test_the_crop_holds_the_sheared_ink():
  # Row 11 holds ink at columns 13..26 and rows 10 and 12 one pixel each at columns 5 and 21:
  # the row mean is 11, mu02 = 2, mu11 = (-1)(5 - m) + (1)(21 - m) = 16, slant 8, so the two
  # pixels move onto column 13. The centre column, (14 x 20 + 2 x 13.5) / 16 = 19.19 (the
  # shear keeps it where it was), puts the crop's left at round(9.19) = 9, clipped to 8.
  img = blank()
  img[0, 11, 13:27] = INK
  img[0, 10, 5] = img[0, 12, 21] = INK
  want = np.zeros((1, 20, 20), np.uint8)   # crop top: round(11.5 - 10) = 2
  want[0, 9, 5:19] = INK
  want[0, [8, 10], 5] = INK
  np.testing.assert_array_equal(versions.deslant(img), want)


def test_the_crop_is_centred_on_the_grey_centre_of_mass_not_the_ink_box():
  # An upright bar, rows 4..23 at columns 12..13 (255), with a faint tail (40, below the
  # threshold) along row 13 at columns 14..27. Nothing leans, so nothing is sheared. Bar mass
  # 40 x 255 = 10,200 at column 12.5, row 13.5; tail 14 x 40 = 560 at column 20.5, row 13.
  # Centre (pixel i spans [i, i + 1)): column (10,200 x 12.5 + 560 x 20.5) / 10,760 + 0.5 =
  # 13.416, row (10,200 x 13.5 + 560 x 13) / 10,760 + 0.5 = 13.974: left round(3.416) = 3, top
  # round(3.974) = 4. The ink box (columns 12..27) would put the crop at columns 8..27.
  img = blank()
  img[0, 4:24, 12:14] = INK
  img[0, 13, 14:28] = 40
  np.testing.assert_array_equal(versions.deslant(img), img[:, 4:24, 3:23])


def test_a_crop_between_two_positions_takes_the_lower_right_one():
  # A single pixel at (12, 14) has its centre of mass at 12.5, 14.5: the window's top and left are
  # 2.5 and 4.5, rounded half up to 3 and 5, not to the even 2 and 4.
  img = blank()
  img[0, 12, 14] = INK
  want = np.zeros((1, 20, 20), np.uint8)
  want[0, 9, 9] = INK
  np.testing.assert_array_equal(versions.deslant(img), want)


@pytest.mark.parametrize("start,end", [((4, 10), (23, 17)), ((4, 17), (23, 10))],
                         ids=["leaning-right", "leaning-left"])
def test_a_slanted_bar_comes_out_vertical(start, end):
  img = thick_line(start, end)
  assert abs(slant(img[0])) > 0.3   # the bar really leans 7 columns over 19 rows
  out = versions.deslant(img)[0]
  centres = row_centres(out)
  assert len(centres) == 20
  assert centres.max() - centres.min() <= 1.0
  assert abs(slant(out)) < 0.05
  # A constant shift per row moves a row's ink without changing its sum, up to rounding.
  np.testing.assert_allclose(out.sum(axis=1), img[0, 4:24].sum(axis=1), atol=28 * 0.5)


def test_a_vertical_bar_is_only_cropped():
  # Centre of mass row 12, column (90 x 17.5 + 255 x (18.5 + 19.5 + 20.5)) / 855 = 19.29: crop
  # top round(12 - 10) = 2, left round(9.29) = 9 clipped to 8, the last window that fits.
  img = blank()
  img[0, 2:22, 18:21] = INK
  img[0, 2:22, 17] = 90   # a grey edge, which the shear's interpolation must leave alone
  np.testing.assert_array_equal(versions.deslant(img), img[:, 2:22, 8:28])


def test_a_centred_symmetric_blob_is_only_cropped():
  r, c = np.mgrid[:28, :28]
  distance = np.hypot(r - 13.5, c - 13.5)
  img = np.clip(255 * (7.0 - distance) / 3.0, 0, 255).astype(np.uint8)[None]
  assert (img >= 128).sum() > 50
  np.testing.assert_array_equal(versions.deslant(img), img[:, 4:24, 4:24])


def test_a_horizontal_line_has_no_slant_to_remove():
  # The foreground spans one row, so mu02 = 0 and nothing is sheared.
  img = blank()
  img[0, 13, 5:23] = INK
  img[0, 12, 9] = 60   # faint, below the threshold
  np.testing.assert_array_equal(versions.deslant(img), img[:, 3:23, 4:24])


def test_images_without_foreground_pass_through_cropped():
  faint = blank()
  faint[0, 10:16, 10:18] = 100   # below the threshold; centre of mass (13, 14): top 3, left 4
  np.testing.assert_array_equal(versions.deslant(faint), faint[:, 3:23, 4:24])
  np.testing.assert_array_equal(versions.deslant(blank()), np.zeros((1, 20, 20), np.uint8))


def test_deslant_treats_each_image_of_a_batch_on_its_own(monkeypatch):
  monkeypatch.setattr(versions, "_CHUNK", 2)   # the batch crosses a chunk boundary
  leaning, upright = blank(), blank()
  leaning[0, [10, 11, 12], [12, 13, 14]] = INK
  upright[0, 4:24, 12:16] = INK
  out = versions.deslant(np.concatenate([upright, leaning, upright]))
  want_leaning = np.zeros((20, 20), np.uint8)
  want_leaning[8:11, 9] = INK
  assert out.shape == (3, 20, 20) and out.dtype == np.uint8
  np.testing.assert_array_equal(out[1], want_leaning)
  np.testing.assert_array_equal(out[[0, 2]], upright[[0, 0], 4:24, 4:24])


def test_deslant_of_no_images_is_empty():
  out = versions.deslant(np.zeros((0, 28, 28), np.uint8))
  assert out.shape == (0, 20, 20) and out.dtype == np.uint8


def test_deslant_removes_most_of_mnist_slant(mnist_train):
  images = mnist_train[:1000]
  out = versions.deslant(images)
  before = np.mean([abs(slant(im)) for im in images])
  after = np.mean([abs(slant(im)) for im in out])
  assert before > 0.15   # MNIST digits do lean
  assert after < 0.1 * before
  # The shear moves ink without losing it; the centre-of-mass crop cuts the edges of digits
  # wider than 20 pixels or off-centre in their box, about 2.5% of the ink on average.
  kept = out.reshape(1000, -1).sum(axis=1) / images.reshape(1000, -1).sum(axis=1)
  assert kept.mean() > 0.96


# deslant_fit

def test_deslant_fit_stretches_the_ink_box_to_fill_20x20():
  # An upright 10 x 4 block: nothing leans; each of its pixels becomes a 2 x 5 patch.
  img = blank()
  img[0, 6:16, 10:14] = INK
  np.testing.assert_array_equal(versions.deslant_fit(img), np.full((1, 20, 20), INK))


def test_deslant_fit_scales_each_side_on_its_own():
  # Rows 4..23 (20: kept), columns 10..19 (10: doubled). The foreground (>= 128) is columns
  # 10..14, symmetric, so nothing is sheared; the box (grey > 0) includes the faint 15..19.
  img = blank()
  img[0, 4:24, 10:15] = INK
  img[0, 4:24, 15:20] = 100
  want = np.zeros((1, 20, 20), np.uint8)
  want[0, :, :10] = INK
  want[0, :, 10:] = 100
  np.testing.assert_array_equal(versions.deslant_fit(img), want)


def test_deslant_fit_of_a_slanted_bar_is_upright_and_fills_every_row():
  out = versions.deslant_fit(thick_line((4, 10), (23, 17)))[0]
  assert abs(slant(out)) < 0.05        # scaling rows and columns apart keeps mu11 at zero
  assert (out >= 128).any(axis=1).all()
  np.testing.assert_array_equal(versions.deslant_fit(blank()), np.zeros((1, 20, 20), np.uint8))


# reduce16

def test_the_20x20_box_becomes_the_central_16x16():
  img = blank()
  img[0, 4:24, 4:24] = INK
  want = blank()
  want[0, 6:22, 6:22] = INK
  np.testing.assert_array_equal(versions.reduce16(img), want)


def test_a_16x16_block_shrinks_to_12_8_pixels_centred():
  # The block's box is 16 wide, inside a 20-wide square at 4..23 where it covers [2, 18).
  # Output pixel j averages [1.25 j, 1.25 j + 1.25): pixels 1 and 14 are 0.4 covered, 2..13
  # fully, so the profile is 0.4, 1 (x12), 0.4 at rows and columns 7..20.
  img = blank()
  img[0, 6:22, 6:22] = INK
  profile = np.zeros(28)
  profile[7], profile[8:20], profile[20] = 0.4, 1.0, 0.4
  want = np.rint(INK * np.outer(profile, profile)).astype(np.uint8)
  np.testing.assert_array_equal(versions.reduce16(img)[0], want)


def test_reduction_keeps_the_aspect_ratio():
  # 20 rows by 10 columns becomes 16 by 8: the columns [9, 19) sit at [5, 15) of the square at
  # 4..23 and land on [4, 12) of the 16, columns 10..17 of the field.
  img = blank()
  img[0, 4:24, 9:19] = INK
  want = blank()
  want[0, 6:22, 10:18] = INK
  np.testing.assert_array_equal(versions.reduce16(img), want)


def test_ink_larger_than_the_box_is_fitted_whole():
  img = np.full((1, 28, 28), INK, np.uint8)
  want = blank()
  want[0, 6:22, 6:22] = INK
  np.testing.assert_array_equal(versions.reduce16(img), want)


def test_an_off_centre_digit_is_moved_to_the_centre():
  img = blank()
  img[0, 1:9, 15:27] = INK          # 8 by 12, in the top right corner
  img[0, 3:5, 17:19] = 0            # a hole, so it is not just a block
  out = versions.reduce16(img)[0]
  r, c = np.mgrid[:28, :28]
  mass = out.astype(float)
  assert abs((mass * r).sum() / mass.sum() - 13.5) < 1.0
  assert abs((mass * c).sum() / mass.sum() - 13.5) < 1.0


def test_a_blank_image_stays_blank():
  out = versions.reduce16(blank(2))
  assert out.shape == (2, 28, 28) and out.dtype == np.uint8 and not out.any()


def test_mnist_reduced_sits_in_the_central_16x16_with_its_ink_scaled(mnist_train):
  images = mnist_train[:1000]
  out = versions.reduce16(images)
  assert out.shape == (1000, 28, 28) and out.dtype == np.uint8
  outside = out.copy()
  outside[:, 6:22, 6:22] = 0
  assert not outside.any()
  # Area averaging from 20 to 16 pixels a side keeps the mean grey: total ink * (16/20)^2.
  ratio = out.reshape(1000, -1).sum(axis=1) / images.reshape(1000, -1).sum(axis=1)
  np.testing.assert_allclose(ratio, 0.64, atol=0.01)


# permutation

def test_pixel_permutation_is_a_seeded_bijection():
  p = versions.pixel_permutation(0)
  assert p.shape == (784,) and np.issubdtype(p.dtype, np.integer)
  np.testing.assert_array_equal(np.sort(p), np.arange(784))
  np.testing.assert_array_equal(versions.pixel_permutation(0), p)
  assert (versions.pixel_permutation(1) != p).sum() > 700
  assert (p != np.arange(784)).sum() > 700


def test_permute_moves_a_pixel_to_where_the_permutation_says():
  p = versions.pixel_permutation(5)
  # Two different image sets, each with ink at flat pixel 300 (row 10, column 20).
  train, test = blank(3), blank(2)
  train[1, 10, 20] = test[0, 10, 20] = INK
  train[2, 0, 0] = 7
  want = np.flatnonzero(p == 300)[0]
  for images, n in ((train, 1), (test, 0)):
    out = versions.permute(images, p)
    assert np.flatnonzero(out[n]).tolist() == [want]
  # Pixel k of the result is pixel p[k] of the input, checked one pixel at a time.
  images = np.random.default_rng(0).integers(0, 256, (2, 28, 28), dtype=np.uint8)
  out = versions.permute(images, p).reshape(2, 784)
  flat = images.reshape(2, 784)
  for k in range(0, 784, 37):
    assert (out[:, k] == flat[:, p[k]]).all()


def test_permute_then_its_inverse_is_the_identity_and_keeps_pixel_values():
  p = versions.pixel_permutation(11)
  images = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
  out = versions.permute(images, p)
  assert out.shape == images.shape and out.dtype == images.dtype
  assert (out != images).any()
  np.testing.assert_array_equal(np.sort(out.reshape(4, -1)), np.sort(images.reshape(4, -1)))
  np.testing.assert_array_equal(versions.permute(out, np.argsort(p)), images)


@pytest.mark.parametrize("permutation,match", [
    (np.arange(783), "shape"),
    (np.arange(784).astype(float), "integers"),
    (np.r_[np.arange(783), 0], "exactly once"),
    (np.arange(1, 785), "exactly once"),
])
def test_permute_refuses_what_is_not_a_permutation(permutation, match):
  with pytest.raises(ValueError, match=match):
    versions.permute(blank(), permutation)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_pixel_permutation_refuses_bad_seeds(seed):
  with pytest.raises(ValueError, match="seed"):
    versions.pixel_permutation(seed)


# apply and validation

def test_versions_are_the_three_of_the_paper():
  assert versions.VERSIONS == ("regular", "deslant", "deslant_fit", "16x16")


def test_apply_gives_each_version():
  img = blank()
  img[0, 4:24, 4:24] = INK
  regular = versions.apply("regular", img)
  np.testing.assert_array_equal(regular, img)
  assert regular is not img
  reduced = blank()
  reduced[0, 6:22, 6:22] = INK
  np.testing.assert_array_equal(versions.apply("16x16", img), reduced)
  np.testing.assert_array_equal(versions.apply("deslant", img), img[:, 4:24, 4:24])


def test_apply_permutes_the_28x28_versions():
  p = versions.pixel_permutation(2)
  img = blank()
  img[0, 4:24, 4:24] = INK
  central = np.zeros((28, 28), bool)
  central[6:22, 6:22] = True
  out = versions.apply("16x16", img, p)
  np.testing.assert_array_equal(out[0].ravel() == INK, central.ravel()[p])
  out = versions.apply("regular", img, p)
  np.testing.assert_array_equal(out[0].ravel(), img[0].ravel()[p])


def test_apply_refuses_a_permutation_for_deslant_and_unknown_versions():
  for version in ("deslant", "deslant_fit"):
    with pytest.raises(ValueError, match=f"28x28 versions.*'{version}' gives 20x20"):
      versions.apply(version, blank(), versions.pixel_permutation(0))
  with pytest.raises(ValueError, match="unknown version 'deskew'.*regular"):
    versions.apply("deskew", blank())


@pytest.mark.parametrize("fn", [versions.deslant, versions.deslant_fit, versions.reduce16,
                                lambda x: versions.apply("regular", x)])
def test_images_must_be_uint8_batches_of_28x28(fn):
  with pytest.raises(ValueError, match="uint8.*raw MNIST"):
    fn(np.zeros((1, 28, 28), np.float32))
  with pytest.raises(ValueError, match=r"shape \(N, 28, 28\).*image\[None\]"):
    fn(np.zeros((28, 28), np.uint8))
  with pytest.raises(ValueError, match="shape"):
    fn(np.zeros((1, 32, 32), np.uint8))


def test_versions_needs_no_jax():
  # Classifiers outside JAX (k-NN, linear) use these images too.
  code = ("import sys, lenet_jax.versions; "
          "print(sorted(m for m in ('jax', 'flax', 'optax') if m in sys.modules))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "[]"
