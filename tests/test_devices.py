"""The XLA flags launch.py sets before JAX's backend starts (lenet_jax.devices)."""
import pytest
import os

from lenet_jax import devices


def test_split_host_adds_one_device_per_core_unless_set(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
  devices.split_host(cores=3)
  assert os.environ["XLA_FLAGS"].split() == [
      "--xla_cpu_enable_fast_math=false", "--xla_force_host_platform_device_count=3"]
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
  devices.split_host(cores=3)
  assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=4"


def test_large_batch_flags_turn_off_ynn_fusions_unless_set(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "")   # (delenv of an unset variable would not be undone)
  devices.large_batch_flags()
  assert os.environ["XLA_FLAGS"] == "--xla_cpu_experimental_ynn_fusion_type="
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=dot")
  devices.large_batch_flags()
  assert os.environ["XLA_FLAGS"] == "--xla_cpu_experimental_ynn_fusion_type=dot"


def test_cpu_flags_turn_on_region_analysis_unless_set(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
  devices.cpu_flags()
  assert os.environ["XLA_FLAGS"].split() == [
      "--xla_force_host_platform_device_count=2",
      "--xla_cpu_copy_insertion_use_region_analysis=true"]
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_copy_insertion_use_region_analysis=false")
  devices.cpu_flags()
  assert os.environ["XLA_FLAGS"] == "--xla_cpu_copy_insertion_use_region_analysis=false"


@pytest.mark.slow
def test_region_analysis_removes_the_weight_copies_from_the_training_loop():
  # Why cpu_flags sets it: without it XLA copies C5's 48,000 weights (and F6's) every step of
  # the batch-1 loop before updating them; with it the update is in place.
  import functools
  import re
  import jax
  import jax.numpy as jnp
  from lenet_jax import step
  from lenet_jax.config import paper_config
  c = paper_config()
  c.batch_size = 1
  recipe = step.make_recipe(c, 100)
  state = step.init(recipe, 0)
  x, y = jnp.zeros((100, 32, 32, 1)), jnp.zeros((100,), jnp.int32)
  idx = jnp.zeros((10, 1), jnp.int32)

  def copied(region):
    fn = jax.jit(functools.partial(step.train_steps, recipe), donate_argnums=0)
    text = fn.lower(state, x, y, idx, 10).compile(
        compiler_options={"xla_cpu_copy_insertion_use_region_analysis": region}).as_text()
    # Copies in the compiled module (the loop-carried weights' and those inside fusions).
    return re.findall(r"^  %copy[.\d]* = (f32\[[\d,]+\])", text, re.M)
  assert "f32[5,5,16,120]" in copied(False)
  assert "f32[5,5,16,120]" not in copied(True)


def test_accelerator_expected_from_jax_platforms_or_installed_plugins(monkeypatch):
  monkeypatch.setenv("JAX_PLATFORMS", "cuda")
  assert devices.accelerator_expected()
  monkeypatch.setenv("JAX_PLATFORMS", "tpu,cpu")
  assert devices.accelerator_expected()
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  assert not devices.accelerator_expected()
  monkeypatch.delenv("JAX_PLATFORMS")
  import importlib.util
  real = importlib.util.find_spec
  monkeypatch.setattr(importlib.util, "find_spec",
                      lambda m: object() if m == "jax_cuda12_plugin" else real(m))
  assert devices.accelerator_expected()
  monkeypatch.setattr(importlib.util, "find_spec", lambda m: None)
  assert not devices.accelerator_expected()


@pytest.mark.parametrize("platforms, plugins, device_files, words", [
    ("", (), (), None),
    ("cpu", (), (), None),
    ("cuda,cpu", (), (), None),   # JAX falls back to the CPU
    ("metal", (), (), None),      # a name this does not know: JAX's to judge
    ("cuda", ("jax_cuda12_plugin",), ("/dev/nvidiactl",), None),
    ("gpu", ("jax_rocm7_plugin",), ("/dev/kfd",), None),
    ("tpu", ("libtpu",), (), None),
    ("cuda", (), (), ["JAX_PLATFORMS=cuda: no cuda plugin is installed (jax[cuda12]);"]),
    # The plugin without a GPU: JAX skips cuda and fails on a bare AssertionError.
    ("cuda", ("jax_cuda12_plugin",), (), ["no cuda device is visible", "/dev/nvidia0"]),
    ("gpu", (), (), ["no cuda plugin", "and no rocm plugin", "jax[cuda12] or jax[rocm]"]),
    ("tpu", (), (), ["JAX_PLATFORMS=tpu", "jax[tpu]"]),
])
def test_check_platforms_refuses_only_platforms_that_cannot_start(monkeypatch, platforms,
                                                                   plugins, device_files, words):
  monkeypatch.setenv("JAX_PLATFORMS", platforms)
  monkeypatch.setattr(devices, "_installed", lambda m: m in plugins)
  monkeypatch.setattr(devices, "_visible", lambda p: p in device_files)
  if words is None:
    devices.check_platforms()
    return
  with pytest.raises(ValueError) as info:
    devices.check_platforms()
  line = str(info.value)
  assert "\n" not in line and "unset JAX_PLATFORMS (or set it to cpu)" in line, line
  for word in words:
    assert word in line, (word, line)


def test_pin_makes_one_device_whatever_the_inherited_flags_say(monkeypatch):
  # A sweep's workers inherited the coordinator's two devices and time-sliced them on one core.
  pinned = []
  monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
  monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cores: pinned.append(cores))
  monkeypatch.setenv("XLA_FLAGS", "--xla_a=true --xla_force_host_platform_device_count=2")
  devices.pin(1)
  assert pinned == [{1}]
  assert os.environ["XLA_FLAGS"].split() == ["--xla_a=true",
                                             "--xla_force_host_platform_device_count=1"]
  monkeypatch.setenv("XLA_FLAGS", "--xla_b=1")
  devices.pin(None)
  assert os.environ["XLA_FLAGS"] == "--xla_b=1"
