"""The XLA flags launch.py sets before JAX's backend starts (lenet_jax.devices)."""
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
