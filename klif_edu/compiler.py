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

__all__ = ["Compiled", "compiled_for", "compiler_unavailable", "compile_failed", "graph_input"]


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and what caused it (``__cause__``, ``__context__``, dynamo's ``inner_exception``)."""
    found, todo = [], [err]
    while todo:
        e = todo.pop()
        if e is None or any(e is f for f in found):
            continue
        found.append(e)
        todo += [e.__cause__, e.__context__, getattr(e, "inner_exception", None)]
    return found


def _computation_error(chain: list[BaseException]) -> bool:
    """An error of the computation itself (out of memory, a device error, a shape error in the code)."""
    from torch._dynamo.exc import TorchRuntimeError

    oom = (torch.OutOfMemoryError, getattr(torch, "AcceleratorError", torch.OutOfMemoryError))
    return isinstance(chain[0], TorchRuntimeError) or any(isinstance(e, oom) for e in chain)

quiet_cpu_only_noise()  # torch's "No CUDA runtime is found" at the first compile on a CPU-only machine


def compiler_unavailable(err: BaseException) -> bool:
    """True when ``err`` means torch.compile cannot build code on this machine (no C++ compiler, no triton, ...).

    Errors of the computation itself (CUDA out of memory, a device error, a shape error that dynamo
    found while tracing, a bad input) are not: they would happen in the eager loop too, and
    swallowing them would hide the cause. Nor is a loop dynamo could not compile (``compile_failed``).
    """
    from torch._inductor import exc as inductor_exc

    chain = _chain(err)
    if _computation_error(chain):
        return False
    toolchain = (inductor_exc.InvalidCxxCompiler, inductor_exc.CppCompileError, inductor_exc.TritonMissing,
                 inductor_exc.GPUTooOldForTriton, ImportError)
    return any(isinstance(e, toolchain) for e in chain)


def compile_failed(err: BaseException) -> bool:
    """True when dynamo or inductor failed on this loop (a torch.compile limitation), the machine being fine."""
    from torch._dynamo.exc import TorchDynamoException

    return isinstance(err, TorchDynamoException) and not _computation_error(_chain(err))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else "-"


class Compiled:
    """Both loops of one configuration through torch.compile; the eager loops once the compiler fails.

    Each loop is compiled from a private copy of its code: dynamo keeps its cache, and its
    limit of 8 recompilations, per code object, so one configuration's and T's variants
    (keep_h, dtype) do not use up another's. A compiler that cannot work here
    (``torch.compile`` refusing this platform, a missing C++ compiler or triton) or a loop
    dynamo/inductor fails to compile switches to the eager loops, each with its own message;
    any other error (out of memory, a device error, a shape error dynamo found while tracing,
    ...) is raised as it is.
    """

    def __init__(self) -> None:
        self.fns: dict[Callable, Callable] = {}
        self.failed = False

    def _fallback(self, err: BaseException, what: str = "torch.compile is not usable here") -> None:
        self.failed = True
        warnings.warn(
            f"klif-edu: {what} ({type(err).__name__}: {_first_line(err)}); "
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
            if compiler_unavailable(err):
                self._fallback(err)
            elif compile_failed(err):
                self._fallback(err, "torch.compile could not compile this loop (a torch.compile limitation, "
                                    "not a fault of this machine)")
            else:
                raise
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
