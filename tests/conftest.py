"""Test-wide set-up: a non-interactive Matplotlib backend and the CPU."""
import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("KLIF_EDU_DEVICE", "cpu")
os.environ.setdefault("KLIF_EDU_QUICK", "1")
# check() keeps verdicts beside the notebook (klif-edu-results.json in the cwd); not in the checkout's root
os.environ.setdefault("KLIF_EDU_RESULTS", "off")
