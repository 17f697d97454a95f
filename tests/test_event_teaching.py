"""Event data for teaching: raw samples (load_events), the toy rotation, the event plots, and the
section files the training notebooks' template inserts (rendered into a scratch notebook and run)."""
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
import renderer

from klif_edu.data import events_to_frames
from klif_edu.data.raw import load_events, rotation_events
from klif_edu.data.timing import TimingComparison, play_backwards, similarity, timing_comparison
from klif_edu.plotting import plot_event_rate, plot_events_3d, plot_frame_strip, plot_polarity

SECTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "_source" / "sections"


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
    monkeypatch.setenv("KLIF_EDU_DATA", str(tmp_path))  # no real event data here
    return tmp_path


@pytest.mark.parametrize("name", ["nmnist", "cifar10-dvs", "dvs-gesture"])
def test_missing_dataset_falls_back_to_simulated_events_and_says_so(name, empty_data):
    s = load_events(name, "train", 0)
    assert s.simulated and s.dataset == "embedded-events" and "SIMULATED" in s.note and name in s.note
    assert set(s.events.dtype.names) == {"x", "y", "t", "p"} and len(s.events) > 100
    assert s.sensor_size == (34, 34, 2) and 0 <= s.events["x"].max() < 34
    assert np.all(np.diff(s.events["t"]) >= 0)


def test_label_picks_a_sample_of_that_class(empty_data):
    for label in (0, 3, 7):
        s = load_events("embedded-events", "test", 1, label=label)
        assert s.label == label and not s.note.startswith("dvs")
    assert load_events("dvs-gesture", "test", 0, label=13).label == 3  # 11 gestures wrap onto 10 stand-in classes


@pytest.mark.parametrize("kwargs, error", [
    ({"name": "mnist"}, ValueError), ({"name": "nmnist", "split": "val"}, ValueError),
    ({"name": "nmnist", "index": -1}, ValueError), ({"name": "nmnist", "index": 10**6}, IndexError),
])
def test_bad_arguments(kwargs, error, empty_data):
    with pytest.raises(error):
        load_events(**kwargs)


def _as_set(events):
    return set(map(tuple, np.stack([events[f] for f in ("x", "y", "t", "p")], 1).tolist()))


def test_rotation_directions_are_mirror_images_and_time_reversals_by_construction():
    cw, ccw = rotation_events(clockwise=True), rotation_events(clockwise=False)
    mirrored = cw.copy()
    mirrored["x"] = 33 - mirrored["x"]  # left-right mirror of the 34-pixel sensor
    assert _as_set(mirrored) == _as_set(ccw)
    backwards = cw.copy()
    backwards["t"] = cw["t"].min() + cw["t"].max() - cw["t"]  # played backwards: time reversed, ON <-> OFF
    backwards["p"] = 1 - backwards["p"]
    assert _as_set(backwards) == _as_set(ccw)
    cmp = timing_comparison(events_to_frames(cw, (34, 34, 2), 8, binning="time"),
                            events_to_frames(ccw, (34, 34, 2), 8, binning="time"))
    assert cmp.summed > 0.99 and cmp.backwards > 0.99 and cmp.in_time < 0.5
    with pytest.raises(ValueError):
        rotation_events(radius=20)


def test_similarity_ignores_the_empty_background_where_a_correlation_does_not():
    gen = np.random.default_rng(0)
    a, b = gen.poisson(1.0, (4, 2, 6, 6)), gen.poisson(1.0, (4, 2, 6, 6))
    pad = lambda f: np.pad(f, ((0, 0), (0, 0), (0, 30), (0, 30)))  # the same samples on a larger, empty sensor
    assert similarity(pad(a), pad(b)) == pytest.approx(similarity(a, b), rel=1e-12)
    corr = lambda x, y: np.corrcoef(x.ravel(), y.ravel())[0, 1]
    assert corr(pad(a), pad(b)) > corr(a, b) + 0.3  # the correlation rises with the background alone
    assert similarity(a, a) == pytest.approx(1.0) and similarity(a, np.zeros_like(a) + (a == 0)) == 0.0
    with pytest.raises(ValueError, match="without events"):
        similarity(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="one shape"):
        similarity(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"\[T, 2, H, W\]"):
        play_backwards(np.ones((3, 4, 4)))


def test_timing_sentences_follow_the_numbers():
    alike = TimingComparison(summed=0.95, in_time=0.2, backwards=0.9).describe("cw", "ccw")
    assert "lives in the order of the frames" in alike and "cw comes closer to ccw" in alike
    apart = TimingComparison(summed=0.3, in_time=0.25, backwards=0.26).describe("clap", "wave")
    assert "timing is not needed here" in apart and "does not come clearly closer" in apart


def test_time_binning_keeps_every_event_and_cuts_equal_durations():
    from tonic.transforms import ToFrame

    cw = rotation_events(clockwise=True)
    for T in (3, 8, 20):
        frames = events_to_frames(cw, (34, 34, 2), T, binning="time")
        assert frames.sum() == len(cw)  # tonic's n_time_bins leaves out the events at the last timestamp
        last = cw["t"] == cw["t"].max()
        assert frames[-1].sum() >= last.sum()
        t0, span = cw["t"].min(), cw["t"].max() - cw["t"].min()
        per_frame = np.bincount(np.minimum((cw["t"] - t0) * T // span, T - 1), minlength=T)
        assert frames.reshape(T, -1).sum(1).tolist() == per_frame.tolist()
        tonic = ToFrame(sensor_size=(34, 34, 2), n_time_bins=T)(cw)  # the same but for those last events
        assert tonic.sum() == len(cw) - last.sum()
        assert (frames.astype(int) - tonic).sum() == last.sum() and (frames >= tonic).all()
    one_time = cw[:5].copy()
    one_time["t"] = 7
    assert events_to_frames(one_time, (34, 34, 2), 4, binning="time")[0].sum() == 5


def test_event_plots_draw_what_they_say():
    s = load_events("embedded-events", "train", 0)
    ax = plot_events_3d(s.events, s.sensor_size, max_events=500)
    shown = sum(len(c.get_offsets()) for c in ax.collections)
    assert 0 < shown <= 520 and "events in space-time" in ax.get_title()
    ax = plot_polarity(s.events, s.sensor_size)
    rgb = ax.images[0].get_array()
    assert rgb.shape == (34, 34, 3) and f"{int((s.events['p'] == 1).sum())} ON" in ax.get_title()
    ax = plot_event_rate(s.events, bin_ms=10)
    on_line = ax.lines[0]
    assert on_line.get_ydata().sum() * 10 == pytest.approx((s.events["p"] == 1).sum())  # every ON event counted once
    fig = plot_frame_strip(events_to_frames(s.events, s.sensor_size, 5))
    assert len(fig.axes) == 5 and fig.axes[0].get_title().startswith("t=0:")
    fig.savefig(__import__("io").BytesIO(), format="png", dpi=30)
    with pytest.raises(TypeError, match="fields x, y, t, p"):
        plot_polarity(np.zeros(3), (34, 34))
    with pytest.raises(ValueError, match=r"\[T, 2, H, W\]"):
        plot_frame_strip(np.zeros((4, 34, 34)))


def _cells(text: str) -> list[nbformat.NotebookNode]:
    """A section file's cells (the template renderer's parser), as nbformat cells with ids."""
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    cells = []
    for c in renderer.load().percent_cells(text):
        cell = make[c["cell_type"]](c["source"])
        cell.metadata.update(c["metadata"])
        cells.append(cell)
    return cells


def _run_sections(dataset: str, files: list[str], data_dir: Path) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(f"DATASET = {dataset!r}")]
    for name in files:
        cells += _cells((SECTIONS / name).read_text())
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(data_dir)}}).execute()
    return nb


def _text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("dataset", ["nmnist", "cifar10-dvs"])
def test_events_section_runs_offline_and_labels_simulated_data(dataset, empty_data):
    nb = _run_sections(dataset, ["events.py"], empty_data)
    out = _text(nb)
    assert "SIMULATED" in out and "events per frame, by number" in out
    figures = sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    assert figures >= 4


def test_gesture_sections_run_offline_and_show_the_timing_numbers(empty_data):
    nb = _run_sections("dvs-gesture", ["events.py", "gesture_timing.py"], empty_data)
    out = _text(nb)
    assert "DVS128-Gesture is not on disk" in out
    summed = float(out.split("summed over time: similarity")[1].split(";")[0])
    in_time = float(out.split("frame by frame:")[1].split(";")[0])
    assert summed > 0.9 > 0.5 > in_time and "lives in the order of the frames" in out


def test_section_files_are_percent_cells_with_markdown_first():
    for path in SECTIONS.glob("*.py"):
        cells = _cells(path.read_text())
        assert cells[0].cell_type == "markdown" and cells[0].source.startswith("#")
        assert all(c.source.strip() for c in cells), path.name
