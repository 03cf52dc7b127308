"""Random affine distortions against hand-computed warps."""
import pytest
import jax
import jax.numpy as jnp
import numpy as np

from lenet_jax import distort


def test_identity_leaves_the_image_alone():
  img = np.random.default_rng(0).normal(size=(8, 8, 1)).astype(np.float32)
  out = distort.affine(jnp.asarray(img), jnp.eye(2), jnp.zeros(2), -0.1)
  np.testing.assert_allclose(np.asarray(out), img, atol=1e-6)


def test_integer_shift_moves_pixels_and_fills_background():
  img = np.arange(25, dtype=np.float32).reshape(5, 5, 1)
  out = np.asarray(distort.affine(jnp.asarray(img), jnp.eye(2), jnp.array([1.0, 2.0]), -0.1))
  want = np.full_like(img, -0.1)
  want[1:, 2:] = img[:-1, :-2]     # content moves down 1 row and right 2 columns
  np.testing.assert_allclose(out, want, atol=1e-6)


def test_half_pixel_shift_is_the_mean_of_neighbours():
  img = np.zeros((4, 4, 1), np.float32)
  img[:, 1] = 1.0
  out = np.asarray(distort.affine(jnp.asarray(img), jnp.eye(2), jnp.array([0.0, 0.5]), 0.0))
  np.testing.assert_allclose(out[:, 1, 0], 0.5, atol=1e-6)
  np.testing.assert_allclose(out[:, 2, 0], 0.5, atol=1e-6)
  np.testing.assert_allclose(out[:, 0, 0], 0.0, atol=1e-6)


@pytest.mark.slow
def test_random_affine_is_pure_jittable_and_stays_in_range():
  img = jnp.asarray(np.random.default_rng(1).uniform(-0.1, 1.175, size=(6, 32, 32, 1)),
                    jnp.float32)
  f = jax.jit(distort.distort_batch)
  a, b = f(jax.random.PRNGKey(0), img), f(jax.random.PRNGKey(0), img)
  c = f(jax.random.PRNGKey(1), img)
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert np.abs(np.asarray(a) - np.asarray(c)).max() > 0.1
  # Bilinear samples are convex combinations of pixels and the background.
  assert float(a.min()) >= -0.1 - 1e-5 and float(a.max()) <= 1.175 + 1e-5
  # Each image of the batch gets its own transform.
  same = distort.distort_batch(jax.random.PRNGKey(0), jnp.repeat(img[:1], 2, axis=0))
  assert np.abs(np.asarray(same[0]) - np.asarray(same[1])).max() > 0.1


@pytest.mark.slow
def test_zero_ranges_give_the_identity():
  img = jnp.asarray(np.random.default_rng(2).normal(size=(3, 10, 10, 1)), jnp.float32)
  out = distort.distort_batch(jax.random.PRNGKey(3), img, max_shift=0.0, max_scale=0.0,
                              max_squeeze=0.0, max_shear=0.0)
  np.testing.assert_allclose(np.asarray(out), np.asarray(img), atol=1e-5)


@pytest.mark.slow
def test_training_with_distortions_runs_and_changes_the_run(mnist_dir, tmp_path):
  import experiments
  from lenet_jax import train
  def run(name, **kw):
    c = experiments.load(name).get_config()
    c.mnist_dir, c.train_size, c.epochs, c.sdlm_samples = mnist_dir, 300, 1, 100
    return train.train_and_evaluate(c, str(tmp_path / name), progress=False)
  plain, distorted = run("c3_partial"), run("distortions")
  assert distorted["config"]["distort"] is True
  assert np.isfinite(distorted["final_test_error"])
  assert distorted["passes"][0]["train_loss_online"] != plain["passes"][0]["train_loss_online"]
