"""Plot helpers: structure of what they draw (lines, data, labels), bad inputs, one render each."""
import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from klif_edu import KLIF, LIF
from klif_edu import plotting as P
from klif_edu.neurons import Trace
from klif_edu.surrogate import ATan, Rectangular, Sigmoid, effective_derivative, effective_surrogate


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def render(fig: Figure) -> None:
    """Draw once to PNG: catches errors that only show at draw time."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    assert buf.getvalue().startswith(b"\x89PNG")


def line(ax, label):
    (found,) = [ln for ln in ax.lines if ln.get_label() == label]
    return found


@pytest.fixture
def x_seq():
    torch.manual_seed(0)
    x = torch.full((24, 2), 1.6)
    x[:4] = 0.0
    x[:, 1] += 0.8 * torch.randn(24)
    return x


@pytest.fixture
def klif_trace(x_seq):
    with torch.no_grad():
        return KLIF(k_init=1.6, v_threshold=0.8).trace(x_seq)


# --- plot_trace ----------------------------------------------------------------------------
@pytest.mark.parametrize("index", [0, 1])
def test_plot_trace_klif_draws_h_f_v_threshold_and_spikes(klif_trace, x_seq, index):
    ax = P.plot_trace(klif_trace, x_seq, v_threshold=0.8, index=index)
    labels = [ln.get_label() for ln in ax.lines]
    assert labels == ["H[t]  charged", "F[t] = ReLU(k·H[t])", "V[t]  after reset", "V_th", "spike  S[t] = 1"]
    np.testing.assert_allclose(line(ax, "H[t]  charged").get_ydata(), klif_trace.h[:, index])
    np.testing.assert_allclose(line(ax, "F[t] = ReLU(k·H[t])").get_ydata(), klif_trace.f[:, index])
    np.testing.assert_allclose(line(ax, "V_th").get_ydata(), [0.8, 0.8])
    spikes = line(ax, "spike  S[t] = 1")
    times = torch.nonzero(klif_trace.s[:, index]).flatten().numpy()
    assert len(times) > 0
    np.testing.assert_array_equal(spikes.get_xdata(), times)
    np.testing.assert_allclose(spikes.get_ydata(), klif_trace.f[times, index])
    assert f"{len(times)} spikes" in ax.get_title()
    assert ax.get_legend() is not None and ax.get_ylabel() == "membrane potential"
    (input_ax,) = [a for a in ax.figure.axes if a is not ax]
    np.testing.assert_allclose(input_ax.lines[0].get_ydata(), x_seq[:, index])
    assert input_ax.get_xlabel() == "t (steps)" and input_ax.get_ylabel() == "input X[t]"
    render(ax.figure)


def test_plot_trace_lif_has_no_separate_f_and_no_input_panel(x_seq):
    with torch.no_grad():
        tr = LIF().trace(x_seq)
    ax = P.plot_trace(tr, title="my title")
    assert [ln.get_label() for ln in ax.lines] == ["H[t]  charged", "V[t]  after reset", "V_th", "spike  S[t] = 1"]
    assert len(ax.figure.axes) == 1 and ax.get_xlabel() == "t (steps)" and ax.get_title() == "my title"


def test_plot_trace_show_f_false_and_own_axes(klif_trace):
    fig, ax = plt.subplots()
    before = plt.get_fignums()
    out = P.plot_trace(klif_trace, ax=ax, show_f=False, legend=False)
    assert out is ax and plt.get_fignums() == before
    assert "F[t] = ReLU(k·H[t])" not in [ln.get_label() for ln in ax.lines]
    assert ax.get_legend() is None


def test_plot_trace_flattens_extra_dims():
    x = torch.zeros(10, 2, 3)
    x[:, 1, 1] = 3.0  # flattened column 4
    with torch.no_grad():
        tr = KLIF().trace(x)
    ax = P.plot_trace(tr, x, index=4)
    assert len(line(ax, "spike  S[t] = 1").get_xdata()) == int(tr.s[:, 1, 1].sum()) > 0


def test_plot_trace_input_panel_with_own_axes(klif_trace, x_seq):
    fig, (ax, iax) = plt.subplots(2, 1)
    P.plot_trace(klif_trace, x_seq, ax=ax, input_ax=iax, index=1)
    np.testing.assert_allclose(iax.lines[0].get_ydata(), x_seq[:, 1])


def test_plot_trace_bad_inputs(klif_trace, x_seq):
    with pytest.raises(TypeError, match="klif_edu.Trace"):
        P.plot_trace(tuple(klif_trace))
    with pytest.raises(ValueError, match="index 2 is out of range.*2 neurons"):
        P.plot_trace(klif_trace, index=2)
    with pytest.raises(TypeError, match="index must be an int"):
        P.plot_trace(klif_trace, index=0.5)
    with pytest.raises(ValueError, match="T = 24 steps"):
        P.plot_trace(klif_trace, x_seq[:10])
    with pytest.raises(TypeError, match="x_seq must be a torch.Tensor"):
        P.plot_trace(klif_trace, x_seq.tolist())
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        P.plot_trace(klif_trace, ax="axes")
    with pytest.raises(TypeError, match="v_threshold must be a finite number"):
        P.plot_trace(klif_trace, v_threshold="1")


# --- compare_traces ------------------------------------------------------------------------
def test_compare_traces_titles_counts_and_shared_axes(x_seq):
    lif, klif = LIF(), KLIF(k_init=1.6)
    fig = P.compare_traces(x_seq, lif, klif, index=1)
    with torch.no_grad():
        n_lif = int(lif(x_seq)[:, 1].sum())
        n_klif = int(klif(x_seq)[:, 1].sum())
    assert n_lif != n_klif  # the input was chosen so that k visibly matters
    mem_l, mem_k, in_l, in_k = fig.axes
    assert mem_l.get_title() == f"LIF: {n_lif} spikes"
    assert mem_k.get_title() == f"KLIF, k = 1.60: {n_klif} spikes"
    assert mem_l.get_ylim() == mem_k.get_ylim()
    np.testing.assert_allclose(in_k.lines[0].get_ydata(), x_seq[:, 1])
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:2] == ["H[t]  charged", "F[t] = ReLU(k·H[t])"]
    render(fig)


def test_compare_traces_redraws_into_given_figure_and_uses_given_traces(x_seq):
    lif, klif = LIF(), KLIF()
    fig = P.compare_traces(x_seq, lif, klif)
    count = len(plt.get_fignums())
    with torch.no_grad():
        tr_l, tr_k = lif.trace(x_seq), klif.trace(x_seq)
    fake = Trace(tr_k.h, tr_k.f, torch.zeros_like(tr_k.s), tr_k.v)
    again = P.compare_traces(x_seq, lif, klif, fig=fig, traces=(tr_l, fake))
    assert again is fig and len(plt.get_fignums()) == count and len(fig.axes) == 4
    assert fig.axes[1].get_title().endswith(": 0 spikes")


def test_compare_traces_gradient_row_is_the_surrogate_along_h(x_seq):
    lif, klif = LIF(surrogate=ATan()), KLIF(k_init=1.6, surrogate=ATan())
    fig = P.compare_traces(x_seq, lif, klif, show_grad=True)
    assert len(fig.axes) == 6
    with torch.no_grad():
        h_l, h_k = lif.trace(x_seq).h[:, 0], klif.trace(x_seq).h[:, 0]
    grad_l, grad_k = fig.axes[2], fig.axes[3]
    np.testing.assert_allclose(grad_l.lines[0].get_ydata(), ATan().derivative(h_l - 1.0))
    np.testing.assert_allclose(grad_k.lines[0].get_ydata(), effective_derivative(ATan(), h_k, 1.6, 1.0), rtol=1e-6)
    assert grad_l.get_ylabel() == "dS/dH"
    render(fig)


def test_compare_traces_bad_inputs(x_seq):
    with pytest.raises(TypeError, match="lif must be a klif_edu LIF or KLIF neuron"):
        P.compare_traces(x_seq, torch.nn.ReLU(), KLIF())
    with pytest.raises(ValueError, match="a pair"):
        P.compare_traces(x_seq, LIF(), KLIF(), traces=(None,))
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        P.compare_traces(x_seq, LIF(), KLIF(), fig=plt.gca())


# --- rasters and rates ---------------------------------------------------------------------
def offsets(ax):
    (sc,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    return {tuple(map(int, p)) for p in sc.get_offsets()}


def test_plot_raster_marks_every_spike_at_t_and_neuron():
    spikes = torch.zeros(6, 3)
    spikes[0, 0] = spikes[2, 2] = spikes[5, 1] = 1
    ax = P.plot_raster(spikes, title="tiny")
    assert offsets(ax) == {(0, 0), (2, 2), (5, 1)}
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("t (steps)", "neuron", "tiny")
    render(ax.figure)


def test_plot_raster_reduces_sample_and_subsets_neurons():
    gen = torch.Generator().manual_seed(1)
    spikes = (torch.rand(20, 3, 4, 50, generator=gen) < 0.2).float()  # [T, N, C, X]
    ax = P.plot_raster(spikes, sample=2, max_neurons=40)
    flat = spikes[:, 2].reshape(20, -1)
    rows = {n for _, n in offsets(ax)}
    assert len(rows) <= 40 and max(rows) > 150  # spread over all 200, at their true indices
    assert all((t, n) in {tuple(p) for p in torch.nonzero(flat).tolist()} for t, n in offsets(ax))
    assert "sample 2, 4x50 flattened" in ax.get_title() and "40 evenly spaced" in ax.get_title()
    assert ax.get_ylim() == (-0.5, 199.5)


def test_plot_raster_accepts_numpy_and_rejects_bad_input():
    assert offsets(P.plot_raster(np.eye(3))) == {(0, 0), (1, 1), (2, 2)}
    with pytest.raises(ValueError, match=r"only 0 and 1.*membrane potential"):
        P.plot_raster(torch.rand(5, 3))
    with pytest.raises(ValueError, match=r"\[T, N\].*reshape\(T, 1\)"):
        P.plot_raster(torch.ones(5))
    with pytest.raises(TypeError, match="torch.Tensor"):
        P.plot_raster([[0, 1]])
    with pytest.raises(ValueError, match="max_neurons"):
        P.plot_raster(torch.ones(5, 2), max_neurons=0)
    with pytest.raises(ValueError, match="sample 3 out of range"):
        P.plot_raster(torch.ones(5, 2, 2), sample=3)


@pytest.mark.parametrize("by, dim, xlabel", [("neuron", 0, "neuron"), ("time", 1, "t (steps)")])
def test_plot_firing_rate_bars_are_means(by, dim, xlabel):
    gen = torch.Generator().manual_seed(2)
    spikes = (torch.rand(30, 7, generator=gen) < 0.3).float()
    ax = P.plot_firing_rate(spikes, by=by)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    np.testing.assert_allclose([b.get_height() for b in bars], spikes.mean(dim))
    mean = line(ax, f"mean {float(spikes.mean()):.3f}")
    np.testing.assert_allclose(mean.get_ydata(), [float(spikes.mean())] * 2)
    assert ax.get_xlabel() == xlabel
    render(ax.figure)


def test_plot_firing_rate_bad_by():
    with pytest.raises(ValueError, match="by must be 'neuron' or 'time'"):
        P.plot_firing_rate(torch.ones(3, 2), by="layer")


# --- surrogates ----------------------------------------------------------------------------
def test_plot_surrogate_draws_step_g_and_derivative():
    sur = Sigmoid(4.0)
    ax = P.plot_surrogate(sur, lo=-1.0, hi=3.0)
    assert len(ax.lines) == 3
    step, g, dg = ax.lines
    np.testing.assert_array_equal(step.get_xdata(), [-1, 0, 0, 3])
    x = torch.as_tensor(dg.get_xdata())
    assert x[0] == -1.0 and x[-1] == 3.0
    np.testing.assert_allclose(g.get_ydata(), sur.primitive(x))
    np.testing.assert_allclose(dg.get_ydata(), sur.derivative(x))
    assert "peak g'(0) = 1.00" in ax.get_title() and ax.get_xlabel() == "x  (distance above the threshold)"
    assert ax.get_legend() is not None
    render(ax.figure)


def test_plot_surrogate_can_leave_the_legend_out():
    ax = P.plot_surrogate(Sigmoid(4.0), legend=False)
    assert ax.get_legend() is None and len(ax.lines) == 3
    render(ax.figure)


def test_plot_surrogate_bad_inputs():
    with pytest.raises(TypeError, match="Surrogate such as Sigmoid"):
        P.plot_surrogate(torch.sigmoid)
    with pytest.raises(ValueError, match="lo < 0 < hi"):
        P.plot_surrogate(Sigmoid(), lo=0.5)


@pytest.mark.parametrize("sur", [Sigmoid(4.0), Rectangular(1.0)])
def test_plot_effective_surrogate_curves_centres_widths_and_numbers(sur):
    ks = (0.5, 1.0, 2.0)
    ax = P.plot_effective_surrogate(sur, ks, v_threshold=1.2)
    curves = [ln for ln in ax.lines if ln.get_label().startswith("k = ")]
    centres = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    arrows = [a for a in ax.texts if a.arrow_patch is not None]
    assert len(curves) == len(centres) == len(arrows) == 3
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for k, curve, centre, arrow in zip(ks, curves, centres, arrows):
        eff = effective_surrogate(sur, k, 1.2)
        h = torch.as_tensor(curve.get_xdata())
        np.testing.assert_allclose(curve.get_ydata(), effective_derivative(sur, h, k, 1.2))
        np.testing.assert_allclose(centre.get_xdata(), [1.2 / k] * 2)
        numbers = f"peak {eff.peak_slope:.2f}, width {eff.width:.2f}, centre {eff.center:.2f}"
        assert any(numbers in text for text in legend)
        (x0, y0), (x1, y1) = arrow.xy, arrow.xyann
        assert x1 - x0 == pytest.approx(eff.width) and y0 == y1 == pytest.approx(eff.peak_slope / 2)
        if isinstance(sur, Sigmoid):  # smooth: the arrow ends lie on the curve at half height
            ends = effective_derivative(sur, torch.tensor([x0, x1], dtype=torch.float64), k, 1.2)
            np.testing.assert_allclose(ends, [eff.peak_slope / 2] * 2, rtol=1e-6)
    assert ax.get_xlabel().startswith("H") and ax.get_ylabel() == "dS/dH"
    assert ax.get_xlim()[0] < 0  # a little of the closed gate is shown
    render(ax.figure)


def test_plot_effective_surrogate_plain_and_single_k():
    ax = P.plot_effective_surrogate(Sigmoid(), 1.5, annotate=False)
    assert [ln.get_label() for ln in ax.lines] == ["k = 1.5"] and not ax.texts


@pytest.mark.parametrize("ks, match", [((), "at least one k"), ((1.0, -0.5), "every k must be > 0"),
                                       (("1",), "each k must be a finite number")])
def test_plot_effective_surrogate_bad_ks(ks, match):
    with pytest.raises((ValueError, TypeError), match=match):
        P.plot_effective_surrogate(Sigmoid(), ks)


# --- the gate ------------------------------------------------------------------------------
def test_plot_gate_histogram_counts_h_and_f(klif_trace):
    ax = P.plot_gate_histogram(klif_trace, bins=20, v_threshold=0.8)
    heights = np.array([p.get_height() for bars in ax.containers for p in bars])
    assert len(heights) == 40 and heights[:20].sum() == heights[20:].sum() == klif_trace.h.numel()
    zero = float((klif_trace.f == 0).float().mean())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"F = ReLU(k·H)  after ({zero:.0%} exactly 0)" in legend and "V_th" in legend
    render(ax.figure)


@pytest.mark.parametrize("neuron, label", [
    (LIF(), "F = H  (no gate)"), (KLIF(gate=False, k_init=1.5), "F = k·H  (no gate)"), (KLIF(), "F = ReLU(k·H)"),
])
def test_plot_gate_histogram_names_the_neurons_own_f(neuron, label):
    tr = neuron.trace(torch.randn(6, 50) * 0.8)
    legend = [t.get_text() for t in P.plot_gate_histogram(tr).get_legend().get_texts()]
    assert any(t.startswith(label + "  after") for t in legend), legend
    assert ("0: gate closes below" in legend) == label.startswith("F = ReLU")
    assert ("gate closed (H ≤ 0)" in legend) == label.startswith("F = ReLU")  # the grey band


def test_plot_k_dynamics_panel_titles_do_not_run_into_each_other():
    from klif_edu.plotting import plot_k_dynamics

    ax_leak, ax_thr = plot_k_dynamics(tau=2.0, mark=(1.0, 1.5))
    fig = ax_leak.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    left, right = (ax.title.get_window_extent(renderer) for ax in (ax_leak, ax_thr))
    assert left.x1 < right.x0 and left.x0 >= 0
    plt.close(fig)


def test_plot_gate_histogram_cuts_the_pile_at_zero():
    h = torch.cat([-torch.rand(400), torch.rand(100) * 2]).reshape(-1, 1)  # 80% of H <= 0
    tr = Trace(h, torch.relu(h), torch.zeros_like(h), h)
    ax = P.plot_gate_histogram(tr)
    assert ax.get_ylim()[1] < 400
    assert any("400 values F = 0" in t.get_text() for t in ax.texts)


def test_plot_gate_histogram_bad_inputs(klif_trace):
    with pytest.raises(TypeError, match="klif_edu.Trace"):
        P.plot_gate_histogram(klif_trace.h)
    with pytest.raises(ValueError, match="bins must be a positive int"):
        P.plot_gate_histogram(klif_trace, bins=0)


# --- training history ----------------------------------------------------------------------
def make_history(recorded: bool = False, layers: int = 2) -> dict:
    names = ["conv1", "conv2", "fc1", "fc2", "fc3"][:layers]
    rows = []
    for epoch in range(4):
        ks = {name: 1.0 + (i + 1) * 0.2 * epoch * (-1) ** i for i, name in enumerate(names)}
        row = {"epoch": epoch, "k": ks}
        if recorded:
            row["slope"] = {name: 10.0 + epoch for name in names}
            row["width"] = {name: 0.1 * (epoch + 1) for name in names}
        rows.append(row)
    return {"neuron": "klif", "surrogate": {"name": "ATan", "alpha": 2.0}, "v_threshold": 1.0, "epochs": rows}


def test_plot_k_history_one_line_per_layer():
    history = make_history()
    ax = P.plot_k_history(history)
    conv1, conv2 = line(ax, "conv1"), line(ax, "conv2")
    np.testing.assert_array_equal(conv1.get_xdata(), [0, 1, 2, 3])
    np.testing.assert_allclose(conv1.get_ydata(), [1.0, 1.2, 1.4, 1.6])
    np.testing.assert_allclose(conv2.get_ydata(), [1.0, 0.6, 0.2, -0.2])
    np.testing.assert_allclose(line(ax, "k = 1").get_ydata(), [1, 1])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "k")
    render(ax.figure)


def test_history_plots_reject_bad_histories():
    with pytest.raises(ValueError, match="'epochs'"):
        P.plot_k_history({"neuron": "klif"})
    lif_history = {"neuron": "lif", "epochs": [{"epoch": 0}, {"epoch": 1}]}
    for plot in (P.plot_k_history, P.plot_learned_surrogate):
        with pytest.raises(ValueError, match="no 'k' records"):
            plot(lif_history)
    with pytest.raises(ValueError, match=r"unknown layers \['fc9'\]"):
        P.plot_learned_surrogate(make_history(), layers=["fc9"])


def test_plot_learned_surrogate_before_after_and_shape_over_epochs():
    history = make_history()
    fig = P.plot_learned_surrogate(history)
    conv1, conv2, slope_ax, width_ax = fig.axes
    sur = ATan(2.0)
    before, after = conv1.lines
    h = torch.as_tensor(before.get_xdata())
    np.testing.assert_allclose(before.get_ydata(), effective_derivative(sur, h, 1.0, 1.0))
    np.testing.assert_allclose(after.get_ydata(), effective_derivative(sur, h, 1.6, 1.0))
    assert before.get_linestyle() == "--" and conv1.get_title() == "conv1: k = 1.00 → 1.60"
    # conv2 ends at k = -0.2: the gate then passes no positive H, dS/dH is 0
    assert not conv2.lines[1].get_ydata().any()
    slopes = line(slope_ax, "conv1").get_ydata()
    np.testing.assert_allclose(slopes, [effective_surrogate(sur, k).peak_slope for k in (1.0, 1.2, 1.4, 1.6)])
    widths = line(width_ax, "conv2").get_ydata()
    assert np.isnan(widths[-1]) and widths[1] == pytest.approx(effective_surrogate(sur, 0.6).width)
    render(fig)


def test_plot_learned_surrogate_uses_recorded_shape_layers_and_fig():
    history = make_history(recorded=True, layers=5)
    fig = P.plot_learned_surrogate(history)
    assert len(fig.axes) == 8 + 2 and sum(not a.get_visible() for a in fig.axes) == 3
    slope_ax, width_ax = fig.axes[-2:]
    np.testing.assert_allclose(line(slope_ax, "fc1").get_ydata(), [10, 11, 12, 13])
    np.testing.assert_allclose(line(width_ax, "fc1").get_ydata(), [0.1, 0.2, 0.3, 0.4])
    count = len(plt.get_fignums())
    again = P.plot_learned_surrogate(history, layers=["fc2"], fig=fig)
    assert again is fig and len(plt.get_fignums()) == count and len(fig.axes) == 3
    assert fig.axes[0].get_title().startswith("fc2:")
    render(fig)


def test_plot_k_dynamics_draws_leak_and_steady_threshold():
    from klif_edu import dynamics
    from klif_edu.plotting import plot_k_dynamics

    ax_leak, ax_thr = plot_k_dynamics(tau=2.0, mark=(1.0, 1.5))
    ks, leak = ax_leak.lines[0].get_data()
    np.testing.assert_allclose(leak, ks * 0.5)
    ks, thr = ax_thr.lines[0].get_data()
    np.testing.assert_allclose(thr, [dynamics.steady_state_threshold(k, 2.0) for k in ks])
    _, naive = ax_thr.lines[1].get_data()
    np.testing.assert_allclose(naive, 1.0 / ks)
    marked = [ln.get_data() for ln in ax_thr.lines[2:]]
    assert [float(x[0]) for x, _ in marked] == [1.0, 1.5]
    assert float(marked[1][1][0]) == pytest.approx(1 / 3)
    ax_leak.figure.savefig(io.BytesIO(), format="png")
    plt.close(ax_leak.figure)
    with pytest.raises(ValueError, match="tau > 1"):
        plot_k_dynamics(tau=1.0)
    with pytest.raises(ValueError, match="marked k"):
        plot_k_dynamics(mark=(-1.0,))
