"""Exercises of notebook 04 (build and train a network): the student's nn.Module, the MSE on rates
by hand, and the training loop (loss function, one step, one epoch with its test pass).

The code exercises take code, not a number: ``check("04.network", MyNet)`` probes the class's
behaviour (``network_judge``), ``check("04.loss" | "04.step" | "04.epoch", fn)`` runs the function
(``loop_judge``). The worked answers are ``SolutionNet`` below and ``loop_solutions``, shown by
``solution(name)``; the notebook goes on with them until a student's own version passes.
"""
from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from ..neurons import KLIF
from ..steps import loss_of
from . import loop_solutions
from ._exercise import Exercise
from .network_judge import PROBE_SHAPE, judge_network

__all__ = ["SolutionNet", "judge_network", "PROBE_SHAPE", "EXERCISES"]

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


_CODE_HINT = 'Fix that one thing and check again; solution("{name}") shows one way to write it.'


def _network_worked(_: Any) -> str:
    return "One way to write it:\n\n```python\n" + inspect.getsource(SolutionNet) + "```"


def _code_worked(answer: Any) -> str:
    return "One way to write it:\n\n```python\n" + inspect.getsource(answer) + "```"


def _judge(name: str):
    """The loop judge ``name``, imported when a check runs (it builds networks of this module)."""
    def judge(answer: Any) -> str | None:
        from . import loop_judge

        return getattr(loop_judge, name)(answer)
    return judge


def _sum_of_squares(rates: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((rates - torch.nn.functional.one_hot(y, 10).float()) ** 2).sum()


def _step_without_zero_grad(net: nn.Module, optimiser: torch.optim.Optimizer, x_seq: torch.Tensor,
                            y: torch.Tensor) -> float:
    loss = loop_solutions.mse_on_rates(net(x_seq), y)
    loss.backward()
    optimiser.step()
    return loss.item()


def _epoch_without_test(net: nn.Module, optimiser: torch.optim.Optimizer, train_loader, test_loader, T: int):
    net.train()
    return [loop_solutions.train_step(net, optimiser, x.expand(T, *x.shape), y) for x, y in train_loader], 0.0


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
        hint=_CODE_HINT.format(name="04.network"),
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
    Exercise(
        name="04.loss",
        question=(
            "Write mse_on_rates(rates, y): the mean squared error between the class rates [N, 10] and the "
            "one-hot labels of y [N], as one number (a tensor) that backward() can run through."
        ),
        reference=lambda: loop_solutions.mse_on_rates,
        hint=_CODE_HINT.format(name="04.loss"),
        worked=_code_worked,
        wrong_example=_sum_of_squares,
        judge=_judge("judge_loss"),
    ),
    Exercise(
        name="04.step",
        question=(
            "Write train_step(net, optimiser, x_seq, y): one optimisation step on a batch (forward, loss, "
            "zero_grad, backward, step) that returns the batch's loss as a number."
        ),
        reference=lambda: loop_solutions.train_step,
        hint=_CODE_HINT.format(name="04.step"),
        worked=_code_worked,
        wrong_example=_step_without_zero_grad,
        judge=_judge("judge_step"),
    ),
    Exercise(
        name="04.epoch",
        question=(
            "Write run_epoch(net, optimiser, train_loader, test_loader, T): one epoch of training (every batch "
            "directly encoded over T steps and passed to train_step), then a test pass; return the list of batch "
            "losses and the test accuracy in %."
        ),
        reference=lambda: loop_solutions.run_epoch,
        hint=_CODE_HINT.format(name="04.epoch"),
        worked=_code_worked,
        wrong_example=_epoch_without_test,
        judge=_judge("judge_epoch"),
    ),
]
