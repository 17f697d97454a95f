"""The building blocks of klif_edu's networks: per-step application, BatchNorm, dropout, one block.

    block = Block(synapse=nn.Sequential(conv, BatchNorm2d(c)), neuron=KLIF(), pool=True)
    s_seq = block(x_seq)            # [T, N, ...] -> spikes [T, N, ...] (pooled if the block pools)

Stateless layers run on all time steps at once by folding T into the batch (``per_step``).
``klif_edu.models`` stacks these blocks into the paper's and the classroom networks.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["per_step", "BatchNorm1d", "BatchNorm2d", "SeqDropout", "Block"]


def per_step(module: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    """Apply a stateless module to every time step at once: [T, N, ...] -> [T*N, ...] -> [T, N, ...]."""
    t, n = x_seq.shape[:2]
    y = module(x_seq.flatten(0, 1))
    return y.view(t, n, *y.shape[1:])


class _WarmStartNorm:
    """BatchNorm whose running statistics start as a plain average of the first batches.

    PyTorch's running mean/var start at 0/1 and move by momentum 0.1 per batch, so after n
    batches 0.9**n of the start value is left. A short classroom run (a dozen batches) then
    evaluates with a variance still near 1: in eval mode every layer's input shrinks and the
    output layer falls silent (test accuracy at chance while training accuracy is 70 %).
    Batch n (from 1) uses momentum max(0.1, 1/n): the exact mean of the first ten batches'
    statistics, then PyTorch's usual exponential average. Depends only on the saved
    ``num_batches_tracked``, so a resumed run matches an uninterrupted one.
    """

    WARM_BATCHES = 10

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._warming = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.track_running_stats and self._warming:
            seen = int(self.num_batches_tracked)  # a host read only while warming up
            self._warming = seen + 1 < self.WARM_BATCHES
            self.momentum = 1.0 / (seen + 1) if self._warming else 0.1
        return super().forward(x)


class BatchNorm1d(_WarmStartNorm, nn.BatchNorm1d):
    """nn.BatchNorm1d with warm-started running statistics (see _WarmStartNorm)."""


class BatchNorm2d(_WarmStartNorm, nn.BatchNorm2d):
    """nn.BatchNorm2d with warm-started running statistics (see _WarmStartNorm)."""


class SeqDropout(nn.Module):
    """Dropout with one mask per sequence, shared by all T steps of x_seq [T, N, ...].

    A neuron dropped at t=0 stays dropped for the whole sample (as SpikingJelly's
    ``layer.Dropout``); ordinary dropout would redraw the mask every step.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"SeqDropout: p must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x_seq
        keep = torch.empty_like(x_seq[0]).bernoulli_(1.0 - self.p) / (1.0 - self.p)
        return x_seq * keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Block(nn.Module):
    """synapse (conv3x3-BN or dropout-linear) -> spiking layer -> optional max-pool 2x2.

    ``forward`` takes and returns [T, N, ...]. ``fire`` starts after the synapse, for the
    direct-encoding shortcut where the first synapse runs once on the static image.
    """

    def __init__(self, synapse: nn.Module, neuron: nn.Module, pool: bool, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = SeqDropout(dropout) if dropout > 0 else None
        self.synapse = synapse
        self.neuron = neuron
        self.pool = nn.MaxPool2d(2, 2) if pool else None

    def fire(self, y_seq: torch.Tensor) -> torch.Tensor:
        """Spikes (pooled if the block pools) for synaptic input y_seq [T, N, ...]."""
        s = self.neuron(y_seq)
        return per_step(self.pool, s) if self.pool is not None else s

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if self.dropout is not None:
            x_seq = self.dropout(x_seq)
        return self.fire(per_step(self.synapse, x_seq))
