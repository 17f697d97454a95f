"""Judges of notebook 04's training-loop exercises, each by what the student's code does.

``judge_loss``: the value and the gradient on random spike-made rates and labels, against the
reference; known wrong values (a sum, labels not one-hot, cross-entropy ...) are named.
``judge_step``: one step's parameter update against the reference's from the same network, batch
and stale gradients; the order of zero_grad / backward / step names what went wrong.
``judge_epoch``: a spy run on a few tagged images whose answers are known: train mode, one step per
training batch, eval mode and no gradients in the test pass, the losses and the accuracy it reports.
(What the loop reaches on real data shows in notebook 04's training cell, which runs it.)
"""
from __future__ import annotations

import copy
import math
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

from . import loop_solutions as ref
from .network_judge import Mistake
from .network_series import SolutionNet

__all__ = ["judge_loss", "judge_step", "judge_epoch"]


def _callable(answer: Any, what: str) -> Callable:
    if answer is None or not callable(answer) or isinstance(answer, type):
        raise Mistake(f"Pass your function itself ({what}), not a {type(answer).__name__}.")
    return answer


def _close(a: float, b: float, rel: float = 1e-4) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-7)


# --- 04.loss -----------------------------------------------------------------------------------
def _spike_rates(n: int, gen: torch.Generator, t: int = 4, voters: int = 10) -> torch.Tensor:
    """Random class rates made of spikes: multiples of 1/(t*voters) in [0, 1]."""
    return torch.randint(0, t * voters + 1, (n, 10), generator=gen).float() / (t * voters)


_WRONG_LOSSES: tuple[tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], str], ...] = (
    (lambda r, y: ((r - F.one_hot(y, 10).float()) ** 2).sum(),
     "It is the sum of the squared errors: take the mean over the classes and the batch."),
    (lambda r, y: ((r - F.one_hot(y, 10).float()) ** 2).sum(1).mean(),
     "It sums over the 10 classes: take the mean over the classes too (F.mse_loss does both)."),
    (lambda r, y: ((r - F.one_hot(y, 10).float()) ** 2).mean().sqrt(),
     "It is the root of the mean squared error: leave out the square root."),
    (lambda r, y: (r - F.one_hot(y, 10).float()).abs().mean(),
     "It averages absolute differences: square them."),
    (lambda r, y: ((r - y[:, None].float()) ** 2).mean(),
     "It compares the rates with the label number y itself: compare them with the one-hot label "
     "F.one_hot(y, 10).float()."),
    (lambda r, y: ((r - (1 - F.one_hot(y, 10).float())) ** 2).mean(),
     "Its target is 0 for the true class and 1 elsewhere: the one-hot label is 1 for the true class."),
    (lambda r, y: ((r.softmax(1) - F.one_hot(y, 10).float()) ** 2).mean(),
     "It applies softmax first: the rates already lie in [0, 1], compare them as they are."),
    (lambda r, y: ((r.sigmoid() - F.one_hot(y, 10).float()) ** 2).mean(),
     "It applies a sigmoid first: the rates already lie in [0, 1], compare them as they are."),
    (lambda r, y: F.cross_entropy(r, y),
     "That is the cross-entropy; the PLIF and KLIF papers train with the mean squared error of the rates."),
)


def _loss_value(fn: Callable, rates: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    try:
        out = fn(rates, y)
    except Exception as err:  # noqa: BLE001 - the student's function may fail in any way
        raise Mistake(f"It failed on rates of shape {list(rates.shape)} and labels {y.tolist()} "
                      f"({type(err).__name__}: {err}).") from err
    if out is None:
        raise Mistake("It returns None: return the loss (a tensor holding one number).")
    if not isinstance(out, torch.Tensor):
        raise Mistake(f"It returns a {type(out).__name__}: return the tensor itself (no .item()), so that "
                      "backward() can run through it.")
    if out.numel() != 1:
        raise Mistake(f"It returns {list(out.shape)} values: reduce them to one number, the mean over the "
                      "classes and the batch.")
    return out


def judge_loss(answer: Any) -> str | None:
    """None when ``answer(rates, y)`` is the MSE between rates and one-hot labels, gradient included."""
    try:
        fn = _callable(answer, "mse_on_rates")
        gen = torch.Generator().manual_seed(4)
        with_nine = torch.tensor([9, 0, 3, 7, 9, 1])
        without_nine = torch.tensor([2, 0, 8, 5])
        for y in (with_nine, without_nine):
            rates = _spike_rates(len(y), gen).requires_grad_(True)
            try:
                out = _loss_value(fn, rates, y)
            except Mistake:
                if y is without_nine and "one_hot" in _source(fn):
                    raise Mistake("It fails on a batch without class 9: give one_hot the number of classes, "
                                  "F.one_hot(y, 10), or such a batch gets only 9 columns.") from None
                raise
            want = ref.mse_on_rates(rates.detach(), y)
            if not _close(float(out.detach()), float(want)):
                for wrong, why in _WRONG_LOSSES:
                    if _close(float(out.detach()), float(wrong(rates.detach(), y))):
                        raise Mistake(why)
                raise Mistake(f"On rates {rates[0].detach().tolist()} ... and labels {y.tolist()} it gives "
                              f"{float(out.detach()):.5g}, the MSE on rates is {float(want):.5g}.")
            if not out.requires_grad:
                raise Mistake("No gradient flows back to the rates: compute with torch operations on the rates "
                              "(no .item(), .detach(), .tolist() or numpy).")
            (grad,) = torch.autograd.grad(out, rates)
            want_grad = 2 * (rates.detach() - F.one_hot(y, 10).float()) / rates.numel()
            if not torch.allclose(grad, want_grad, rtol=1e-4, atol=1e-7):
                raise Mistake("Its value is right but its gradient is not: build it from the rates with torch "
                              "operations only (no constants copied out of them).")
    except Mistake as mistake:
        return str(mistake)
    return None


def _source(fn: Callable) -> str:
    import inspect

    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


# --- 04.step -----------------------------------------------------------------------------------
class _Spy:
    """Records the order of zero_grad, backward and step, and the modes of each forward pass."""

    def __init__(self, net: nn.Module, optimiser: torch.optim.Optimizer) -> None:
        self.events: list[str] = []
        self.forwards: list[tuple[bool, bool]] = []  # (net.training, grad enabled)
        first = next(net.parameters())
        first.register_hook(lambda g: self.events.append("backward"))
        for obj in (optimiser, net):
            original = obj.zero_grad
            obj.zero_grad = self._wrap(original, "zero_grad")
        optimiser.step = self._wrap(optimiser.step, "step")
        net.register_forward_pre_hook(lambda m, a: self.forwards.append((m.training, torch.is_grad_enabled())))

    def _wrap(self, method: Callable, name: str) -> Callable:
        def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003
            self.events.append(name)
            return method(*args, **kwargs)
        return wrapped


def _step_setup(seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small network with stale gradients (as left by a previous batch), and a batch."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = SolutionNet(channels=4)
    x_seq = torch.randn((2, 8, 1, 28, 28), generator=gen).clamp(-2, 2)
    y = torch.arange(8) % 10
    net.train()
    ref.mse_on_rates(net(torch.randn((2, 8, 1, 28, 28), generator=gen)), y.flip(0)).backward()  # stale
    return net, x_seq, y


def _delta(before: nn.Module, after: nn.Module) -> torch.Tensor:
    return torch.cat([(a.detach() - b.detach()).flatten() for a, b in zip(after.parameters(), before.parameters())])


def _order_problem(events: list[str]) -> str | None:
    """The hint for a wrong order of zero_grad / backward / step, or None."""
    if "step" not in events:
        return "It never calls optimiser.step(), so no weight and no k moves."
    if events.count("step") > 1:
        return "It calls optimiser.step() more than once: one step per batch."
    if "backward" not in events:
        return "It never calls loss.backward(): step() then moves the weights by old gradients (or none)."
    if events.index("step") < events.index("backward"):
        return "It calls optimiser.step() before loss.backward(): compute the gradients first, then step."
    zero = [i for i, e in enumerate(events) if e == "zero_grad"]
    if not zero:
        return ("It never calls optimiser.zero_grad(), so the previous batch's gradients are added to this "
                "batch's: clear them before loss.backward().")
    if any(events.index("backward") < i < events.index("step") for i in zero):
        return ("It calls zero_grad() between backward() and step(), wiping the fresh gradients: call it "
                "before loss.backward().")
    return None


def judge_step(answer: Any) -> str | None:
    """None when ``answer(net, optimiser, x_seq, y)`` updates the parameters as the reference step does."""
    try:
        fn = _callable(answer, "train_step")
        net, x_seq, y = _step_setup()
        nets = {who: copy.deepcopy(net) for who in ("before", "ref", "yours")}
        for copied in nets.values():  # the previous batch's gradients, still there
            for p, stale in zip(copied.parameters(), net.parameters()):
                p.grad = stale.grad.clone()
        opts = {who: torch.optim.SGD(nets[who].parameters(), lr=0.5) for who in ("ref", "yours")}
        want_loss = ref.train_step(nets["ref"], opts["ref"], x_seq.clone(), y.clone())
        spy = _Spy(nets["yours"], opts["yours"])
        try:
            got = fn(nets["yours"], opts["yours"], x_seq.clone(), y.clone())
        except Exception as err:  # noqa: BLE001
            if "does not require grad" in str(err):
                raise Mistake("backward() found no graph: compute the loss from the network's output as it is "
                              "(no .detach(), .item() or torch.no_grad() in the step).") from err
            raise Mistake(f"It failed on a batch x_seq {list(x_seq.shape)}, y {list(y.shape)} "
                          f"({type(err).__name__}: {err}).") from err
        want, moved = _delta(nets["before"], nets["ref"]), _delta(nets["before"], nets["yours"])
        if not torch.allclose(moved, want, rtol=1e-3, atol=1e-3 * float(want.abs().max())):
            if spy.forwards and not spy.forwards[0][0]:
                raise Mistake("It runs the network in eval mode: a training step needs net.train() (BatchNorm "
                              "uses the batch's statistics).")
            raise Mistake(_order_problem(spy.events) or (
                "Its update differs from one step of the MSE on the rates of net(x_seq): compute the loss with "
                "mse_on_rates(net(x_seq), y), once per step."))
        if got is None:
            raise Mistake("It returns None: return the batch's loss (loss.item()) so that the loop can record it.")
        value = float(got.detach()) if isinstance(got, torch.Tensor) and got.numel() == 1 else got
        if not isinstance(value, (int, float)) or not _close(float(value), want_loss, rel=1e-3):
            raise Mistake(f"It returns {got!r}; return the batch's loss before the step ({want_loss:.5g}), "
                          "as loss.item().")
    except Mistake as mistake:
        return str(mistake)
    return None


# --- 04.epoch ----------------------------------------------------------------------------------
class _SpyNet(nn.Module):
    """Answers tagged images with known rates and records each forward: (training, grad enabled, image ids)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.seen: list[tuple[bool, bool, list[int]]] = []

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        ids = [int(round(float(v))) - 10 for v in x_seq[0, :, 0, 0, 0]]
        self.seen.append((self.training, torch.is_grad_enabled(), ids))
        return _spy_rates(ids) + 0.0 * self.w


def _spy_rates(ids: list[int]) -> torch.Tensor:
    """Rates whose highest class is the label (id % 10) unless id % 3 == 0."""
    rates = torch.full((len(ids), 10), 0.1)
    for row, i in enumerate(ids):
        rates[row, (i % 10) if i % 3 else (i + 1) % 10] = 0.6
    return rates


def _tagged(ids: range, batch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(ids.start)
    x = torch.randn((len(ids), 1, 28, 28), generator=gen)
    x[:, 0, 0, 0] = torch.tensor([10.0 + i for i in ids])
    y = torch.tensor([i % 10 for i in ids])
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, len(ids), batch)]


class _CountingAdam(torch.optim.Adam):
    steps = 0

    def step(self, closure=None):  # noqa: ANN001
        self.steps += 1
        return super().step(closure)


def _spy_run(fn: Callable) -> None:
    train, test = _tagged(range(0, 12), 4), _tagged(range(100, 107), 4)  # test: batches of 4 and 3
    net = _SpyNet()
    net.eval()  # as the previous epoch's test pass leaves it
    opt = _CountingAdam(net.parameters(), lr=1e-3)
    try:
        result = fn(net, opt, train, test, 2)
    except Exception as err:  # noqa: BLE001
        raise Mistake(f"It failed on a small run ({type(err).__name__}: {err}).") from err
    if not (isinstance(result, tuple) and len(result) == 2):
        raise Mistake("Return two things: the list of batch losses and the test accuracy in % (return losses, "
                      "accuracy).")
    losses, accuracy = result
    train_ids, test_ids = set(range(12)), set(range(100, 107))
    training = [(mode, ids) for mode, _, ids in net.seen if set(ids) <= train_ids]
    testing = [(mode, grad, ids) for mode, grad, ids in net.seen if set(ids) <= test_ids]
    if opt.steps == 0 or not training:
        raise Mistake("It never trains: call train_step(net, optimiser, encode(x, T), y) for every batch of "
                      "train_loader.")
    if not testing:
        if len(training) > len(train):
            raise Mistake("It tests on the training images: run the test pass on test_loader, images the network "
                          "never trained on.")
        raise Mistake("There is no test pass: after the training batches, run the network on every batch of "
                      "test_loader and count the right answers.")
    if any(not mode for mode, _ in training):
        raise Mistake("It trains in eval mode: call net.train() at the start of the epoch (the last test pass "
                      "left the network in eval mode).")
    if opt.steps != len(train) or sorted(i for _, ids in training for i in ids) != sorted(train_ids):
        raise Mistake(f"It made {opt.steps} optimiser steps on {len(train)} training batches: one step per "
                      "batch, every batch once.")
    if any(mode for mode, _, _ in testing):
        raise Mistake("It tests in training mode: call net.eval() before the test pass (BatchNorm then uses "
                      "its running averages).")
    if any(grad for _, grad, _ in testing):
        raise Mistake("Its test pass records gradients it never uses: wrap it in `with torch.no_grad():`.")
    if sorted(i for _, _, ids in testing for i in ids) != sorted(test_ids):
        raise Mistake("Its test pass does not see every test image exactly once: loop over all of test_loader.")
    _check_reported(losses, accuracy, train, test)


def _check_reported(losses: Any, accuracy: Any, train: list, test: list) -> None:
    want_losses = [float(ref.mse_on_rates(_spy_rates([int(v) - 10 for v in x[:, 0, 0, 0]]), y)) for x, y in train]
    try:
        got_losses = [float(v) for v in losses]
    except (TypeError, ValueError):
        raise Mistake("Return the batch losses as a list of numbers (losses.append(train_step(...)))") from None
    if len(got_losses) != len(want_losses) or not all(_close(a, b, 1e-3) for a, b in zip(got_losses, want_losses)):
        raise Mistake(f"It returns {len(got_losses)} losses for {len(train)} training batches: keep the value "
                      "train_step returns for each batch, in order.")
    right = [bool(_spy_rates([int(v) - 10 for v in x[:, 0, 0, 0]]).argmax(1)[j] == y[j])
             for x, y in test for j in range(len(y))]
    want = 100.0 * sum(right) / len(right)
    per_batch = [_spy_rates([int(v) - 10 for v in x[:, 0, 0, 0]]).argmax(1).eq(y).float().mean() for x, y in test]
    try:
        got = float(accuracy)
    except (TypeError, ValueError):
        raise Mistake(f"Return the test accuracy as a number in %, not a {type(accuracy).__name__}.") from None
    if _close(got, want, 1e-6):
        return
    if _close(got, want / 100, 1e-6):
        raise Mistake("It returns a fraction: give the accuracy in % (100 * correct / total).")
    if _close(got, 100.0 * float(torch.stack(per_batch).mean()), 1e-6):
        raise Mistake("It averages the batches' accuracies, but the last batch is smaller: count the right "
                      "answers over all test images, then divide by their number.")
    raise Mistake(f"It reports {got:.4g} % where {want:.4g} % of the test images have their highest rate on the "
                  "true class: count rates.argmax(1) == y over the whole test pass.")


def judge_epoch(answer: Any) -> str | None:
    """None when ``answer(net, optimiser, train_loader, test_loader, T)`` trains one epoch and tests as it should."""
    try:
        fn = _callable(answer, "run_epoch")
        _spy_run(fn)
    except Mistake as mistake:
        return str(mistake)
    return None
