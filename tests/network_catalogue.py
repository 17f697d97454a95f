"""Networks a student might write for exercise 04.network: correct ones in several styles, and the
mistakes beginners make, each with the words its hint must contain (used by tests/test_network_judge.py)."""
from __future__ import annotations

import torch
from torch import nn

from klif_edu import KLIF, LIF
from klif_edu.exercises.network_series import SolutionNet


# --- correct networks ---------------------------------------------------------------------------
class SequenceNet(nn.Module):
    """The neurons' sequence forward n(x_seq) instead of a step loop; time folded into the batch."""

    def __init__(self, channels: int = 12) -> None:
        super().__init__()
        c = channels
        self.conv1, self.bn1, self.sn1 = nn.Conv2d(1, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), KLIF()
        self.conv2, self.bn2, self.sn2 = nn.Conv2d(c, 2 * c, 3, padding=1, bias=False), nn.BatchNorm2d(2 * c), KLIF()
        self.fc, self.sn3 = nn.Linear(2 * c * 7 * 7, 100), KLIF()

    def forward(self, x_seq):
        t, n = x_seq.shape[:2]
        h = self.bn1(self.conv1(x_seq.flatten(0, 1)))
        s = self.sn1(h.view(t, n, *h.shape[1:]))
        h = self.bn2(self.conv2(nn.functional.max_pool2d(s.flatten(0, 1), 2)))
        s = self.sn2(h.view(t, n, *h.shape[1:]))
        h = self.fc(nn.functional.max_pool2d(s.flatten(0, 1), 2).flatten(1))
        s = self.sn3(h.view(t, n, -1))
        return s.mean(0).view(n, 10, 10).mean(2)


class ThreeConvNet(nn.Module):
    """A different number of layers, nn.ModuleList, 5 voters per class, conv with bias."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1),
                                    nn.Conv2d(8, 16, 3, padding=1)])
        self.bns = nn.ModuleList([nn.BatchNorm2d(8), nn.BatchNorm2d(8), nn.BatchNorm2d(16)])
        self.neurons = nn.ModuleList([KLIF(), KLIF(), KLIF(), KLIF()])
        self.fc = nn.Linear(16 * 7 * 7, 50)

    def forward(self, x_seq):
        vs = [None] * 4
        out = []
        for x in x_seq:
            for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
                x, vs[i] = self.neurons[i].step(bn(conv(x)), vs[i])
                if i != 1:
                    x = nn.functional.max_pool2d(x, 2) if i == 0 else nn.functional.avg_pool2d(x, 2)
            s, vs[3] = self.neurons[3].step(self.fc(x.flatten(1)), vs[3])
            out.append(s)
        return torch.stack(out).mean(0).view(-1, 10, 5).mean(2)


class OneConvNet(nn.Module):
    """One conv block and the output layer; the loop written with an index."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn, self.sn1 = nn.Conv2d(1, 8, 5, padding=2, bias=False), nn.BatchNorm2d(8), KLIF(tau=3.0)
        self.pool = nn.MaxPool2d(4)
        self.fc, self.sn2 = nn.Linear(8 * 7 * 7, 100), KLIF()

    def forward(self, x_seq):
        v1 = v2 = None
        total = 0
        for t in range(x_seq.shape[0]):
            s1, v1 = self.sn1.step(self.bn(self.conv(x_seq[t])), v1)
            s2, v2 = self.sn2.step(self.fc(self.pool(s1).flatten(1)), v2)
            total = total + s2
        return (total / x_seq.shape[0]).reshape(x_seq.shape[1], 10, 10).mean(-1)


CORRECT = {
    "the worked solution": SolutionNet,
    "the worked solution, 8 channels": lambda: SolutionNet(channels=8),
    "sequence forward n(x_seq)": SequenceNet,
    "three convs, ModuleList, 5 voters": ThreeConvNet,
    "one conv block": OneConvNet,
}


# --- wrong networks -----------------------------------------------------------------------------
class IgnoresInput(SolutionNet):
    def forward(self, x_seq):
        return super().forward(torch.zeros_like(x_seq))


class ForgetsV(SolutionNet):
    def forward(self, x_seq):
        out = []
        for x in x_seq:  # v is never carried: every step starts from rest
            s1, _ = self.sn1.step(self.bn1(self.conv1(x)))
            s2, _ = self.sn2.step(self.bn2(self.conv2(self.pool(s1))))
            s3, _ = self.sn3.step(self.fc(self.pool(s2).flatten(1)))
            out.append(s3)
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class ForgetsVOneLayer(SolutionNet):
    def forward(self, x_seq):
        v1 = v2 = v3 = None
        out = []
        for x in x_seq:
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, _ = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)  # forgot to keep v2
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3)
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class ZeroState(SolutionNet):
    """Its own 'from rest' each step: torch.zeros instead of the carried v."""

    def forward(self, x_seq):
        out = []
        for x in x_seq:
            h1 = self.bn1(self.conv1(x))
            s1, _ = self.sn1.step(h1, torch.zeros_like(h1))
            h2 = self.bn2(self.conv2(self.pool(s1)))
            s2, _ = self.sn2.step(h2, torch.zeros_like(h2))
            h3 = self.fc(self.pool(s2).flatten(1))
            s3, _ = self.sn3.step(h3, torch.zeros_like(h3))
            out.append(s3)
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class OneStepSequences(SolutionNet):
    """Calls the sequence forward on one step at a time: every call starts from rest."""

    def forward(self, x_seq):
        out = []
        for x in x_seq:
            s1 = self.sn1(self.bn1(self.conv1(x))[None])[0]
            s2 = self.sn2(self.bn2(self.conv2(self.pool(s1)))[None])[0]
            out.append(self.sn3(self.fc(self.pool(s2).flatten(1))[None])[0])
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class SwappedState(SolutionNet):
    """s and v swapped: the spikes are carried as the state and the state is passed on as spikes."""

    def forward(self, x_seq):
        v1 = v2 = v3 = None
        out = []
        for x in x_seq:
            v1, s1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            v2, s2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            v3, s3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3)
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class FirstStepOnly(SolutionNet):
    def forward(self, x_seq):
        return super().forward(x_seq[:1].expand_as(x_seq))


class SkipsLastStep(SolutionNet):
    def forward(self, x_seq):
        return super().forward(x_seq[:-1])


class SigmoidReadout(SolutionNet):
    """An analogue value squashed into [0, 1] instead of spikes."""

    def forward(self, x_seq):
        v1 = v2 = None
        out = []
        for x in x_seq:
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            out.append(torch.sigmoid(self.fc(self.pool(s2).flatten(1))))
            self.sn3(self.fc(self.pool(s2).flatten(1))[None])  # runs sn3 but ignores its spikes
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class MembraneReadout(SolutionNet):
    """The output layer's V clamped into [0, 1]."""

    def forward(self, x_seq):
        v1 = v2 = v3 = None
        out = []
        for x in x_seq:
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(v3.clamp(0, 1))
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class LastStepReadout(SolutionNet):
    def forward(self, x_seq):
        v1 = v2 = v3 = None
        for x in x_seq:
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
        return s3.view(-1, 10, 10).mean(2)


class SumsSpikes(SolutionNet):
    def forward(self, x_seq):
        return super().forward(x_seq) * x_seq.shape[0]


class DetachedK(SolutionNet):
    def __init__(self):
        super().__init__()
        self.sn2.k.requires_grad_(False)


class DetachedSpikes(SolutionNet):
    def forward(self, x_seq):
        v1 = v2 = v3 = None
        out = []
        for x in x_seq:
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1.detach()))), v2)
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3)
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class NoGrad(SolutionNet):
    def forward(self, x_seq):
        with torch.no_grad():
            return super().forward(x_seq)


class NoPadding(SolutionNet):
    """conv2 without padding=1: 14x14 becomes 12x12, then 6x6 after the pool."""

    def __init__(self):
        super().__init__()
        self.conv2 = nn.Conv2d(16, 32, 3, bias=False)


class FiveD(SolutionNet):
    def forward(self, x_seq):
        s1 = self.sn1(self.bn1(self.conv1(x_seq)))
        return s1.mean()


class ChannelMismatch(SolutionNet):
    def __init__(self):
        super().__init__()
        self.conv2 = nn.Conv2d(8, 32, 3, padding=1, bias=False)


class Voters100(SolutionNet):
    def forward(self, x_seq):
        v1 = v2 = v3 = None
        out = []
        for x in x_seq:
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3)
        return torch.stack(out).mean(0)


class PerStep(SolutionNet):
    def forward(self, x_seq):
        v1 = v2 = v3 = None
        out = []
        for x in x_seq:
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3.view(-1, 10, 10).mean(2))
        return torch.stack(out)


class KeepsStateBetweenCalls(SolutionNet):
    def __init__(self):
        super().__init__()
        self.v = None

    def forward(self, x_seq):
        v1, v2, v3 = self.v if self.v is not None else (None, None, None)
        out = []
        for x in x_seq:
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3)
        self.v = (v1.detach(), v2.detach(), v3.detach())
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class MixesBatch(SolutionNet):
    def forward(self, x_seq):
        return super().forward(x_seq).t().reshape(-1, 10)


class SharedKLIF(SolutionNet):
    def __init__(self):
        super().__init__()
        self.sn1 = self.sn2 = self.sn3 = KLIF()  # one module for three layers


class PythonList(SolutionNet):
    def __init__(self):
        super().__init__()
        del self.sn1, self.sn2, self.sn3
        self.neurons = [KLIF(), KLIF(), KLIF()]  # a plain list: not part of the module

    @property
    def sn1(self):
        return self.neurons[0]

    @property
    def sn2(self):
        return self.neurons[1]

    @property
    def sn3(self):
        return self.neurons[2]


class MadeInForward(SolutionNet):
    def forward(self, x_seq):
        for name in ("sn1", "sn2", "sn3"):
            object.__setattr__(self, "_" + name, KLIF())
        v1 = v2 = v3 = None
        out = []
        for x in x_seq:
            s1, v1 = self._sn1.step(self.bn1(self.conv1(x)), v1)
            s2, v2 = self._sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            s3, v3 = self._sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3)
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class UsesLIF(SolutionNet):
    def __init__(self):
        super().__init__()
        self.sn1, self.sn2, self.sn3 = LIF(), LIF(), LIF()


class NoNeuron(SolutionNet):
    def forward(self, x_seq):
        h = torch.stack([self.fc(self.pool(self.bn2(self.conv2(self.pool(self.bn1(self.conv1(x)))))).flatten(1))
                         for x in x_seq])
        return (h > 0).float().mean(0).view(-1, 10, 10).mean(2)


class UnusedKLIF(SolutionNet):
    def __init__(self):
        super().__init__()
        self.sn4 = KLIF()


class NoBN(SolutionNet):
    def __init__(self):
        super().__init__()
        self.bn1 = self.bn2 = nn.Identity()


class FixedT(SolutionNet):
    def forward(self, x_seq):
        v1 = v2 = v3 = None
        out = []
        for t in range(4):
            s1, v1 = self.sn1.step(self.bn1(self.conv1(x_seq[t])), v1)
            s2, v2 = self.sn2.step(self.bn2(self.conv2(self.pool(s1))), v2)
            s3, v3 = self.sn3.step(self.fc(self.pool(s2).flatten(1)), v3)
            out.append(s3)
        return torch.stack(out).mean(0).view(-1, 10, 10).mean(2)


class Broken(SolutionNet):
    def forward(self, x_seq):
        raise RuntimeError("oops")


# name -> (network, words its hint must contain)
WRONG = {
    "ignores its input": (IgnoresInput, "does not change when the input changes"),
    "forgets V between steps": (ForgetsV, "starts from rest at every time step"),
    "forgets V in one layer": (ForgetsVOneLayer, "`sn2` starts from rest"),
    "restarts from zeros each step": (ZeroState, "`sn1` gets a state v other than"),
    "spikes and state swapped": (SwappedState, "in that order"),
    "sequence forward on one step at a time": (OneStepSequences, "restarted from rest"),
    "uses only the first time step": (FirstStepOnly, "only the first time step is used"),
    "skips the last time step": (SkipsLastStep, "time step 3 is never used"),
    "sigmoid readout in [0, 1]": (SigmoidReadout, "not a count of spikes"),
    "membrane readout clamped to [0, 1]": (MembraneReadout, "not a count of spikes"),
    "reads the last step only": (LastStepReadout, "one time step only"),
    "sums instead of averaging": (SumsSpikes, "not their sum"),
    "k frozen": (DetachedK, "`sn2` is frozen"),
    "spikes detached between layers": (DetachedSpikes, "No gradient reaches the k of `sn1`"),
    "forward under no_grad": (NoGrad, "carries no gradient"),
    "32*7*7 without padding=1": (NoPadding, "padding=1"),
    "conv on the whole sequence": (FiveD, "5-D input"),
    "conv channels do not match": (ChannelMismatch, "`conv2` expects 8 input channels but gets 16"),
    "no voting": (Voters100, "one rate per output neuron"),
    "no time average": (PerStep, "one value per time step"),
    "keeps V between calls": (KeepsStateBetweenCalls, "second call"),
    "mixes the batch": (MixesBatch, "other images"),
    "one KLIF for all layers": (SharedKLIF, "serves several layers"),
    "KLIFs in a Python list": (PythonList, "plain Python list"),
    "KLIF made in forward": (MadeInForward, "made inside forward"),
    "LIF instead of KLIF": (UsesLIF, "uses LIF neurons"),
    "no spiking neuron": (NoNeuron, "never runs a spiking neuron"),
    "a KLIF never used": (UnusedKLIF, "`sn4` is never used"),
    "no BatchNorm": (NoBN, "BatchNorm2d"),
    "T fixed at 4": (FixedT, "any number of time steps"),
    "forward raises": (Broken, "RuntimeError: oops"),
    "constructor raises": (lambda: 1 / 0, "no arguments"),
}
