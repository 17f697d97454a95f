"""Notebooks 01-04 run with checks injected after chosen cells: correctness without asserts in the
cells students read.

Each check is code run in the notebook's own kernel right after the first code cell containing
its marker, so it sees the variables of that moment. A marker that matches no cell, or several,
fails the test: renaming a cell cannot silently drop its check.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

CHECKS: dict[str, list[tuple[str, str]]] = {
    "01_lif_neuron.ipynb": [
        ("tr = lif.trace(x)  #", """
torch.testing.assert_close(tr.h[:2, 0], torch.tensor([0.6, 0.9]))
assert tr.s[:2].sum() == 0 and torch.all(tr.v[tr.s == 1] == 0.0)"""),
        ('print("H[t] / H[t-1]', "torch.testing.assert_close(h[4:] / h[3:-1], torch.full((11,), 0.75))"),
        ("for ax, tau in zip(axes, (1.5, 2.0, 4.0, 8.0)):", """
from klif_edu.exercises import EXERCISES
counts_tau = {t: int(LIF(tau=t)(torch.full((20, 1), 1.2)).sum()) for t in (1.5, 2.0, 4.0, 8.0)}
assert max(counts_tau, key=counts_tau.get) == EXERCISES['01.most_spikes_tau'].answer()"""),
        ("counts.append(int(spikes.sum()))", "assert counts[0] > counts[1] > counts[2], counts"),
        ("nudge = ((x1", "assert spike.grad_fn is None and not spike.requires_grad and nudge.item() == 0.0"),
        ('snn_s, snn_mem = run_leaky(snn.Leaky(beta=beta, reset_mechanism="zero"), x)', """
assert torch.equal(ours.s, snn_s)
torch.testing.assert_close(snn_mem, ours.h)"""),
        ("same_s, same_mem = run_leaky", """
assert not torch.equal(ours.s, delayed_s) and torch.equal(ours.s, same_s)
torch.testing.assert_close(same_mem, ours.v)"""),
        ("trains = spikegen.rate(brightness", """
assert trains.shape == (T, 5) and set(trains.unique().tolist()) <= {0.0, 1.0}
assert (trains.mean(0) - brightness).abs().max() < 0.25"""),
        ("out = LIF(tau=2.0)(1.5 * trains)", """
assert out.mean(0)[-1] > out.mean(0)[0] and out.sum() < trains.sum()
# the text: it fires exactly when two input spikes come in a row and it did not fire just before
_two = torch.zeros_like(out)
for _t in range(1, len(out)):
    _two[_t] = trains[_t] * trains[_t - 1] * (1 - _two[_t - 1])
assert torch.equal(out, _two)"""),
    ],
    "02_surrogate_gradients.ipynb": [
        ("s = sig(x)\n", """
assert s.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
torch.testing.assert_close(x.grad, sig.derivative(x.detach()))"""),
        ("area = torch.trapezoid(dg, xs).item()", """
for cls in surrogate.ALL.values():
    xs_, _, dg_ = cls().curve(-60.0, 60.0, 240_001)
    assert abs(torch.trapezoid(dg_, xs_).item() - 1.0) < 0.02"""),
        ("snn_surrogate.fast_sigmoid(slope=25)(xg)", """
torch.testing.assert_close(surrogate.FastSigmoid(25.0).derivative(xg.detach()), 12.5 * xg.grad)"""),
        ("for ax, alpha in zip(axes, alphas):", """
peaks = [surrogate.Sigmoid(a).peak for a in alphas]
widths = [surrogate.Sigmoid(a).width for a in alphas]
assert peaks == sorted(peaks) and widths == sorted(widths, reverse=True)
assert round(surrogate.Sigmoid(4.0).width, 3) == 0.881  # the width 03 prints for k = 1: one definition
torch.testing.assert_close(torch.tensor(peaks), torch.tensor(alphas) / 4)"""),
        ("tr = LIF(tau=tau, surrogate=surrogate.Sigmoid(alpha)).trace(x_in)", """
assert tr.s.item() == 0.0
torch.testing.assert_close(x_in.grad.item(), by_hand, rtol=1e-5, atol=1e-7)"""),
        ("formula = surrogate.Sigmoid(alpha).derivative", "torch.testing.assert_close(xs.grad, formula)"),
    ],
    "03_klif_neuron.ipynb": [
        ("compare_traces(x, lif, klif, show_grad=True)", """
with torch.no_grad():
    assert klif(x).sum() > lif(x).sum()
    torch.testing.assert_close(KLIF(k_init=1.0)(x), lif(x))
    _tr = klif.trace(x)
    torch.testing.assert_close(_tr.f, torch.relu(klif.k * _tr.h))"""),
        ("plot_effective_surrogate(sig, ks=(0.5, 1.0, 2.0)", """
_effs = {k: surrogate.effective_surrogate(sig, k=k, v_threshold=1.0) for k in (0.5, 1.0, 2.0)}
for k, e in _effs.items():
    assert abs(e.center - 1.0 / k) < 1e-12 and abs(e.peak_slope - k * sig.peak) < 1e-12
    assert abs(e.width * k - _effs[1.0].width) < 1e-9"""),
        ("dsdh_formula = surrogate.effective_derivative", "torch.testing.assert_close(dsdh_autograd, dsdh_formula)"),
        ("gate = KLIF(k_init=1.5).trace(noisy)", """
_closed = gate.h <= 0
assert torch.all(gate.f[_closed] == 0)
torch.testing.assert_close(gate.f[~_closed], 1.5 * gate.h[~_closed])"""),
        ("compare_traces(x04, LIF(), KLIF(k_init=1.5))", """
from klif_edu.exercises import EXERCISES
with torch.no_grad():
    assert LIF()(x04).sum() == 0 and KLIF(k_init=1.5)(x04).sum() >= 3  # the text's claim
    _s = KLIF(k_init=1.5).trace(x04).s[:, 0]
assert int(torch.nonzero(_s)[0]) == EXERCISES['03.klif_first_spike'].answer() == 6"""),
        ("n = KLIF(k_init=1.5, scale_reset=scale_reset)", """
with torch.no_grad():
    assert KLIF(k_init=1.5, scale_reset=True)(x04).sum() == 0 and KLIF(k_init=1.5)(x04).sum() > 0"""),
        ("paths = dspike_dk_paths(", """
assert abs(paths.through_time - 0.57) < 0.01 and paths.carried > 4 and paths.reset < -3.5  # the text's numbers
assert cut.reset == 0 and abs(cut.total - (paths.total - paths.reset)) < 1e-9"""),
        ("plot_gate_histogram(gate, v_threshold=1.0)", """
_ax = plot_gate_histogram(gate, v_threshold=1.0)  # the cell's own call again (inline closed its figure)
_legend = [t.get_text() for t in _ax.get_legend().get_texts()]
plt.close(_ax.figure)
assert "gate closed (H ≤ 0)" in _legend and any("after" in t for t in _legend)  # the text: one histogram, grey band"""),
        ("print(f\"k = {neuron.k.item()}, firing rate", """
assert neuron(inputs).mean().item() < 0.1  # the text: far below the 0.4 target at first"""),
        ("for step in range(STEPS):", """
assert first_grad < 0  # the text: negative, so Adam raises k
assert ks[-1] > ks[0] + 0.2 and abs(rates[-1] - target) < abs(rates[0] - target)"""),
    ],
    "04_build_a_network.ipynb": [
        ("Net = answer if ok else", """
assert Net is EXERCISES["04.network"].answer()  # not attempted: the reference network goes on
assert [n for n, _ in net.named_parameters() if n.endswith('.k')] == ['sn1.k', 'sn2.k', 'sn3.k']"""),
        ("rates = net(x_seq)", """
assert rates.shape == (8, 10) and 0 <= rates.min() and rates.max() <= 1"""),
        ("fused = net.sn1(current)", """
assert torch.equal(by_step, fused)
_shown = by_step[:, 0, channel, row]
assert _shown.shape == (T, 28) and _shown.sum() >= T  # the raster shows spikes, not an empty background
assert (x[0, 0, row] > x[0, 0, 0, 0] + 0.5).sum() >= 5  # the row crosses the garment"""),
        ('print(f"MSE on rates', """
assert mse_on_rates is EXERCISES["04.loss"].answer()  # not attempted: the worked answer goes on
torch.testing.assert_close(loss, ((rates - F.one_hot(y, 10).float()) ** 2).mean())"""),
        ("loss.backward()\nfor name, p in net.named_parameters():", """
assert all(m.k.grad is not None and m.k.grad.abs() > 0 for m in (net.sn1, net.sn2, net.sn3))"""),
        ("ok = check(\"04.epoch\", answer)", """
assert train_step is EXERCISES["04.step"].answer() and run_epoch is EXERCISES["04.epoch"].answer()"""),
        ("for epoch in tqdm(range(1, EPOCHS + 1)", """
import math
assert len(losses) == EPOCHS * len(train_loader) and all(math.isfinite(v) for v in losses)
assert [r["epoch"] for r in history["epochs"]] == list(range(EPOCHS + 1))
assert 0 <= history["epochs"][-1]["test_accuracy"] <= 100
assert all(abs(k - 1.0) > 1e-4 for k in history["epochs"][-1]["k"].values())  # every k moved"""),
    ],
}


def _inject(nb: nbformat.NotebookNode, checks: list[tuple[str, str]], name: str) -> nbformat.NotebookNode:
    cells = list(nb.cells)
    for marker, code in checks:
        hits = [i for i, c in enumerate(cells) if c.cell_type == "code" and marker in c.source]
        assert len(hits) == 1, f"{name}: marker {marker!r} matches {len(hits)} code cells, expected 1"
        check = nbformat.v4.new_code_cell(f"# injected check\n{code.strip()}")
        check.metadata["injected"] = marker
        cells.insert(hits[0] + 1, check)
    nb.cells = cells
    return nb


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_notebook_runs_and_its_claims_hold(name, monkeypatch):
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    nb = _inject(nbformat.read(NOTEBOOKS / name, as_version=4), CHECKS[name], name)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except CellExecutionError as err:
        failed = [c for c in nb.cells if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        where = failed[0].metadata.get("injected", "a notebook cell itself") if failed else "?"
        pytest.fail(f"{name}: check after the cell with {where!r} failed:\n{err}")


def test_checked_notebooks_keep_asserts_out_of_student_cells():
    for name in CHECKS:
        for cell in nbformat.read(NOTEBOOKS / name, as_version=4).cells:
            if cell.cell_type == "code":
                assert "assert" not in cell.source, f"{name}: move this check into tests/test_neuron_notebooks.py"

