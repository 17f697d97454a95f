"""training_plots: the figures of the training notebooks (structure, drawn once)."""
import io

import matplotlib.pyplot as plt
import pytest

from klif_edu.training_plots import show_channels, show_samples


def test_show_channels_draws_the_image_and_each_channel():
    fig = show_channels("embedded-fashion-mnist")
    titles = [ax.get_title() for ax in fig.axes]
    assert "channel grey" in titles and len([t for t in titles if t.startswith("channel")]) == 1
    assert "1 input channel(s)" in fig._suptitle.get_text()
    fig.savefig(io.BytesIO(), format="png")
    with pytest.raises(ValueError, match="event data"):
        show_channels("embedded-events")
    plt.close("all")


def test_show_samples_titles_say_what_they_show():
    fig = show_samples("embedded-events", n=2)
    assert "embedded-events" in fig._suptitle.get_text() and "ON events" in fig._suptitle.get_text()
    plt.close("all")
