"""klif-edu: a notebook-first teaching package about the KLIF spiking neuron.

KLIF (Jiang & Zhang, 2023) is a leaky integrate-and-fire neuron with one learnable scale k
per layer: it fires on F[t] = ReLU(k * H[t]), so training k reshapes the surrogate gradient.
PLIF (Fang et al. 2021), its peer, learns the time constant tau (the leak) instead.
"""
from . import functional, surrogate
from .neurons import KLIF, LIF, PLIF, Trace
from .notebook_setup import setup_report

__all__ = ["KLIF", "LIF", "PLIF", "Trace", "functional", "surrogate", "setup_report", "__version__"]
__version__ = "0.1.0"
