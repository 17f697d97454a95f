"""The compiled backend: a bounded number of graphs for several networks, and which errors fall back."""
import warnings

import pytest
import torch
from torch._dynamo.utils import counters

from klif_edu import compiler, fused
from klif_edu.data import DatasetSpec
from klif_edu.models import build_model

TINY = DatasetSpec("tiny", "static", (1, 8, 8), 2, 4, ("a", "b"), "8x8, for tests")
TINY_EVENTS = DatasetSpec("tiny-events", "events", (2, 8, 8), 2, 3, ("a", "b"), "8x8 frames, for tests")


def _steps(model, x):
    """Two training steps (different batch sizes) and one evaluation, as a training loop makes them."""
    model.train()
    for n in (x.shape[0], x.shape[0] - 1):
        model(x[:n]).sum().backward()
    model.eval()
    with torch.no_grad():
        model(x)


def test_several_networks_compile_a_bounded_number_of_graphs():
    """Three networks in one process (the first layer's stride-0 input, views of conv/fc outputs, train
    and eval, two batch sizes, two T): each (configuration, T) compiles its forward with and without H
    and one backward, never more, and never falls back to eager."""
    with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True, recompile_limit=4):
        _compile_several()


def _compile_several():
    torch.manual_seed(0)
    nets = [
        (build_model(TINY, "klif", "small", 3, backend="compiled"), torch.rand(3, 1, 8, 8)),
        (build_model(TINY, "klif", "paper", 2, backend="compiled"), torch.rand(3, 1, 8, 8)),  # detach_reset
        (build_model(TINY_EVENTS, "klif", "small", backend="compiled"), torch.rand(3, 3, 2, 8, 8)),
    ]
    before = counters["stats"]["unique_graphs"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fall-back to eager warns
        for model, x in nets:
            _steps(model, x)
    # (small config, T=3), (paper config, T=2), (small config, T=3 again: same graphs), each: forward
    # with and without H, and one backward
    assert counters["stats"]["unique_graphs"] - before <= 2 * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        graphs = counters["stats"]["unique_graphs"]
        _steps(nets[0][0], torch.rand(5, 1, 8, 8))  # a new batch size: no new graph
        assert counters["stats"]["unique_graphs"] == graphs


def _one_call(backend_error, compiled=None):
    """Run a compiled forward whose compiled function raises ``backend_error``; (compiled, result)."""
    compiled = compiled or compiler.Compiled()

    def raising(*args, **kwargs):
        raise backend_error

    compiled.fns[fused._forward_graph] = raising
    x, k = torch.rand(2, 5), torch.tensor(1.0)
    cfg = build_model(TINY, "klif", "small").blocks["conv1"].neuron.config
    return compiled, compiled(fused._forward_eager, fused._forward_graph, x, k, cfg, False)


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                                   RuntimeError("CUDA error: an illegal memory access was encountered"),
                                   ValueError("a bad input")])
def test_real_errors_surface_and_keep_the_compiler(error):
    compiled = compiler.Compiled()
    with pytest.raises(type(error), match=str(error).split(".")[0][:20]):
        _one_call(error, compiled)
    assert not compiled.failed  # the next call compiles again


def test_an_oom_wrapped_by_dynamo_surfaces():
    from torch._dynamo.exc import BackendCompilerFailed

    try:
        raise torch.OutOfMemoryError("CUDA out of memory while autotuning")
    except torch.OutOfMemoryError as oom:
        wrapped = BackendCompilerFailed.__new__(BackendCompilerFailed)
        wrapped.__cause__ = oom
    assert not compiler.compiler_unavailable(wrapped)


def test_compiler_errors_fall_back_once():
    from torch._inductor.exc import InvalidCxxCompiler

    with pytest.warns(RuntimeWarning, match="torch.compile is not usable"):
        compiled, (s, h) = _one_call(InvalidCxxCompiler())
    assert compiled.failed and h is None and s.shape == (2, 5)


def test_a_shape_error_found_while_tracing_is_reported_as_what_it_is():
    from torch._dynamo.exc import TorchRuntimeError

    error = TorchRuntimeError("Dynamo failed to run FX node with fake tensors: call_function matmul: "
                              "got RuntimeError('a and b must have same reduction dim, but got [2, 3] X [4, 5].')")
    assert not compiler.compiler_unavailable(error) and not compiler.compile_failed(error)
    compiled = compiler.Compiled()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "torch.compile is not usable" on the way
        with pytest.raises(TorchRuntimeError, match="same reduction dim"):
            _one_call(error, compiled)
    assert not compiled.failed


def test_a_loop_dynamo_cannot_compile_falls_back_without_blaming_the_machine():
    from torch._dynamo.exc import InternalTorchDynamoError

    assert not compiler.compiler_unavailable(InternalTorchDynamoError("dynamo bug"))
    with pytest.warns(RuntimeWarning, match="could not compile this loop") as record:
        compiled, _ = _one_call(InternalTorchDynamoError("dynamo bug"))
    assert compiled.failed and not any("not usable here" in str(w.message) for w in record)
