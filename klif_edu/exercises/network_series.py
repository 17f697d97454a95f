"""Exercises of notebook 04 (build a network): the student's nn.Module and the MSE-on-rates loss.

The network exercise takes code, not a number: ``check("04.network", MyNet)`` builds the class
with no arguments, runs it on a fixed batch and says what is missing. The worked answer is
``SolutionNet`` below, shown by ``solution("04.network")``.
"""
from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from ..neurons import KLIF
from ..steps import loss_of
from ._exercise import Exercise

__all__ = ["SolutionNet", "judge_network", "PROBE_SHAPE", "EXERCISES"]

PROBE_SHAPE = (4, 3, 1, 28, 28)  # [T, N, C, H, W]: what check("04.network", ...) feeds the network


class SolutionNet(nn.Module):
    """conv-BN-KLIF, pool, conv-BN-KLIF, pool, linear-KLIF with 10 voters per class; x [T, N, 1, 28, 28]."""

    def __init__(self, channels: int = 16, voters: int = 10, classes: int = 10) -> None:
        super().__init__()
        self.voters, self.classes = voters, classes
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1, bias=False)  # BN follows: no bias
        self.bn1 = nn.BatchNorm2d(channels)
        self.sn1 = KLIF()  # one k for the whole layer
        self.conv2 = nn.Conv2d(channels, 2 * channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * channels)
        self.sn2 = KLIF()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(2 * channels * 7 * 7, voters * classes)
        self.sn3 = KLIF()

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        v1 = v2 = v3 = None  # every neuron starts from rest
        out = []
        for x in x_seq:  # the time loop: one step at a time, carrying each layer's V
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3)
        rates = torch.stack(out).mean(0)  # [N, voters * classes]: firing rate of each output neuron
        return rates.view(-1, self.classes, self.voters).mean(2)  # voting: mean rate per class


def _build(answer: Any) -> nn.Module:
    if isinstance(answer, nn.Module):
        return answer
    if isinstance(answer, type) and issubclass(answer, nn.Module):
        return answer()
    raise TypeError(f"expected your nn.Module subclass (the class itself), got {type(answer).__name__}")


def judge_network(answer: Any) -> str | None:
    """None when ``answer`` (an nn.Module subclass or instance) is a trainable conv-BN-KLIF
    classifier of [T, N, 1, 28, 28] into 10 class rates; else what is wrong, in one sentence."""
    try:
        model = _build(answer)
    except Exception as err:  # noqa: BLE001 - the student's constructor may fail in any way
        return f"Could not build it with no arguments ({type(err).__name__}: {err})."
    kinds = [type(m) for m in model.modules()]
    klifs = [m for m in model.modules() if isinstance(m, KLIF)]
    if nn.Conv2d not in kinds or not any(issubclass(k, nn.modules.batchnorm._BatchNorm) for k in kinds):
        return "It needs at least one nn.Conv2d followed by an nn.BatchNorm2d."
    if len(klifs) < 2:
        return f"It has {len(klifs)} KLIF layer(s); give every conv and the output layer its own KLIF."
    params = {id(p) for p in model.parameters()}
    if any(id(n.k) not in params for n in klifs):
        return "A KLIF's k is not among model.parameters(): make each KLIF an attribute (self.sn1 = KLIF())."
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(PROBE_SHAPE, generator=gen)
    model.train()
    try:
        rates = model(x)
    except Exception as err:  # noqa: BLE001
        return f"The forward pass on x of shape {list(PROBE_SHAPE)} failed ({type(err).__name__}: {err})."
    if not isinstance(rates, torch.Tensor) or tuple(rates.shape) != (PROBE_SHAPE[1], 10):
        shape = tuple(rates.shape) if isinstance(rates, torch.Tensor) else type(rates).__name__
        return f"For x of shape {list(PROBE_SHAPE)} it should return rates of shape [3, 10], got {shape}."
    if float(rates.detach().min()) < 0 or float(rates.detach().max()) > 1:
        return "Its outputs should be firing rates in [0, 1] (mean of spikes over time and voters)."
    rates.sum().backward()
    if any(n.k.grad is None for n in klifs):
        return "No gradient reached every k: are all KLIF layers used in forward?"
    return None


def _network_worked(_: Any) -> str:
    return "One way to write it:\n\n```python\n" + inspect.getsource(SolutionNet) + "```"


def _mse(rates: list[float], label: int) -> float:
    return float(loss_of("mse", torch.tensor([rates], dtype=torch.float64), torch.tensor([label])))


_RATES = [0.0, 0.6, 0.2, 0.0, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0]

EXERCISES = [
    Exercise(
        name="04.network",
        question=(
            "Write an nn.Module subclass whose forward takes x_seq [T, N, 1, 28, 28] and returns class "
            "rates [N, 10]: conv-BN-KLIF blocks, a linear-KLIF output layer with 10 voters per class, "
            "a time loop, and the voting readout. Pass the class itself to check."
        ),
        reference=lambda: SolutionNet,
        hint=(
            "Make every layer an attribute in __init__ (self.sn1 = KLIF()), loop over x_seq's first "
            "dimension calling neuron.step(current, v), average the output spikes over time, then "
            "average each group of 10 voters."
        ),
        worked=_network_worked,
        wrong_example=nn.Linear,
        judge=judge_network,
    ),
    Exercise(
        name="04.mse",
        question=(
            f"A network outputs the class rates {_RATES} for an image of class 1. "
            "What is the MSE loss against the one-hot label (mean over the 10 classes)?"
        ),
        reference=lambda: _mse(_RATES, 1),
        hint="One-hot: 1 for class 1, 0 elsewhere. Square each difference, add them up, divide by 10.",
        worked=lambda a: (
            "Differences from [0, 1, 0, ...]: 0.6 - 1 = -0.4 for class 1, 0.2 for classes 2 and 4, 0 "
            f"elsewhere; (0.16 + 0.04 + 0.04) / 10 = {a:.3g}."
        ),
        wrong_example=0.24,
        mistakes=((lambda: 0.24, "That is the sum of squares; the mean divides by the 10 classes."),),
        atol=1e-4,
    ),
]
