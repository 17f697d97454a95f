# ---
# The one source of the training notebooks 05-10 (jupytext py:percent format).
#
# Contract (scripts/render_notebooks.py renders this file once per dataset in datasets.toml):
# * `# %% [markdown]` starts a Markdown cell (each line "# text"), `# %%` a code cell;
#   `tags=["..."]` after either sets the cell's tags. This header block is not rendered.
# * `{{key}}` is replaced by the dataset's value of `key` in datasets.toml (all keys must exist).
# * `# %% insert: NAME` inserts sections/NAME.py (same format) when NAME is in the dataset's
#   `sections` list AND the file exists; otherwise nothing (sections are written in parallel).
#   A section may rely only on the variables DATASET (parameters cell) and `plan` (mode cell),
#   and its own imports from klif_edu.
# * `# %% insert: exercises` renders each of the dataset's `exercises` (names in
#   klif_edu.exercises) as a heading with the question and a `check(...)` cell.
# tests/test_training_notebooks.py fails when a committed notebook differs from its rendering:
# edit this file (or a section, or datasets.toml), then run `python scripts/render_notebooks.py`.
# ---

# %% [markdown]
# # {{number}} · {{title}}
#
# **Time:** about 30 minutes, of which the training takes about {{lesson_minutes}} minutes on a 2-core laptop CPU (about 2 on a GPU) · **Prerequisites:** [03 · The KLIF neuron](03_klif_neuron.ipynb), [04 · Build a network](04_build_a_network.ipynb)
#
# {{intro}} We train the same network twice, once with **KLIF** and once with **LIF** neurons, and look at what KLIF's learnable $k$ did.
#
# **By the end of this notebook you can**
# 1. get the data, and say which run this notebook makes on your machine, and why;
# 2. describe the data and the paper's network for it;
# 3. read learning curves of KLIF and LIF trained alike;
# 4. read how $k$ moved in every layer, what that did to the surrogate gradient (slope × k, width ÷ k), and what else $k$ changes;
# 5. look inside your trained network: the membrane potential before and after KLIF's ReLU gate, which neurons get a gradient, and firing rates per layer.
#
# Exercises are marked ✏️.

# %% tags=["parameters"]
MODE = None  # None: lesson mode (test mode when KLIF_EDU_QUICK=1, as `make test` sets it); "full": the paper's run
SEED = 0
DATASET = "{{dataset}}"

# %%
import matplotlib.pyplot as plt
import torch

from klif_edu.exercises import check, solution
from klif_edu.experiment import (compare_neurons, ensure_dataset, estimate_full_time, explain_device,
                                 full_run_command, plan_run)
from klif_edu.models import build_model
from klif_edu.plotting import plot_gate_histogram, plot_k_history, plot_learned_surrogate
from klif_edu.probe import firing_rates, layer_table, probe, sample_batch
from klif_edu.surrogate import effective_surrogate
from klif_edu.training_plots import plot_layer_rates, plot_learning_curves, show_samples

torch.manual_seed(SEED);

# %% [markdown]
# ## 1. Get the data
#
# {{get_data}} If there is no network, the notebook still runs: a small *stand-in* dataset shipped
# with klif-edu trains instead, under a banner you cannot miss. A teacher can download everything once
# (`klif-edu fetch all --data-dir /shared/klif-data`) and point the class at it with `KLIF_EDU_DATA`.

# %%
{{fetch_cell}}

# %% [markdown]
# ## 2. Which run, on this machine?
#
# A training notebook has three modes. **Lesson** mode (the default) trains on the real dataset with a
# budget chosen for your device, so that KLIF and LIF together take a few minutes and $k$ visibly moves.
# **Test** mode is a seconds-long run for the test suite. **Full** mode trains the paper's network
# with the paper's budget: hours on a GPU. It starts only when you set `MODE = "full"` in the
# parameters cell at the top. The mode line says what was chosen and why:

# %%
device, why = explain_device()
print(f"device: {device} ({why})")
plan = plan_run(DATASET, mode=MODE, seed=SEED)
print(plan)
if plan.stand_in:
    print(plan.banner())

# %% [markdown]
# How long would the full run take here? The number is either **measured** (from a finished full run
# found under `runs/`) or **estimated** (one real training step of the paper's network, at the full
# run's batch size and T, timed on this machine just now and scaled up); the line says which.

# %%
print(estimate_full_time(DATASET, device.type, measure=not plan.quick))

# %% [markdown]
# The full run from a terminal (on a GPU machine, for example), one command per neuron; run this
# notebook afterwards with `MODE = "full"` and it picks the finished runs up instead of training again:

# %%
for neuron in ("klif", "lif"):
    print(full_run_command(DATASET, neuron))

# %% [markdown]
# ## 3. A first look at the data
#
# {{data}}
#
# Some samples of what this run trains on (the stand-in when {{dataset}} is not on disk; the title says which):

# %%
show_samples(plan.train_dataset);

# %% insert: events

# %% insert: gesture_timing

# %% insert: colour

# %% [markdown]
# ## 4. The networks
#
# The paper's network follows the PLIF paper (Fang et al. 2021), whose six datasets KLIF reuses (that
# KLIF used exactly these networks is our assumption; its paper was not available offline). Each block
# is a synapse (convolution + batch norm, or dropout + linear), then **one spiking layer with its own
# $k$**, sometimes a 2×2 max-pool. The last layer has 10 neurons per class; their mean firing rate is the
# network's answer for that class (a voting layer).

# %%
paper_net = build_model(DATASET, "klif", arch="paper")
print(layer_table(paper_net))
print(f"{len(paper_net.k_values())} spiking layers, so {len(paper_net.k_values())} learnable k, all starting at 1.0")

# %% [markdown]
# Lesson mode on a CPU trains a smaller network of the same kind (the mode line says which one
# trains). This is the one your run uses:

# %%
run_net = build_model(plan.model_spec(), "klif", arch=plan.arch, time_steps=plan.T)
print(layer_table(run_net))
print(f"T = {plan.T} time steps, {sum(p.numel() for p in run_net.parameters()):,} parameters")

# %% [markdown]
# ## 5. Train KLIF and LIF alike
#
# `compare_neurons` trains the network once with KLIF and once with LIF: same seed (so the same
# initial weights and data order), same data, same settings. It prints the mode line again, then
# progress bars and one line per epoch. A finished lesson run of the same settings (for example one a
# teacher made with `klif-edu lesson {{dataset}}`) is picked up instead of trained again.

# %%
cmp = compare_neurons(DATASET, mode=MODE, seed=SEED)
klif_run, lif_run = cmp.results["klif"], cmp.results["lif"]
print(f"test accuracy: KLIF {100 * cmp.accuracy('klif'):.1f} %, LIF {100 * cmp.accuracy('lif'):.1f} % "
      f"({cmp.plan.mode} mode, {klif_run.metrics['train_size']:,} training samples, "
      f"{klif_run.metrics['epochs']} epochs, trained on {cmp.plan.train_dataset})")

# %% [markdown]
# ## 6. Learning curves
#
# Left: test accuracy after every epoch (epoch 0 is before training). Right: the training loss.
# One run each says little about which neuron is *better*: a point or two between KLIF and LIF is
# within seed-to-seed noise at this budget (notebook 12 measures that). Look at the *shape* of the curves.

# %%
plot_learning_curves(cmp.histories());

# %% [markdown]
# ## 7. How $k$ moved in every layer
#
# Every KLIF layer started at $k = 1$ (KLIF starts as LIF). Seen from the surrogate gradient, a layer
# whose $k$ grows gets a steeper, narrower $\partial S/\partial H$ centred at $V_{th}/k$.
# But $k$ does more than that. With a hard reset the state carried to the next step is
# $V = \mathrm{ReLU}(kH)$, so $k$ also rescales the leak: below threshold the membrane decays by the
# factor $k(1 - 1/\tau)$ per step instead of $(1 - 1/\tau)$. A constant input $X$ keeps a neuron firing
# when $X \ge V_{th}\,(\tau - k(\tau-1))/k$, not simply $X \ge V_{th}/k$ (that holds only for the first
# step from rest). And in conv-BN-KLIF blocks, BatchNorm's learnable scale can do part of what $k$ does,
# so a $k$ that moved little does not mean the layer did not adapt.

# %% tags=["fig-k-history"]
ax_k = plot_k_history(klif_run.history)

# %% [markdown]
# ## 8. The surrogate gradient each layer learned
#
# Top: each layer's $\partial S/\partial H$ before training (dashed) and after (solid). Bottom: its peak
# slope and its width over the epochs. Slope × k, width ÷ k, centre at $V_{th}/k$, as in notebook 03,
# now with the $k$ your network chose.

# %% tags=["fig-learned-surrogate"]
fig_s = plot_learned_surrogate(klif_run.history)

# %%
first, last = klif_run.history["epochs"][0], klif_run.history["epochs"][-1]
for layer in last["k"]:
    print(f"{layer:6} k {first['k'][layer]:.3f} -> {last['k'][layer]:.3f}   "
          f"peak slope {first['slope'][layer]:.3f} -> {last['slope'][layer]:.3f}")
moved = max(abs(last["k"][layer] - first["k"][layer]) for layer in last["k"])
print(f"largest change of k in any layer: {moved:.3f}"
      + (" (small: the dashed and solid curves above nearly coincide)" if moved < 0.05 else ""))

# %% [markdown]
# ## 9. Inside the trained network: before and after the gate
#
# `probe` runs a batch of test samples through a trained network and records every spiking layer's
# $H$ (charged membrane potential), $F$ (after the gate), $S$ and $V$. Layer `conv2`, KLIF on top:
# the ReLU gate sets every $H \le 0$ to $F = 0$ and scales the rest by $k$. LIF below has no
# gate ($F = H$), so its two histograms lie on top of each other.

# %% tags=["fig-gate-histogram"]
x, y = sample_batch(plan.train_dataset, n=16, seed=SEED, time_steps=cmp.plan.time_steps)
traces = {neuron: probe(run.model, x) for neuron, run in cmp.results.items()}
LAYER = "conv2"
fig, (ax_kl, ax_l) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, layout="constrained")
plot_gate_histogram(traces["klif"][LAYER], ax=ax_kl, v_threshold=1.0)
plot_gate_histogram(traces["lif"][LAYER], ax=ax_l, v_threshold=1.0)
ax_kl.set_title(f"KLIF, layer {LAYER} (k = {klif_run.model.k_values()[LAYER]:.3f})")
ax_l.set_title(f"LIF, layer {LAYER} (no gate: F = H)");

# %% [markdown]
# ### ✏️ Exercise run.half_peak
# A neuron learns from a step only where its surrogate gradient is large. In layer `conv2` of **your**
# KLIF network, what fraction of the membrane potentials $H$ in the probe (all neurons, time steps and
# samples: `traces["klif"][LAYER].h`) get a $\partial S/\partial H$ of at least half its peak? Use the $k$
# this layer learned (`klif_run.model.k_values()[LAYER]`) and `effective_surrogate` (notebook 03).
# The check computes the answer from your own run.

# %%
answer = None  # your answer here
my_run = (traces["klif"][LAYER], klif_run.model.neurons()[LAYER])
check("run.half_peak", answer, run=my_run);
# solution("run.half_peak", run=my_run)  # uncomment to see the worked answer

# %% [markdown]
# ## 10. Firing rates per layer
#
# How often does a neuron of each layer fire, on average per time step? Sparse firing is what makes
# spiking networks cheap on neuromorphic hardware.

# %% tags=["fig-firing-rates"]
rates = {neuron: firing_rates(tr) for neuron, tr in traces.items()}
plot_layer_rates(rates);

# %% [markdown]
# ## Discussion
#
# * Which layer's $k$ moved most? Did that layer fire more or less than the same layer of LIF?
# * A layer whose $k$ grew got a narrower surrogate: fewer neurons get a gradient, but a larger one.
#   Why might a network prefer that in one layer and not in another?
# * The same $k$ also changed the leak, $k(1 - 1/\tau)$. For $\tau = 2$, at which $k$ does the membrane stop leaking?
# * Is the accuracy difference between KLIF and LIF in your run evidence of anything? What would
#   you need to run to find out (notebooks 11 and 12)?

# %% insert: exercises

# %% [markdown]
# Now apply the same reasoning to your run: by what factor did each layer's surrogate width change,
# given the $k$ it learned? Work it out, then run the next cell to compare.

# %%
for layer in last["k"]:
    print(f"{layer:6} width after / before = {last['width'][layer] / first['width'][layer]:.3f} "
          f"(k before / after = {first['k'][layer] / last['k'][layer]:.3f})")

# %% [markdown]
# ## Summary
#
# * One `compare_neurons` call trained KLIF and LIF alike, in the mode the mode line named, and said why.
# * Every KLIF layer learned its own $k$; that set its surrogate's slope (× k), width (÷ k) and centre
#   ($V_{th}/k$), and with a hard reset also its leak, $k(1 - 1/\tau)$.
# * `probe` shows the gate at work inside a trained network: $F = \mathrm{ReLU}(kH)$, and which
#   neurons get a gradient.
# * The paper's KLIF accuracies were not available offline (see arXiv:2302.09238); notebook
#   [11 · Reproduction](11_reproduction.ipynb) collects the runs made here and elsewhere into one table.
