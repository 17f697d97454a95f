"""The worked answers of notebook 04's training-loop exercises: the code ``solution(...)`` shows and
the notebook falls back on until a student's own version passes its check.

    mse_on_rates(rates, y)                                  # 04.loss: one number, differentiable
    train_step(net, optimiser, x_seq, y)                    # 04.step: forward, loss, zero_grad, backward, step
    run_epoch(net, optimiser, train_loader, test_loader, T) # 04.epoch: an epoch of training, then a test pass
"""
from __future__ import annotations

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..data import encode

__all__ = ["mse_on_rates", "train_step", "run_epoch"]


def mse_on_rates(rates: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error between class rates [N, 10] and the one-hot labels y [N]: one number."""
    target = F.one_hot(y, num_classes=rates.shape[1]).to(rates.dtype)  # 1 for the true class, 0 elsewhere
    return ((rates - target) ** 2).mean()  # mean over the classes and the batch


def train_step(net: torch.nn.Module, optimiser: torch.optim.Optimizer, x_seq: torch.Tensor, y: torch.Tensor) -> float:
    """One optimisation step on the batch (x_seq [T, N, 1, 28, 28], y [N]); returns the batch's loss."""
    rates = net(x_seq)  # forward: class rates [N, 10]
    loss = mse_on_rates(rates, y)
    optimiser.zero_grad()  # forget the previous batch's gradients
    loss.backward()  # through the layers and the T steps, into every weight and k
    optimiser.step()  # move them against the gradient
    return loss.item()


def run_epoch(net: torch.nn.Module, optimiser: torch.optim.Optimizer, train_loader, test_loader, T: int):
    """One epoch: train on every batch of train_loader, then a test pass; returns (batch losses, test accuracy %)."""
    net.train()  # BatchNorm: batch statistics while training
    losses = []
    for x, y in tqdm(train_loader, desc="training", leave=False):
        losses.append(train_step(net, optimiser, encode(x, T), y))
    net.eval()  # BatchNorm: its running averages for testing
    correct = total = 0
    with torch.no_grad():  # no gradients needed: faster, less memory
        for x, y in test_loader:
            rates = net(encode(x, T))
            correct += (rates.argmax(1) == y).sum().item()
            total += len(y)
    return losses, 100.0 * correct / total
