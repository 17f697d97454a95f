"""Test-wide set-up: a non-interactive Matplotlib backend and the CPU; shared fixtures."""
import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
os.environ.setdefault("KLIF_EDU_DEVICE", "cpu")
os.environ.setdefault("KLIF_EDU_QUICK", "1")
# check() keeps verdicts beside the notebook (klif-edu-results.json in the cwd); not in the checkout's root
os.environ.setdefault("KLIF_EDU_RESULTS", "off")


@pytest.fixture
def one_thread():
    """Tiny networks train many times faster on one thread than on two contended ones; the numbers
    a test compares are all computed under the same setting. Use: pytest.mark.usefixtures("one_thread")."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
