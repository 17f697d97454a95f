"""Explorers driven headlessly: set controls, check what was drawn, no new figures, errors kept."""
import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from klif_edu import KLIF, LIF
from klif_edu import widgets as W
from klif_edu.surrogate import ATan, Sigmoid, effective_surrogate


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def neuron_ex():
    return W.explore_neuron(steps=30, dpi=30)


@pytest.fixture(scope="module")
def surrogate_ex():
    return W.explore_surrogate(dpi=30)


# --- make_input ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", W.INPUT_KINDS)
def test_make_input_shape_seed_and_global_rng_untouched(kind):
    rng = torch.get_rng_state()
    x = W.make_input(kind, 200, 1.5, neurons=3, seed=7)
    assert torch.equal(torch.get_rng_state(), rng)
    assert x.shape == (200, 3) and x.dtype == torch.float32
    assert torch.equal(x, W.make_input(kind, 200, 1.5, neurons=3, seed=7))
    changes_with_seed = not torch.equal(x, W.make_input(kind, 200, 1.5, neurons=3, seed=8))
    assert changes_with_seed == (kind in ("noisy", "Poisson"))


def test_make_input_values():
    assert torch.equal(W.make_input("constant", 5, 0.7), torch.full((5, 1), 0.7))
    step = W.make_input("step", 10, 2.0)
    assert step[:2].eq(0).all() and step[2:].eq(2.0).all()
    train = W.make_input("spike train", 6, 3.0).flatten()
    assert train.tolist() == [0, 3, 0, 3, 0, 3]
    poisson = W.make_input("Poisson", 2000, 2.0, seed=1)
    assert set(poisson.unique().tolist()) == {0.0, 2.0}
    assert abs(float((poisson > 0).float().mean()) - W.POISSON_P) < 0.05
    noisy = W.make_input("noisy", 2000, 1.0)
    assert abs(float(noisy.mean()) - 1.0) < 0.05 and abs(float(noisy.std()) - 0.5) < 0.05


def test_make_input_bad_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        W.make_input("sine")
    with pytest.raises(ValueError, match="steps must be a positive int"):
        W.make_input("step", 0)
    with pytest.raises(TypeError, match="strength must be a number"):
        W.make_input("step", 10, "1.5")


# --- the neuron explorer -------------------------------------------------------------------
def expected_counts(values, steps):
    x = W.make_input(values["input"], steps, values["strength"], seed=values["seed"])
    common = dict(tau=values["tau"], v_threshold=values["v_threshold"],
                  v_reset=0.0 if values["reset"] == "hard" else None)
    with torch.no_grad():
        return {"LIF": int(LIF(**common)(x).sum()), "KLIF": int(KLIF(k_init=values["k"], **common)(x).sum())}


def test_neuron_explorer_builds_one_offscreen_figure(neuron_ex):
    fignums = plt.get_fignums()
    W.explore_neuron(steps=5, dpi=10)
    assert plt.get_fignums() == fignums  # its figure is not registered with pyplot
    assert isinstance(neuron_ex, W.NeuronExplorer) and isinstance(neuron_ex.widget, ipywidgets.VBox)
    assert isinstance(neuron_ex.figure, Figure)
    assert neuron_ex.controls["k"].description == "k"
    assert set(neuron_ex.controls) == {"k", "tau", "v_threshold", "input", "strength", "reset", "alpha", "seed"}
    assert neuron_ex.state["error"] is None and neuron_ex.state["png"].startswith(b"\x89PNG")
    assert neuron_ex.image.value == neuron_ex.state["png"]
    bundle = neuron_ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_setting_k_redraws_synchronously(neuron_ex):
    ex = neuron_ex
    before, fignums, figure = ex.state, plt.get_fignums(), ex.figure
    new_k = 2.5 if ex.controls["k"].value != 2.5 else 0.6
    ex.controls["k"].value = new_k
    assert ex.state is not before and ex.state["error"] is None
    assert ex.state["values"]["k"] == new_k
    assert not torch.equal(ex.state["klif"].f, before["klif"].f)
    assert torch.equal(ex.state["lif"].h, before["lif"].h)  # k does not touch LIF
    assert ex.state["png"] != before["png"]
    assert ex.figure is figure and plt.get_fignums() == fignums and len(figure.axes) == 6
    assert ex.state["spikes"] == expected_counts(ex.state["values"], ex.steps)
    assert f"KLIF (k = {new_k:.2f}) {ex.state['spikes']['KLIF']}" in ex.status.value
    assert f"k = {new_k:.2f}" in figure.axes[1].get_title()


@pytest.mark.parametrize("name, value", [("tau", 4.0), ("v_threshold", 0.6), ("input", "Poisson"),
                                         ("strength", 0.9), ("reset", "soft"), ("seed", 3)])
def test_every_control_redraws_with_its_value(neuron_ex, name, value):
    ex = neuron_ex
    ex.controls["input"].value = "noisy"  # so that the seed matters too
    ex.controls[name].value = value
    assert ex.state["error"] is None and ex.state["values"][name] == value
    assert ex.state["spikes"] == expected_counts(ex.state["values"], ex.steps)


def test_soft_reset_subtracts_the_threshold(neuron_ex):
    ex = neuron_ex
    ex.controls["reset"].value = "soft"
    tr, vth = ex.state["klif"], ex.state["values"]["v_threshold"]
    fired = tr.s > 0
    assert fired.any()
    torch.testing.assert_close(tr.v[fired], tr.f[fired] - vth)
    ex.controls["reset"].value = "hard"
    assert ex.state["klif"].v[ex.state["klif"].s > 0].eq(0).all()


def test_alpha_changes_the_gradient_row_not_the_spikes(neuron_ex):
    ex = neuron_ex
    ex.controls["input"].value = "noisy"
    grad_before = ex.figure.axes[3].lines[0].get_ydata().copy()
    trace_before = ex.state["klif"]
    ex.controls["alpha"].value = 8.0 if ex.controls["alpha"].value != 8.0 else 2.0
    assert torch.equal(ex.state["klif"].s, trace_before.s)  # forward pass: Heaviside, no alpha
    assert not np.allclose(ex.figure.axes[3].lines[0].get_ydata(), grad_before)


def test_same_values_draw_the_same_thing(neuron_ex):
    ex = neuron_ex
    ex.controls["input"].value = "Poisson"
    ex.controls["seed"].value = 1
    first = ex.state["x"]
    ex.controls["seed"].value = 2
    assert not torch.equal(ex.state["x"], first)
    ex.controls["seed"].value = 1
    assert torch.equal(ex.state["x"], first)


def test_neuron_explorer_initial_settings():
    ex = W.explore_neuron(k=2.0, input="spike train", reset="soft", steps=20, dpi=20)
    assert ex.state["values"]["k"] == 2.0 and ex.state["values"]["input"] == "spike train"
    assert ex.state["x"].shape == (20, 1) and ex.state["values"]["reset"] == "soft"


@pytest.mark.parametrize("initial, error, match", [
    ({"kk": 1.0}, TypeError, r"unknown setting\(s\) \['kk'\]; known:"),
    ({"k": 10.0}, ValueError, r"k = 10.0 is outside the slider's range \[0.1, 4\]"),
    ({"k": "2"}, TypeError, "k must be a number"),
    ({"input": "sine"}, ValueError, "input must be one of"),
])
def test_neuron_explorer_bad_initial_settings(initial, error, match):
    with pytest.raises(error, match=match):
        W.explore_neuron(**initial)


def test_errors_in_callbacks_are_shown_and_kept_and_update_raises(neuron_ex, monkeypatch):
    ex = neuron_ex
    last_png = ex.state["png"]

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(W, "compare_traces", broken)
    ex.controls["k"].value = 1.1 if ex.controls["k"].value != 1.1 else 1.2
    assert ex.state["error"] == "RuntimeError: boom"
    assert "could not redraw: boom" in ex.status.value
    assert ex.image.value == last_png
    (out,) = ex.errors.outputs
    assert out["name"] == "stderr" and "RuntimeError: boom" in out["text"]
    with pytest.raises(RuntimeError, match="boom"):
        ex.update()
    monkeypatch.undo()
    ex.controls["k"].value = 1.3
    assert ex.state["error"] is None and ex.errors.outputs == ()


# --- the surrogate explorer ----------------------------------------------------------------
def test_surrogate_explorer_numbers_follow_the_controls(surrogate_ex):
    ex = surrogate_ex
    fignums = plt.get_fignums()
    assert ex.controls["k"].description == "k"
    ex.controls["family"].value = "ATan"
    ex.controls["alpha"].value = 2.0
    ex.controls["k"].value = 0.5
    ex.controls["compare"].value = "1, 2"
    assert ex.state["error"] is None and ex.state["ks"] == [0.5, 1.0, 2.0]
    assert ex.state["surrogate"] == ATan(2.0)
    for eff, k in zip(ex.state["effective"], (0.5, 1.0, 2.0)):
        ref = effective_surrogate(ATan(2.0), k, ex.controls["v_threshold"].value)
        assert (eff.center, eff.peak_slope, eff.width) == (ref.center, ref.peak_slope, ref.width)
        assert f"k = {k:g}: centre V_th/k = {ref.center:.3f}, peak slope {ref.peak_slope:.3f}" in ex.status.value
    (ax,) = ex.figure.axes
    assert len([ln for ln in ax.lines if ln.get_label().startswith("k = ")]) == 3
    assert plt.get_fignums() == fignums


def test_surrogate_explorer_k_moves_the_curve(surrogate_ex):
    ex = surrogate_ex
    ex.controls["compare"].value = ""
    ex.controls["family"].value = "Sigmoid"
    ex.controls["k"].value = 1.0
    centre, png = ex.state["effective"][0].center, ex.state["png"]
    ex.controls["k"].value = 2.0
    assert ex.state["ks"] == [2.0] and ex.state["effective"][0].center == pytest.approx(centre / 2)
    assert ex.state["png"] != png and ex.state["surrogate"] == Sigmoid(ex.controls["alpha"].value)
    ex.controls["compare"].value = "2"
    assert ex.state["ks"] == [2.0]  # no duplicate curve


@pytest.mark.parametrize("text, match", [("0.5, x", "'x' is not a number"), ("-1", "every k must be > 0")])
def test_surrogate_explorer_bad_compare_text(surrogate_ex, text, match):
    ex = surrogate_ex
    ex.controls["compare"].value = text
    assert match in ex.state["error"]
    with pytest.raises(ValueError, match=match):
        ex.update()
    ex.controls["compare"].value = "1"
    assert ex.state["error"] is None


def test_explore_surrogate_initial_settings():
    ex = W.explore_surrogate(family="Triangle", alpha=1.0, k=0.5, compare="", dpi=20)
    assert ex.state["ks"] == [0.5] and type(ex.state["surrogate"]).__name__ == "Triangle"
    with pytest.raises(ValueError, match="family must be one of"):
        W.explore_surrogate(family="Relu")


def test_neuron_explorer_shows_the_live_membrane_numbers(neuron_ex):
    ex = neuron_ex
    ex.controls["tau"].value = 2.0
    ex.controls["v_threshold"].value = 1.0
    ex.controls["input"].value = "constant"
    ex.controls["strength"].value = 0.4
    ex.controls["reset"].value = "hard"
    ex.controls["k"].value = 1.5
    nums = ex.state["numbers"]
    assert nums["leak"] == pytest.approx(0.75) and nums["steady_threshold"] == pytest.approx(1 / 3)
    assert nums["one_step_threshold"] == pytest.approx(1 / 1.5)
    assert "<b>0.750</b>" in ex.status.value and "<b>0.333</b>" in ex.status.value and "0.667" in ex.status.value
    # the numbers agree with what was drawn: 0.4 is above 0.333, so KLIF fires; LIF (threshold 1) does not
    assert ex.state["spikes"]["KLIF"] > 0 and ex.state["spikes"]["LIF"] == 0
    ex.controls["k"].value = 2.5
    assert "grows until it fires" in ex.status.value and ex.state["numbers"]["steady_threshold"] == 0.0
