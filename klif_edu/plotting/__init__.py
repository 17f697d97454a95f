"""Plot helpers: membrane traces, rasters, surrogate curves, k over training, the study figure.

Every helper takes data and an optional ``ax`` (or ``fig``), draws with Matplotlib's default
style and returns the Axes/Figure; none calls ``plt.show()``. Colours come from ``PALETTE``
so that H, F, V and LIF/KLIF look the same in every figure.

    tr = KLIF(k_init=1.5).trace(x_seq)
    ax = plot_trace(tr, x_seq, v_threshold=1.0)      # H, F, V, V_th and spikes of neuron 0
    ax = plot_effective_surrogate(Sigmoid(4.0), ks=(0.5, 1.0, 2.0))
"""
from ._common import PALETTE
from .dynamics import plot_k_dynamics
from .events import plot_event_rate, plot_events_3d, plot_frame_strip, plot_polarity
from .learning import plot_k_history, plot_learned_surrogate
from .peers import peer_neurons, plot_learned_leaks, plot_peer_neurons
from .spikes import plot_firing_rate, plot_raster
from .study import plot_study
from .surrogates import plot_effective_surrogate, plot_surrogate
from .traces import compare_traces, plot_gate_histogram, plot_trace

__all__ = [
    "PALETTE",
    "plot_trace",
    "compare_traces",
    "plot_raster",
    "plot_firing_rate",
    "plot_surrogate",
    "plot_effective_surrogate",
    "plot_gate_histogram",
    "plot_k_dynamics",
    "plot_events_3d",
    "plot_polarity",
    "plot_event_rate",
    "plot_frame_strip",
    "plot_k_history",
    "plot_learned_surrogate",
    "plot_study",
    "plot_peer_neurons",
    "peer_neurons",
    "plot_learned_leaks",
]
