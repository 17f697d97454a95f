"""One training step and one evaluation pass: what every training loop here is made of.

    rates, loss = train_step(model, optimizer, scaler, x, y)      # forward, loss, backward, update
    evaluate(model, loader)                                      # {"loss", "accuracy", "n"}

The network's output is a firing rate per class in [0, 1]. Loss ``"mse"``: mean squared
error between the rates and the one-hot label (PLIF's choice); ``"ce"``: cross-entropy on
the rates. Accuracy: the class with the highest rate (ties go to the lower class index).
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch.nn import functional as F
from torch.utils.data import DataLoader

from .device import autocast

__all__ = ["LOSSES", "TrainingDiverged", "loss_of", "train_step", "evaluate"]

LOSSES = ("mse", "ce")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and step."""


def loss_of(name: str, rates: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The training loss of output rates [N, classes] for labels y [N]."""
    rates = rates.float()
    if name == "mse":
        return F.mse_loss(rates, F.one_hot(y, rates.shape[1]).to(rates.dtype))
    return F.cross_entropy(rates, y)


@torch.no_grad()
def evaluate(
    model: SpikingNet,
    loader: DataLoader,
    device: torch.device | str | None = None,
    loss: str = "mse",
    amp: bool = True,
    distributed: bool = False,
) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` over ``loader`` (eval mode; train mode restored after).

    With ``distributed=True`` each rank passes its shard and the sums are all-reduced.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, count
    try:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with autocast(device, amp):
                rates = model(x)
            total += torch.stack(
                [loss_of(loss, rates, y).double() * len(y), (rates.argmax(1) == y).sum().double(), total.new_tensor(len(y))]
            )
    finally:
        model.train(was_training)
    if distributed and dist.is_initialized():
        dist.all_reduce(total)
    loss_sum, correct, n = total.tolist()
    if n == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return {"loss": loss_sum / n, "accuracy": correct / n, "n": int(n)}


def train_step(
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    x: torch.Tensor,
    y: torch.Tensor,
    loss: str = "mse",
    device: torch.device | None = None,
    amp: bool = False,
    where: str = "this step",
    hint: str = "",
    distributed: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step (forward, loss, backward, update); returns (rates, loss).

    Raises ``TrainingDiverged`` (before touching the weights) when the loss or the gradients
    are NaN or inf. (NaN inputs alone give a finite loss, since a NaN membrane potential never
    crosses the threshold; their gradients are NaN.) Under DDP the ranks agree on the loss
    first, so that they stop together; the gradients are already all-reduced. With mixed
    precision, inf gradients are the GradScaler's business (it skips the step).
    """
    device = device if device is not None else x.device
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    with autocast(device, amp):
        rates = net(x)
    value = loss_of(loss, rates, y)
    finite = torch.isfinite(value.detach())
    if distributed:
        flag = finite.to(torch.int32)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        finite = flag.bool()
    if not bool(finite):
        raise TrainingDiverged(f"the loss became {float(value.detach()):g} at {where}; stopping. {hint}".rstrip())
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(value).backward()
    if not scaler.is_enabled():
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), float("inf"))
        if not bool(torch.isfinite(norm)):
            optimizer.zero_grad(set_to_none=True)
            raise TrainingDiverged(
                f"the gradients became {float(norm):g} (loss {float(value.detach()):.4g}) at {where}; stopping. {hint}".rstrip()
            )
    scaler.step(optimizer)
    scaler.update()
    return rates, value
