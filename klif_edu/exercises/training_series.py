"""Exercises of the training notebooks (05-10) and the reproduction notebook (11).

Most have their numbers fixed in the question. ``run.half_peak`` is about the student's own
run: its reference answer is computed from the probe trace and the trained layer passed as
``check("run.half_peak", answer, run=(trace, neuron))``.
"""
from __future__ import annotations

import torch

from ..surrogate import Sigmoid, effective_surrogate
from ._exercise import _CHOICE, _INTEGER, Exercise
from .neuron_series import _k_center, _k_slope


def _width_ratio(k_before: float, k_after: float) -> float:
    sig = Sigmoid(4.0)
    return effective_surrogate(sig, k=k_after, v_threshold=1.0).width / effective_surrogate(
        sig, k=k_before, v_threshold=1.0).width


def _slope_ratio(k_before: float, k_after: float) -> float:
    return _k_slope(k_after) / _k_slope(k_before)


def _vote(spikes_of_class: int, steps: int, voters: int = 10) -> float:
    # The voting layer as the models compute it: mean over T, then over the class's 10 neurons.
    s = torch.zeros(steps, voters)
    s.view(-1)[:spikes_of_class] = 1.0
    return float(s.mean(0).mean())


def _mse_loss(rate_true: float, classes: int = 10) -> float:
    rates = torch.zeros(1, classes)
    rates[0, 0] = rate_true
    target = torch.zeros(1, classes)
    target[0, 0] = 1.0
    return float(torch.nn.functional.mse_loss(rates, target))


def _paper_model(dataset: str, neuron: str = "lif"):
    from ..models import build_model  # lazy: the neuron exercises do not need the models

    return build_model(dataset, neuron, "paper")


def _first_conv_weights(dataset: str) -> int:
    conv = next(m for m in _paper_model(dataset).modules() if isinstance(m, torch.nn.Conv2d))
    return int(conv.weight.numel())


def _fc1_inputs(dataset: str) -> int:
    fc = next(m for m in _paper_model(dataset).modules() if isinstance(m, torch.nn.Linear))
    return int(fc.in_features)


def _output_neurons(dataset: str) -> int:
    last = [m for m in _paper_model(dataset).modules() if isinstance(m, torch.nn.Linear)][-1]
    return int(last.out_features)


def _k_count(dataset: str) -> int:
    return len(_paper_model(dataset, "klif").k_values())


def _sample_numbers(dataset: str) -> int:
    from ..data import get_spec
    from ..models import PAPER_TIME_STEPS

    spec = get_spec(dataset)
    c, h, w = spec.input_shape
    return int(PAPER_TIME_STEPS[spec.name] * c * h * w)


def _margin(klif: float, lif: float) -> float:
    from ..reproduction import margins

    rows = [{"asked_for": "x", "dataset": "x", "mode": "full", "arch": "paper", "epochs": 1, "time_steps": 8,
             "train_size": 1, "seed": 0, "identity": {}, "path": f"runs/x/{n}/metrics.json", "neuron": n, "test_accuracy": a}
            for n, a in (("klif", klif), ("lif", lif))]
    return margins(rows)[0]["margin"]


def _half_peak_fraction(run) -> float:
    """Fraction of a layer's H values (neurons x steps x samples) where dS/dH >= half its peak."""
    trace, neuron = run
    k = float(neuron.k.detach()) if hasattr(neuron, "k") else 1.0
    h = trace.h.detach().double()
    slope = k * neuron.surrogate.derivative(k * h - neuron.v_threshold) * (k * h > 0)
    return float((slope >= 0.5 * k * neuron.surrogate.peak).double().mean())


def _half_peak_at_k1(run) -> float:
    trace, neuron = run
    h = trace.h.detach().double()
    slope = neuron.surrogate.derivative(h - neuron.v_threshold) * (h > 0)
    return float((slope >= 0.5 * neuron.surrogate.peak).double().mean())


def _example_run():
    """A KLIF layer with k = 1.3 and its trace on a fixed random input: a run for the tests."""
    from ..neurons import KLIF

    torch.manual_seed(0)
    neuron = KLIF(k_init=1.3)
    return neuron.trace(torch.randn(8, 4, 50)), neuron


def _within_noise(margin: float, spread: float) -> str:
    return "no" if abs(margin) <= spread else "yes"


EXERCISES = [
    Exercise(
        name="run.half_peak",
        question=(
            "In your trained KLIF network, what fraction of the layer's membrane potentials H (all neurons, "
            "time steps and probe samples) get a surrogate gradient dS/dH of at least half its peak?"
        ),
        reference=_half_peak_fraction,
        hint=("dS/dH = k g'(kH - V_th) is at least half its peak within width/2 of its centre V_th/k "
              "(surrogate.effective_surrogate gives centre and width for the learned k); count the H values "
              "of the trace that fall there, as a fraction of all of them."),
        worked=lambda a: (f"{a:.3f} of the H values lie within width/2 of V_th/k. Only these neurons learn "
                          "much from a step; a larger k narrows the window (fewer, larger gradients)."),
        wrong_example=-1.0,
        needs_run=True,
        example_run=_example_run,
        rtol=0.05,
        atol=0.01,
        mistakes=((_half_peak_at_k1, "That is the fraction for k = 1; use the k this layer learned."),),
    ),
    Exercise(
        name="05.vote",
        question=(
            "The paper's network ends in a voting layer: 10 output neurons per class, and the output "
            "for a class is their mean firing rate over T steps. With T = 8, the 10 neurons of the class "
            "'7' fire 20 spikes in total. What output does the network give for '7'?"
        ),
        reference=lambda: _vote(20, 8),
        hint="Rate = spikes / (neurons x steps): how many (neuron, step) slots are there?",
        worked=lambda a: f"10 neurons x 8 steps = 80 slots; 20 spikes / 80 = {a:g}.",
        wrong_example=2.5,
        mistakes=((lambda: 20 / 8, "Divide by the 10 voting neurons too, not only by T."),),
    ),
    Exercise(
        name="05.width_ratio",
        question=(
            "During training, a layer's k went from 1.0 to 1.25. By what factor did the width (FWHM in H) "
            "of its effective surrogate dS/dH change? (Answer new width / old width.)"
        ),
        reference=lambda: _width_ratio(1.0, 1.25),
        hint="dS/dH = k g'(kH - V_th): as a function of H the curve is squeezed by the factor k.",
        worked=lambda a: f"The width scales as 1/k: 1.0 / 1.25 = {a:g}. A growing k narrows the surrogate.",
        wrong_example=1.25,
        mistakes=((lambda: 1.25, "That is the factor of the peak slope; the width goes the other way."),),
    ),
    Exercise(
        name="06.mse_loss",
        question=(
            "The training loss is the mean squared error between the 10 output rates and the one-hot label. "
            "An image's true class gets rate 0.2 and every other class rate 0. What is the loss?"
        ),
        reference=lambda: _mse_loss(0.2),
        hint="Mean over the 10 classes of (rate - target)^2; the target is 1 for the true class, 0 elsewhere.",
        worked=lambda a: f"(0.2 - 1)^2 = 0.64 for the true class, 0 for the other nine; mean = 0.64 / 10 = {a:g}.",
        wrong_example=0.64,
        mistakes=((lambda: 0.64, "That is the squared error of one class; take the mean over all 10."),),
    ),
    Exercise(
        name="06.slope_ratio",
        question="A layer's k grew from 1.0 to 1.6 during training. By what factor did its peak dS/dH grow?",
        reference=lambda: _slope_ratio(1.0, 1.6),
        hint="dS/dH = k g'(kH - V_th); the peak of g' does not depend on k.",
        worked=lambda a: f"The peak is k x max g', so it grows by 1.6 / 1.0 = {a:g}.",
        wrong_example=1 / 1.6,
        mistakes=((lambda: 1 / 1.6, "That is how the width changes; the slope scales with k."),),
    ),
    Exercise(
        name="07.conv1_weights",
        question=(
            "The paper's CIFAR-10 network starts with a 3x3 convolution from the 3 colour channels to "
            "256 channels, without bias. How many weights does it have?"
        ),
        reference=lambda: _first_conv_weights("cifar10"),
        hint="One 3x3 kernel per (input channel, output channel) pair.",
        worked=lambda a: f"3 x 256 x 3 x 3 = {a}.",
        wrong_example=256 * 9,
        kind=_INTEGER,
        mistakes=((lambda: 256 * 9, "Each output channel sees all 3 input channels."),),
    ),
    Exercise(
        name="07.k_count",
        question=(
            "How many learnable k does the paper's CIFAR-10 network with KLIF neurons have? "
            "(Six conv blocks and two fully connected blocks, one spiking layer each.)"
        ),
        reference=lambda: _k_count("cifar10"),
        hint="KLIF has one k per spiking layer, shared by all its neurons.",
        worked=lambda a: f"One k per spiking layer: 6 conv + 2 fc = {a}. Compare that with millions of weights.",
        wrong_example=6,
        kind=_INTEGER,
        mistakes=((lambda: 6, "The two fully connected blocks have spiking layers too."),),
    ),
    Exercise(
        name="08.sample_numbers",
        question=(
            "An N-MNIST sample becomes T = 10 frames of 2 polarities x 34 x 34 pixels. "
            "How many numbers does the network get per sample?"
        ),
        reference=lambda: _sample_numbers("nmnist"),
        hint="Multiply frames x polarities x height x width.",
        worked=lambda a: f"10 x 2 x 34 x 34 = {a}, against 28 x 28 = 784 for an MNIST image.",
        wrong_example=2 * 34 * 34,
        kind=_INTEGER,
        mistakes=((lambda: 2 * 34 * 34, "That is one frame; there are T = 10 of them."),),
    ),
    Exercise(
        name="08.centre_shift",
        question=(
            "After training on events, a layer has k = 0.8 (V_th = 1). At which membrane potential H "
            "does its dS/dH peak now (it peaked at H = 1 before training)?"
        ),
        reference=lambda: _k_center(0.8),
        hint="The surrogate peaks where k*H - V_th = 0.",
        worked=lambda a: f"H = V_th / k = 1 / 0.8 = {a:g}: a k below 1 raises the effective threshold.",
        wrong_example=0.8,
        mistakes=((lambda: 0.8, "That is V_th * k; solve k*H = V_th for H."),),
    ),
    Exercise(
        name="09.fc1_inputs",
        question=(
            "The paper's CIFAR10-DVS network takes 128 x 128 frames through four conv blocks of 128 "
            "channels, each followed by a 2x2 max-pool. How many inputs does the first fully connected "
            "layer get?"
        ),
        reference=lambda: _fc1_inputs("cifar10-dvs"),
        hint="Each 2x2 pool halves height and width; then flatten channels x height x width.",
        worked=lambda a: f"128 / 2^4 = 8, so 128 channels x 8 x 8 = {a}.",
        wrong_example=128 * 16 * 16,
        kind=_INTEGER,
        mistakes=((lambda: 128 * 16 * 16, "Count the pools again: there are four."),),
    ),
    Exercise(
        name="09.width_ratio",
        question="A layer's k fell from 1.0 to 0.5. By what factor did the width of its dS/dH change?",
        reference=lambda: _width_ratio(1.0, 0.5),
        hint="The width of k g'(kH - V_th) as a function of H scales as 1/k.",
        worked=lambda a: f"1 / 0.5 = {a:g}: the surrogate got twice as wide (and half as tall).",
        wrong_example=0.5,
        mistakes=((lambda: 0.5, "A smaller k makes the curve wider, not narrower."),),
    ),
    Exercise(
        name="10.output_neurons",
        question=(
            "DVS128 Gesture has 11 classes and the network votes with 10 neurons per class. "
            "How many neurons does the last spiking layer have?"
        ),
        reference=lambda: _output_neurons("dvs-gesture"),
        hint="Classes x voters per class.",
        worked=lambda a: f"11 x 10 = {a}.",
        wrong_example=100,
        kind=_INTEGER,
        mistakes=((lambda: 100, "That is the number for 10 classes; DVS128 Gesture has 11."),),
    ),
    Exercise(
        name="10.fc1_inputs",
        question=(
            "The DVS128 Gesture network has five conv blocks (128 channels, each with a 2x2 max-pool) on "
            "128 x 128 frames. How many inputs does its first fully connected layer get?"
        ),
        reference=lambda: _fc1_inputs("dvs-gesture"),
        hint="Five poolings: 128 / 2^5 pixels per side, times 128 channels.",
        worked=lambda a: f"128 / 32 = 4, so 128 x 4 x 4 = {a}.",
        wrong_example=8192,
        kind=_INTEGER,
        mistakes=((lambda: 8192, "That is after four pools (CIFAR10-DVS); count five."),),
    ),
    Exercise(
        name="11.margin",
        question=(
            "Two runs trained alike reach 93.4 % (KLIF) and 92.9 % (LIF) test accuracy. "
            "What is the KLIF-minus-LIF margin in percentage points?"
        ),
        reference=lambda: _margin(93.4, 92.9),
        hint="Subtract LIF's accuracy from KLIF's, in points (not a ratio).",
        worked=lambda a: f"93.4 - 92.9 = {a:+.1f} points.",
        wrong_example=-0.5,
        mistakes=((lambda: -0.5, "KLIF minus LIF, not LIF minus KLIF."),),
    ),
    Exercise(
        name="11.noise",
        question=(
            "Repeating the LIF run with five seeds gives accuracies that spread over 0.6 points. "
            "Is a KLIF-minus-LIF margin of +0.4 points from one run each evidence that KLIF is better? "
            "Answer yes or no."
        ),
        reference=lambda: _within_noise(0.4, 0.6),
        hint="Compare the margin with how much the same setting varies from seed to seed.",
        worked=lambda a: (f"{a}: +0.4 points lies inside the 0.6-point spread of seeds alone. More seeds per "
                          "neuron (and a mean with its spread) are needed before calling a winner."),
        wrong_example="yes",
        kind=_CHOICE,
        choices=("yes", "no"),
    ),
]
