"""torch.compile for the fused loops: one compiled loop per configuration and T, plain inputs,
and a fall-back to the eager loops only when the compiler cannot work on this machine.

    compiled_for(cfg, T)(eager_fn, graph_fn, *map(graph_input, args))

Used by ``klif_edu.fused`` (``backend="compiled"``). Why the inputs are made plain and what
counts as "the compiler cannot work": see ``graph_input`` and ``compiler_unavailable``.
"""
from __future__ import annotations

import types
import warnings
from functools import lru_cache
from typing import Any, Callable, Hashable

import torch

from .quiet import quiet_cpu_only_noise

__all__ = ["Compiled", "compiled_for", "compiler_unavailable", "graph_input"]

quiet_cpu_only_noise()  # torch's "No CUDA runtime is found" at the first compile on a CPU-only machine


def compiler_unavailable(err: BaseException) -> bool:
    """True when ``err`` means torch.compile cannot build code here (no C++ compiler, no triton, ...).

    Errors of the computation itself (CUDA out of memory, a device error, a bad input) are not:
    they would happen in the eager loop too, and swallowing them would hide the cause.
    """
    from torch._dynamo.exc import TorchDynamoException
    from torch._inductor import exc as inductor_exc

    chain, seen = err, set()
    while chain is not None and id(chain) not in seen:  # e.g. an OOM while autotuning, wrapped by dynamo
        if isinstance(chain, (torch.OutOfMemoryError, getattr(torch, "AcceleratorError", torch.OutOfMemoryError))):
            return False
        seen.add(id(chain))
        chain = chain.__cause__ or chain.__context__
    compiler = (TorchDynamoException, inductor_exc.InvalidCxxCompiler, inductor_exc.CppCompileError,
                inductor_exc.TritonMissing, inductor_exc.GPUTooOldForTriton, ImportError)
    return isinstance(err, compiler)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else "-"


class Compiled:
    """Both loops of one configuration through torch.compile; the eager loops once the compiler fails.

    Each loop is compiled from a private copy of its code: dynamo keeps its cache, and its
    limit of 8 recompilations, per code object, so one configuration's and T's variants
    (keep_h, dtype) do not use up another's. Only a compiler that cannot work here
    (``torch.compile`` refusing this platform, a missing C++ compiler or triton, a
    dynamo/inductor failure) switches to the eager loops; any other error (out of memory,
    a device error, ...) is raised as it is.
    """

    def __init__(self) -> None:
        self.fns: dict[Callable, Callable] = {}
        self.failed = False

    def _fallback(self, err: BaseException) -> None:
        self.failed = True
        warnings.warn(
            f"klif-edu: torch.compile is not usable here ({type(err).__name__}: {_first_line(err)}); "
            "falling back to the eager fused path (same numbers, slower).",
            RuntimeWarning,
            stacklevel=3,
        )

    def __call__(self, eager: Callable, graph: Callable, *args):
        if self.failed:
            return eager(*args)
        fn = self.fns.get(graph)
        if fn is None:
            own = types.FunctionType(graph.__code__.replace(), graph.__globals__, graph.__name__, graph.__defaults__)
            try:
                fn = self.fns[graph] = torch.compile(own)
            except Exception as err:  # torch.compile itself refuses (unsupported platform or Python)
                self._fallback(err)
                return eager(*args)
        try:
            return fn(*args)
        except Exception as err:
            if not compiler_unavailable(err):
                raise
            self._fallback(err)
        return eager(*args)


@lru_cache(maxsize=None)
def compiled_for(cfg: Hashable, time_steps: int) -> Compiled:
    """One Compiled per configuration and T (the loop is unrolled over T): its own recompile budget."""
    return Compiled()


def graph_input(value: Any) -> Any:
    """A tensor as the compiled loops take it: detached (not a view) and contiguous; anything else as is.

    Dynamo guards on what it sees of a tensor input: its strides (the direct-encoding first
    layer's input is one [M] repeated over T, strides (0, 1)), the base of a view (a conv or
    fc output seen as [T, M]), requires_grad (train vs eval). None of these changes the
    loops' arithmetic, so each call gets a plain tensor and one graph serves them all (the
    copy of the repeated input costs less than compiling a second variant of every loop).
    M is marked dynamic.
    """
    if not isinstance(value, torch.Tensor):
        return value
    value = value.detach().contiguous()  # detach() drops the view's base; contiguous() the strides
    if value.dim() == 2:
        torch._dynamo.maybe_mark_dynamic(value, 1)
    return value
