"""ipywidgets explorers: move a slider, see LIF and KLIF (or the effective surrogate) change.

    ex = explore_neuron(k=2.0, input="Poisson")   # shows itself as the last line of a cell
    ex.controls["k"].value = 0.5                   # redraws at once (also from code)
    ex.state["spikes"]                             # {"LIF": 12, "KLIF": 7}: what was drawn

Each explorer draws into one Matplotlib Figure that is not registered with pyplot (so no
figure piles up and the inline backend does not print it twice) and shows it as a PNG in an
``ipywidgets.Image``, which works in JupyterLab without ipympl. Drawing goes through the
plot helpers in ``klif_edu.plotting``; nothing here draws by itself.
"""
from __future__ import annotations

import base64
import io
import math
import traceback
from typing import Any

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from snntorch import spikegen

from . import dynamics
from .neurons import KLIF, LIF
from .plotting import compare_traces, plot_effective_surrogate
from .surrogate import ALL as SURROGATES
from .surrogate import Sigmoid, effective_surrogate

__all__ = ["INPUT_KINDS", "POISSON_P", "WIDGET_FALLBACK", "make_input", "explore_neuron", "explore_surrogate", "NeuronExplorer", "SurrogateExplorer"]

INPUT_KINDS = ("constant", "step", "noisy", "Poisson", "spike train")
POISSON_P = 0.3  # chance of an input spike per step
#: What a viewer without widget support shows instead of ``VBox(children=...)``.
WIDGET_FALLBACK = (
    "[interactive explorer: its sliders need a running Jupyter kernel with ipywidgets (JupyterLab, "
    "Jupyter Notebook, or VS Code's Jupyter extension). Here only a still picture or this text can show: "
    "open the notebook there and run the cell. Without widgets, change a setting from code, e.g. "
    "ex = explore_neuron(k=2.0); ex.state['png'] holds the picture and ex.state the numbers.]"
)


def make_input(
    kind: str = "step", steps: int = 60, strength: float = 1.5, *, neurons: int = 1, seed: int = 0
) -> torch.Tensor:
    """Input current X of shape [steps, neurons], of level ``strength``.

    constant: X = strength. step: 0 for the first fifth of the steps, then strength.
    noisy: strength plus Gaussian noise (std 0.5). Poisson: input spikes of height strength,
    each step with chance 0.3 (snnTorch's ``spikegen.rate``). spike train: input spikes of
    height strength every 2nd step. The same arguments always give the same tensor (``seed``
    picks the noise; the global random state is left as it was).
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"make_input: kind must be one of {INPUT_KINDS}, got {kind!r}")
    for name, value in (("steps", steps), ("neurons", neurons)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"make_input: {name} must be a positive int, got {value!r}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)):
        raise TypeError(f"make_input: strength must be a number, got {type(strength).__name__}")
    shape = (steps, neurons)
    if kind == "constant":
        return torch.full(shape, float(strength))
    if kind == "step":
        x = torch.full(shape, float(strength))
        x[: steps // 5] = 0.0
        return x
    if kind == "noisy":
        gen = torch.Generator().manual_seed(seed)
        return strength + 0.5 * torch.randn(shape, generator=gen)
    if kind == "Poisson":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return spikegen.rate(torch.full((neurons,), POISSON_P), num_steps=steps) * strength
    x = torch.zeros(shape)
    x[1::2] = strength
    return x


class _Explorer:
    """Shared machinery: controls -> update() -> one Figure -> PNG in an Image widget."""

    def __init__(self, controls: dict[str, widgets.ValueWidget], initial: dict[str, Any],
                 figsize: tuple[float, float], dpi: int) -> None:
        self.controls = controls
        unknown = sorted(set(initial) - set(controls))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown setting(s) {unknown}; known: {sorted(controls)}")
        for name, value in initial.items():
            _set_checked(name, controls[name], value, type(self).__name__)
        self.figure = Figure(figsize=figsize, layout="constrained")
        self.dpi = dpi
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.status = widgets.HTML()
        self.errors = widgets.Output()
        self.state: dict[str, Any] = {"error": None}
        self.update()
        for control in controls.values():
            control.observe(self._on_change, names="value")

    def update(self) -> dict[str, Any]:
        """Redraw from the controls' current values now; errors propagate. Returns ``state``."""
        raise NotImplementedError

    def _on_change(self, change: dict[str, Any]) -> None:
        """Observer: redraw; on failure keep the last picture and show the error under it."""
        try:
            self.update()
        except Exception as err:  # noqa: BLE001 - shown to the user and kept in state, not lost
            self.state = {**self.state, "error": f"{type(err).__name__}: {err}"}
            self.status.value = f"<b style='color:#b00'>could not redraw: {_escape(str(err))}</b>"
            self.errors.outputs = ()
            self.errors.append_stderr(traceback.format_exc())
        else:
            self.errors.outputs = ()

    def _png(self) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=self.dpi)
        png = buf.getvalue()
        self.image.value = png
        return png

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget where a frontend can draw it; elsewhere the last picture and what to do."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = WIDGET_FALLBACK
            if self.state.get("png"):
                data["image/png"] = base64.b64encode(self.state["png"]).decode("ascii")
        return bundle

    def __repr__(self) -> str:
        return WIDGET_FALLBACK


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _set_checked(name: str, control: widgets.ValueWidget, value: Any, where: str) -> None:
    """Set a control's start value, refusing what a slider would silently clamp."""
    if isinstance(control, (widgets.FloatSlider, widgets.IntText)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__}")
        if isinstance(control, widgets.FloatSlider) and not control.min <= value <= control.max:
            raise ValueError(f"{where}: {name} = {value} is outside the slider's range "
                             f"[{control.min:g}, {control.max:g}]")
    elif hasattr(control, "options") and value not in control.options:
        raise ValueError(f"{where}: {name} must be one of {tuple(control.options)}, got {value!r}")
    control.value = value


def _style(**extra: str) -> dict[str, str]:
    """The same description width for every control, so they line up."""
    return {"description_width": "110px", **extra}


def _slider(description: str, value: float, lo: float, hi: float, step: float) -> widgets.FloatSlider:
    return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                               continuous_update=False, style=_style())


class NeuronExplorer(_Explorer):
    """LIF and KLIF side by side on the same seeded input, with dS/dH at every step."""

    def __init__(self, *, steps: int = 60, dpi: int = 80, **initial: Any) -> None:
        controls = {
            "k": _slider("k", 1.5, 0.1, 4.0, 0.05),
            "tau": _slider("tau", 2.0, 1.1, 10.0, 0.1),
            "v_threshold": _slider("V_th", 1.0, 0.2, 2.0, 0.05),
            "input": widgets.Dropdown(options=INPUT_KINDS, value="step", description="input", style=_style()),
            "strength": _slider("input strength", 1.2, 0.0, 4.0, 0.05),
            "reset": widgets.ToggleButtons(options=("hard", "soft"), value="hard", description="reset",
                                           style=_style(button_width="80px")),
            "alpha": _slider("surrogate alpha", 4.0, 0.5, 10.0, 0.25),
            "seed": widgets.IntText(value=0, description="seed", style=_style(),
                                    layout=widgets.Layout(width="230px")),
        }
        self.steps = steps
        super().__init__(controls, initial, figsize=(10, 6.2), dpi=dpi)
        c = controls
        # The slider's 0.05 steps miss most no-leak points (tau = 4: k = 4/3); this sets k exactly.
        self.no_leak = widgets.Button(description="k = tau/(tau-1): no leak", layout=widgets.Layout(width="230px"),
                                      tooltip="set k to the no-leak point k(1 - 1/tau) = 1 for the current tau")
        self.no_leak.on_click(self._click_no_leak)
        left = widgets.VBox([c["k"], c["tau"], c["v_threshold"], c["alpha"], self.no_leak])
        right = widgets.VBox([c["input"], c["strength"], c["reset"], c["seed"]])
        self.widget = widgets.VBox([widgets.HBox([left, right]), self.status, self.image, self.errors])

    def _click_no_leak(self, _button: widgets.Button) -> None:
        try:
            self.set_no_leak()
        except ValueError:
            pass  # set_no_leak already put the reason under the sliders

    def set_no_leak(self) -> float:
        """Set k to tau / (tau - 1), where the leak factor k(1 - 1/tau) is exactly 1; returns that k.

        Raises ValueError (shown under the sliders when clicked) when it lies beyond the k slider.
        """
        tau = self.controls["tau"].value
        k = tau / (tau - 1.0)
        slider = self.controls["k"]
        if not slider.min <= k <= slider.max:
            message = (f"the no-leak k = {k:.3f} for tau = {tau:g} is beyond the k slider ({slider.max:g}); "
                       f"choose tau >= {math.ceil(100 * slider.max / (slider.max - 1)) / 100:g}")
            self.status.value = f"<b style='color:#b00'>{_escape(message)}</b>"
            raise ValueError(message)
        slider.value = k  # not snapped to the slider's step: the observer redraws with exactly this k
        return k

    def update(self) -> dict[str, Any]:
        """Run both neurons on the input the controls describe and redraw the figure."""
        v = {name: control.value for name, control in self.controls.items()}
        x = make_input(v["input"], self.steps, v["strength"], seed=v["seed"])
        common = {"tau": v["tau"], "v_threshold": v["v_threshold"],
                  "v_reset": 0.0 if v["reset"] == "hard" else None, "surrogate": Sigmoid(v["alpha"])}
        lif, klif = LIF(**common), KLIF(k_init=v["k"], **common)
        with torch.no_grad():
            traces = (lif.trace(x), klif.trace(x))
        compare_traces(x, lif, klif, fig=self.figure, traces=traces, show_grad=True)
        spikes = {"LIF": int(traces[0].s.sum()), "KLIF": int(traces[1].s.sum())}
        numbers = _membrane_numbers(v["k"], v["tau"], v["v_threshold"])
        self.status.value = (f"spikes in {self.steps} steps: <b>LIF {spikes['LIF']}</b>, "
                             f"<b>KLIF (k = {v['k']:.2f}) {spikes['KLIF']}</b><br>" + numbers["html"])
        self.state = {"values": v, "x": x, "lif": traces[0], "klif": traces[1], "spikes": spikes,
                      "numbers": numbers, "png": self._png(), "error": None}
        return self.state


def _membrane_numbers(k: float, tau: float, v_threshold: float) -> dict[str, Any]:
    """The below-threshold numbers of KLIF (hard reset, decay_input) for the explorer's status line."""
    leak = dynamics.leak_factor(k, tau)
    steady = dynamics.steady_state_threshold(k, tau, v_threshold)
    growth = "no leak" if abs(leak - 1.0) < 1e-9 else ("grows until it fires" if leak > 1 else "leaks")
    fires = ("any constant X &gt; 0 fires sooner or later, X &le; 0 never" if leak >= 1.0 - 1e-9 else
             f"a constant input fires if X &gt; <b>{steady:.3f}</b> (steady state)")
    html = (f"KLIF leak factor k(1 - 1/tau) = <b>{leak:.3f}</b> ({growth}; LIF {1 - 1 / tau:.3f}) &nbsp;|&nbsp; "
            f"{fires} &nbsp;|&nbsp; "
            f"one step from rest: V_th/k = {v_threshold / k:.3f}")
    return {"leak": leak, "lif_leak": 1 - 1 / tau, "steady_threshold": steady,
            "one_step_threshold": v_threshold / k, "html": html}


def _parse_ks(text: str) -> list[float]:
    """'0.5, 2' -> [0.5, 2.0]; empty -> []."""
    out = []
    for part in text.replace(";", ",").split(","):
        if part.strip():
            try:
                out.append(float(part))
            except ValueError:
                raise ValueError(f"compare ks: {part.strip()!r} is not a number; write e.g. 0.5, 1, 2") from None
    if any(not k > 0 for k in out):
        raise ValueError(f"compare ks: every k must be > 0, got {out}")
    return out


class SurrogateExplorer(_Explorer):
    """KLIF's effective surrogate dS/dH against H: pick the family, alpha, k and more ks."""

    def __init__(self, *, dpi: int = 80, **initial: Any) -> None:
        controls = {
            "family": widgets.Dropdown(options=tuple(SURROGATES), value="Sigmoid", description="surrogate",
                                       style=_style()),
            "alpha": _slider("alpha", 4.0, 0.25, 10.0, 0.25),
            "k": _slider("k", 1.5, 0.1, 4.0, 0.05),
            "v_threshold": _slider("V_th", 1.0, 0.2, 2.0, 0.05),
            "compare": widgets.Text(value="1", description="compare ks", placeholder="e.g. 0.5, 1, 2",
                                    continuous_update=False, style=_style()),
        }
        super().__init__(controls, initial, figsize=(10, 4.4), dpi=dpi)
        c = controls
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([c["family"], c["alpha"]]), widgets.VBox([c["k"], c["v_threshold"]])]),
            c["compare"], self.status, self.image, self.errors,
        ])

    def update(self) -> dict[str, Any]:
        """Redraw dS/dH for k and the compare ks; list centre, peak slope and width of each."""
        v = {name: control.value for name, control in self.controls.items()}
        ks = list(dict.fromkeys([float(v["k"])] + _parse_ks(v["compare"])))
        surrogate = SURROGATES[v["family"]](v["alpha"])
        effective = [effective_surrogate(surrogate, k, v["v_threshold"]) for k in ks]
        self.figure.clear()
        plot_effective_surrogate(surrogate, ks, v_threshold=v["v_threshold"], ax=self.figure.add_subplot())
        self.status.value = "<br>".join(
            f"k = {e.k:g}: centre V_th/k = {e.center:.3f}, peak slope {e.peak_slope:.3f}, width {e.width:.3f}"
            for e in effective)
        self.state = {"values": v, "ks": ks, "surrogate": surrogate, "effective": effective,
                      "png": self._png(), "error": None}
        return self.state


def explore_neuron(**initial: Any) -> NeuronExplorer:
    """Sliders for k, tau, V_th, input, reset and surrogate alpha over LIF vs KLIF traces.

    Settings by control name (``k=2.0, input="Poisson", reset="soft"``); also ``steps`` and ``dpi``.
    """
    return NeuronExplorer(**initial)


def explore_surrogate(**initial: Any) -> SurrogateExplorer:
    """Surrogate family, alpha, k and extra ks over KLIF's effective surrogate dS/dH.

    Settings by control name (``family="ATan", alpha=2.0, k=0.5, compare="1, 2"``); also ``dpi``.
    """
    return SurrogateExplorer(**initial)
