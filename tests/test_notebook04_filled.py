"""Notebook 04 run as a student who solved every exercise: each ✏️ cell filled with the worked answer
(under the student's names), every check passes, and the training runs on the student's own code."""
from __future__ import annotations

import inspect

import nbformat
from nbclient import NotebookClient

from klif_edu.exercises import EXERCISES, loop_solutions
from klif_edu.exercises.network_series import SolutionNet
from test_neuron_notebooks import NOTEBOOKS, _inject

NAME = "04_build_a_network.ipynb"


def _filled(cell_source: str, worked: str, name: str) -> str:
    """The student's cell with its skeleton replaced by ``worked`` and ``answer`` set."""
    tail = cell_source[cell_source.index("answer = None"):]
    tail = tail.replace(tail.splitlines()[0], f"answer = {name}", 1)
    return worked.rstrip() + "\n\n\n" + tail


FILLS = {  # marker in the student's cell -> (worked source, the name the student gives it)
    "class MyNet(nn.Module):": (inspect.getsource(SolutionNet).replace("class SolutionNet", "class MyNet"), "MyNet"),
    "def mse_on_rates(rates, y):": (inspect.getsource(loop_solutions.mse_on_rates), "mse_on_rates"),
    "def train_step(net, optimiser, x_seq, y):": (inspect.getsource(loop_solutions.train_step), "train_step"),
    "def run_epoch(net, optimiser": (inspect.getsource(loop_solutions.run_epoch), "run_epoch"),
}
CHECKS = [
    ("ok = check(\"04.network\", answer)", "assert ok and MyNet.__module__ == '__main__'"),
    ("ok = check(\"04.loss\", answer)", "assert ok and mse_on_rates.__module__ == '__main__'"),
    ("ok = check(\"04.step\", answer)", "assert ok and train_step.__module__ == '__main__'"),
    ("ok = check(\"04.epoch\", answer)", "assert ok and run_epoch.__module__ == '__main__'"),
    ("Net = answer if ok else", "assert Net is MyNet"),
    ("for epoch in tqdm(range(1, EPOCHS + 1)", """
assert len(losses) == EPOCHS * len(train_loader)
net.eval()
with torch.no_grad():
    _right = sum(int((net(encode(_x, T)).argmax(1) == _y).sum()) for _x, _y in test_loader)
assert history["epochs"][-1]["test_accuracy"] == 100.0 * _right / len(test_set)  # the student's test pass tells the truth"""),
]


def test_notebook_04_with_every_exercise_solved(monkeypatch):
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    nb = nbformat.read(NOTEBOOKS / NAME, as_version=4)
    for marker, (worked, name) in FILLS.items():
        hits = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
        assert len(hits) == 1, f"marker {marker!r} matches {len(hits)} cells"
        hits[0].source = _filled(hits[0].source, worked, name)
    (mse,) = [c for c in nb.cells if c.cell_type == "code" and 'check("04.mse", answer)' in c.source]
    mse.source = mse.source.replace("answer = None", f"answer = {EXERCISES['04.mse'].answer():.4f}")
    nb = _inject(nb, CHECKS, NAME)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert outputs.count("right, well done") == 5  # 04.network, 04.loss, 04.step, 04.epoch, and 04.mse below
