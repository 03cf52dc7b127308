"""lenet_jax/config.py: `name=value` overrides, the checks of validate, and Figure 9's config; the
expected values and messages are written here, not read from the module."""
import pytest

from lenet_jax import config as config_lib
from lenet_jax.config import ConfigError, apply_overrides, figure9_config, paper_config, validate

# Every string field and the values it takes.
CHOICES = {
    "network": ("lenet5", "lenet5_local", "lenet4", "lenet1", "mlp"),
    "c3": ("partial", "full"),
    "pooling": ("trainable", "avg", "max"),
    "activation": ("scaled_tanh", "logistic", "relu"),
    "output": ("rbf_bitmap", "rbf_random", "squash", "linear"),
    "init": ("fan_in", "lush", "flax_default"),
    "loss": ("map", "mle", "mse", "cross_entropy"),
    "optimizer": ("sdlm", "sgd", "adam"),
    "sdlm_output_curvature": ("exact", "constant"),
    "sdlm_subsample_curvature": ("per_connection", "window_sum"),
    "sdlm_hessian": ("every_pass", "once"),
    "train_subset": ("first", "random"),
    "train_eval": ("every_pass", "last_pass"),
    "input_version": ("regular", "deslant", "deslant_fit", "16x16"),
    "pixels": ("regular", "permuted"),
}
# The losses each output trains with.
LOSSES = {"rbf_bitmap": {"map", "mle"}, "rbf_random": {"map", "mle"}, "squash": {"mse"},
          "linear": {"cross_entropy"}}


def _set(*overrides, base=None):
  return apply_overrides(paper_config() if base is None else base, overrides)


def _mlp(*overrides):
  """A valid fully connected net (Figure 9's config), with overrides."""
  return _set(*overrides, base=figure9_config("mlp_300", "mlp", hidden=(300,)))


def _refused(config, field, *fragments):
  """validate(config) raises ConfigError about `field`, its message holding every fragment."""
  with pytest.raises(ConfigError) as e:
    validate(config)
  message = str(e.value)
  assert message.startswith(f"{field}: "), message
  for fragment in fragments:
    assert fragment in message, (fragment, message)
  return message


# ---------------------------------------------------------------------------------- overrides


@pytest.mark.parametrize("item, field, value", [
    ("seeds=3", "seeds", 3),
    (" epochs = 7 ", "epochs", 7),
    ("sdlm_mu=0.05", "sdlm_mu", 0.05),
    ("learning_rate=1", "learning_rate", 1.0),
    ("map_j=1e-2", "map_j", 0.01),
    ("hidden=(300,)", "hidden", (300,)),
    ("hidden=[300, 100]", "hidden", (300, 100)),
    ("sdlm_etas=(0.001, 0.0005)", "sdlm_etas", (0.001, 0.0005)),
    ("vary=('sdlm_mu=0.05,0.1',)", "vary", ("sdlm_mu=0.05,0.1",)),
    ("network=mlp", "network", "mlp"),
    ("mnist_dir=/data/a=b", "mnist_dir", "/data/a=b"),
    ("experiment=my run", "experiment", "my run"),
    ("distort=True", "distort", True),
    ("expect_stall=False", "expect_stall", False),
])
def test_override_parses_by_the_fields_type(item, field, value):
  c = _set(item)
  assert c[field] == value and type(c[field]) is type(value)


def test_overrides_apply_in_order_to_a_copy():
  base = paper_config()
  c = apply_overrides(base, ["seeds=2", "seeds=4", "c3=full"])
  assert (c.seeds, c.c3) == (4, "full")
  assert (base.seeds, base.c3) == (1, "partial")


def test_an_unknown_field_is_named_with_the_valid_ones():
  with pytest.raises(ConfigError, match=r"unknown config field 'sedds'; valid fields: .*\bseeds\b"):
    _set("sedds=3")


@pytest.mark.parametrize("item, fragments", [
    ("seeds=three", ("seeds='three'", "not a valid int")),
    ("seeds=2.5", ("seeds='2.5'", "expected a int like 1, got float")),
    ("seeds=True", ("seeds='True'", "expected a int", "got bool")),
    ("sdlm_mu=0.1.2", ("sdlm_mu='0.1.2'", "not a valid float")),
    ("sdlm_mu='0.1'", ("sdlm_mu=\"'0.1'\"", "expected a float like 0.25, got str")),
    ("distort=1", ("distort='1'", "expected a bool like False, got int")),
    ("hidden=300", ("hidden='300'", "expected a tuple like (), got int")),
])
def test_a_mistyped_value_names_the_field_and_the_type_wanted(item, fragments):
  with pytest.raises(ConfigError) as e:
    _set(item)
  for fragment in fragments:
    assert fragment in str(e.value), (fragment, str(e.value))


def test_an_override_without_equals_sign_shows_the_form():
  with pytest.raises(ConfigError, match=r"override 'seeds' is not of the form name=value"):
    _set("seeds")


# ---------------------------------------------------------------------------------- validate


@pytest.mark.parametrize("config", [
    paper_config(), figure9_config("mlp_300", "mlp", hidden=(300,)),
    figure9_config("lenet1", "lenet1", input_version="16x16"),
    figure9_config("lenet4", "lenet4"), figure9_config("lenet5_local", "lenet5_local"),
], ids=["paper", "mlp", "lenet1", "lenet4", "lenet5_local"])
def test_the_shipped_configs_are_valid(config):
  validate(config)


def test_choices_are_the_expected_ones():
  assert {k: tuple(v) for k, v in config_lib.CHOICES.items()} == CHOICES


@pytest.mark.parametrize("field", sorted(CHOICES))
def test_an_unknown_choice_is_refused_with_the_choices(field):
  c = paper_config()
  c[field] = "bogus"
  _refused(c, field, "unknown value 'bogus'", "use one of " + ", ".join(CHOICES[field]))


@pytest.mark.parametrize("output", sorted(LOSSES))
@pytest.mark.parametrize("loss", CHOICES["loss"])
def test_each_output_trains_with_its_losses_only(output, loss):
  c = _set(f"output={output}", f"loss={loss}")
  if loss in LOSSES[output]:
    validate(c)
  else:
    _refused(c, "loss", f"{loss} does not go with output={output}", "use map or mle with an rbf")


@pytest.mark.parametrize("network, hidden", [("lenet4", "()"), ("lenet1", "()"),
                                             ("mlp", "(300,)")])
@pytest.mark.parametrize("output", ["rbf_bitmap", "rbf_random"])
def test_an_rbf_output_needs_lenet5s_f6(network, hidden, output):
  c = _set(f"network={network}", f"hidden={hidden}", f"output={output}", "loss=map")
  _refused(c, "output", f"{output} needs LeNet-5's 84-unit F6", f"network={network} has none",
           "use output=squash")


@pytest.mark.parametrize("network", ["lenet5", "lenet5_local"])
def test_an_rbf_output_goes_with_both_lenet5s(network):
  validate(_set(f"network={network}", "output=rbf_random", "loss=mle"))


def test_an_mlp_needs_hidden_widths():
  _refused(_mlp("hidden=()"), "hidden", "network=mlp needs hidden layer widths, got ()",
           "--set=network=mlp --set=hidden=(300,)")


@pytest.mark.parametrize("network", ["lenet5", "lenet5_local", "lenet4", "lenet1"])
def test_the_lenets_take_no_hidden_widths(network):
  c = _set(f"network={network}", "hidden=(300,)", "output=squash", "loss=mse")
  _refused(c, "hidden", f"network={network} takes no hidden layer widths, got (300,)",
           "leave hidden=() for the LeNets")


@pytest.mark.parametrize("hidden", ["(0,)", "(300, -1)", "(True,)", "(2.5,)"])
def test_a_hidden_width_below_one_or_not_whole_is_refused(hidden):
  _refused(_mlp(f"hidden={hidden}"), "hidden", "layer widths must be whole numbers >= 1",
           "--set=hidden=(300,)")


def test_two_hidden_layers_are_valid():
  validate(_mlp("hidden=(300, 100)"))


def test_permuted_pixels_refuse_a_missing_permutation_seed():
  _refused(_mlp("pixels=permuted"), "permutation_seed",
           "pixels=permuted needs a permutation seed >= 0, got -1", "--set=permutation_seed=0")
  validate(_mlp("pixels=permuted", "permutation_seed=0"))


def test_permuted_pixels_refuse_distortions_and_deslanting():
  c = _mlp("pixels=permuted", "permutation_seed=3", "distort=True")
  _refused(c, "distort", "use distort=False with pixels=permuted")
  c = _mlp("pixels=permuted", "permutation_seed=3", "input_version=deslant")
  _refused(c, "pixels", "deslant gives 20x20")
  validate(_mlp("pixels=permuted", "permutation_seed=3", "input_version=16x16"))


# ---------------------------------------------------------------------------------- vary, lanes


def test_vary_is_parsed_into_lane_fields_and_numbers():
  c = _set("vary=('sdlm_mu=0.05,0.1', 'seed=3,4')")
  assert config_lib.vary_axes(c) == [("sdlm_mu", [0.05, 0.1]), ("seed", [3, 4])]
  assert all(type(s) is int for s in config_lib.vary_axes(c)[1][1])
  validate(c)


@pytest.mark.parametrize("vary, fragment", [
    ("('c3=full',)", "with field one of seed, sdlm_mu, map_j, learning_rate"),
    ("('sdlm_mu',)", "'sdlm_mu' is not field=v1,v2,..."),
    ("('sdlm_mu=0.1', 'sdlm_mu=0.2')", "sdlm_mu is given twice"),
    ("('sdlm_mu=a,b',)", "values must be numbers"),
    ("('sdlm_mu=0,0.1',)", "sdlm_mu values must be finite and > 0"),
    ("('map_j=inf',)", "map_j values must be finite and > 0"),
])
def test_a_bad_vary_is_refused(vary, fragment):
  _refused(_set(f"vary={vary}"), "vary", fragment)


def test_a_varied_seed_may_be_zero_but_stays_in_int32():
  validate(_set("vary=('seed=0,5',)"))
  _refused(_set("seed=2147483647", "seeds=2"), "seed", "outside 0..2147483647")


@pytest.mark.parametrize("overrides, lanes", [
    ((), 1),
    (("seeds=5",), 5),
    (("seeds=2", "vary=('sdlm_mu=0.05,0.1,0.25', 'map_j=1,2')"), 12),
    (("seeds=3", "lane_sets=({'learning_rate': 0.1}, {'learning_rate': 0.01})"), 6),
    (("seeds=2", "vary=('sdlm_mu=0.05,0.1',)",
      "lane_sets=({'map_j': 0.1}, {'map_j': 0.2}, {'map_j': 0.3})"), 12),
])
def test_lane_count_multiplies_seeds_vary_and_lane_sets(overrides, lanes):
  assert config_lib.lane_count(_set(*overrides)) == lanes


# ---------------------------------------------------------------------------------- Figure 9


def test_figure9_config_trains_squashed_outputs_by_squared_error_at_the_papers_mu():
  c = figure9_config("mlp_300_100", "mlp", hidden=[300, 100])
  assert (c.experiment, c.network, c.hidden) == ("mlp_300_100", "mlp", (300, 100))
  assert (c.output, c.loss, c.sdlm_mu) == ("squash", "mse", 0.02)
  assert (c.optimizer, c.batch_size, c.epochs, c.sdlm_samples) == ("sdlm", 1, 20, 500)
  assert (c.input_version, c.distort, c.pixels) == ("regular", False, "regular")
  validate(c)


def test_figure9_config_keeps_the_rest_of_the_recipe():
  c, recipe = figure9_config("lenet4", "lenet4"), paper_config()
  # hidden stays () and input_version regular, as in the recipe.
  changed = {k for k in recipe.keys() if c[k] != recipe[k]}
  assert changed == {"experiment", "network", "output", "loss", "sdlm_mu"}


def test_figure9_config_options():
  c = figure9_config("mlp_300_dist", "mlp", hidden=(300,), input_version="deslant",
                     distort=True)
  assert (c.input_version, c.distort) == ("deslant", True)
  validate(c)
