# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 07 · Seven methods, one benchmark: what the field's other ideas do, and how they compare
#
# Notebooks 02-04 trained three methods. The work they come from describes four more, and the library
# trains them all (`sbsr-lab demo --methods all`):
#
# | method | idea | stages |
# |---|---|---|
# | `joint` | one classifier shared by sketches and views (the one-stage baseline) | `joint` |
# | `cfttsl` (CVIU 2024) | a teacher fixes the shape space, a student is pulled onto it | `teacher` → `student` |
# | `uactn` (ICME 2023) | sketch uncertainty first, shapes pulled onto the sketch centres | `sketch-uncertainty` → `shape-transfer` |
# | `dca` (ECCV 2018) | a transformation T maps sketches into the shape space against a **modality discriminator** | `dca-metric` → `dca-adapt` |
# | `cmic` (ICCV 2021) | **instance and category contrast**; each sketch weighs a shape's views by **attention** | `cmic` |
# | `ssl` (2024) | the shape network learns from **two views of one shape, no labels**, then a cross-modal triplet | `ssl-pretrain` → `ssl-align` |
# | `ssltkd` (2024) | a long-tail-aware teacher on the self-supervised features, distilled into the sketch student | `ssl-pretrain` → `ssltkd-teacher` → `ssltkd-student` |
#
# **What you will learn**
# - how an adversary aligns two modalities (DCA), and how to tell whether it worked: the discriminator's
#   accuracy heads to chance;
# - what instance- and category-level contrast ask of a sketch (CMIC), and where its attention looks;
# - that a shape network can learn classes from views alone (SimSiam), before any label;
# - how to compare methods honestly: several seeds, mean ± spread, and the cost of each.
#
# The cells train four stages into `runs/nb-<profile>` (`dca-metric`, `dca-adapt`, `cmic`,
# `ssl-pretrain`), once: run again, they return at once. The comparison at the end reads the
# course's committed results and your own `sbsr-lab demo --methods all` runs.

# %%
# %load_ext autoreload
# %autoreload 2
import torch
import torch.nn.functional as F

from sbsr_lab import checks
from sbsr_lab.notebook import setup_data, show_source, train

nb = setup_data()  # seeds; the profile's SynthShapes (built once); the run folder; the test sketches and the gallery
P, manifest, RUNS, CLASSES = nb.profile, nb.manifest, nb.runs, nb.classes
test_sketches, gallery = nb.test_sketches, nb.gallery

# %% [markdown]
# ## DCA: a transformation T maps sketches into the shape space, against a discriminator
# DCA trains in two stages. First each modality gets its own network, trained with a metric loss that
# weighs hard pairs more (`dca-metric`). Then both networks are frozen and a small network T maps each
# sketch embedding into the shape space (`dca-adapt`). Three losses train T:
# - a **modality discriminator** D tries to tell T(sketch) from a shape embedding; T tries to fool it
#   (holistic alignment of the two distributions);
# - a **class-aware mean discrepancy** pulls each class's mean T(sketch) onto its mean shape (local,
#   semantic alignment);
# - AM-softmax on the shape classifier keeps T(sketch) in its class.
#
# ## Exercise 1 — the class-aware mean discrepancy
# For sketch embeddings `z_s (N, d)` with labels `y_s (N,)` and shape embeddings `z_t (M, d)` with labels
# `y_t (M,)`, return one number: the mean, over the classes present in **both**, of
# `‖mean(z_s of class k) − mean(z_t of class k)‖²`. Zero means each class sits in the same place
# whichever modality it comes from. `class_means(z, y, K)` gives each class's mean row and its count.

# %%
from sbsr_lab.losses.cross_modal import class_means


def mean_discrepancy(z_s: torch.Tensor, y_s: torch.Tensor, z_t: torch.Tensor, y_t: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    k = int(max(y_s.max(), y_t.max())) + 1
    ms, ns = class_means(z_s, y_s, k)
    mt, nt = class_means(z_t, y_t, k)
    both = (ns > 0) & (nt > 0)
    return (ms[both] - mt[both]).pow(2).sum(1).mean()
    ### END SOLUTION


# %%
checks.losses.check_mean_discrepancy(mean_discrepancy);

# %% [markdown]
# ## Exercise 2 — the discriminator step, through a gradient reversal
# D maps an embedding to one logit, "a shape" (> 0) or "a sketch" (< 0). Its loss is the binary
# cross-entropy over the B transformed sketches `ts` and the M shapes `z_shape`, with **label
# smoothing** s: the target of a shape is `1 − s`, of a sketch `s`. D minimises it, T must *maximise*
# it. The library does both in one backward pass with a **gradient reversal layer**: `grad_reverse(x, λ)`
# returns `x` unchanged, and the gradient flowing back through it is multiplied by `−λ`:

# %%
from sbsr_lab.models.adversarial import ReverseGrad, grad_reverse

show_source(ReverseGrad)

# %% [markdown]
# Write the step's loss: feed D the sketches through `grad_reverse(ts, lambd)` and the shapes as they are,
# and return the mean BCE over all B + M samples (`F.binary_cross_entropy_with_logits`, D gives logits).
# The checker backpropagates your loss: D must get the gradient of its BCE, and `ts` minus λ times it.

# %%
def discriminator_step(disc: torch.nn.Module, ts: torch.Tensor, z_shape: torch.Tensor, smoothing: float = 0.1,
                       lambd: float = 1.0) -> torch.Tensor:
    ### BEGIN SOLUTION
    logits = torch.cat([disc(grad_reverse(ts, lambd)), disc(z_shape)])       # (B + M,)
    target = torch.cat([torch.full((len(ts),), smoothing, dtype=logits.dtype),
                        torch.full((len(z_shape),), 1.0 - smoothing, dtype=logits.dtype)])
    return F.binary_cross_entropy_with_logits(logits, target)
    ### END SOLUTION


# %%
checks.losses.check_discriminator_step(discriminator_step);

# %% [markdown]
# ## Training DCA: the metric networks, then T against D
# The library's `dca-adapt` loss puts the three terms together; the discriminator's BCE is the formula
# of your exercise (`ModalityDiscriminatorLoss`). D's parameters learn 30 times faster than T's, which
# keeps the pair from chasing each other in circles (docs/reproducing.md).

# %%
from sbsr_lab.train.methods.dca import AdaptLoss

show_source(AdaptLoss.forward)

# %%
import pandas as pd

dca_metric = train("dca-metric", P, manifest.root, RUNS)
dca_adapt = train("dca-adapt", P, manifest.root, RUNS, from_run=dca_metric)
log = pd.read_csv(dca_adapt.run / "metrics.csv")
log[["epoch", "d_acc", "d_loss", "mean_discrepancy", "am", "val_acc"]].round(3)

# %% [markdown]
# ## D's accuracy over training: 0.5 means it can no longer tell the modalities apart
# `d_acc` is D's balanced accuracy on each epoch's batches (half sketches right, half shapes right).
# A D that wins stays near 1; when T succeeds, D falls to chance, 0.5.

# %%
from sbsr_lab.plots import show_curve

epochs = (log["epoch"] + 1).tolist()
fig = show_curve(epochs, {"D accuracy": log["d_acc"].tolist(), "mean discrepancy": log["mean_discrepancy"].tolist()},
                 "epoch", "value", title="DCA adaptation: the discriminator against T")
fig.add_hline(y=0.5, line_dash="dash", annotation_text="chance")

# %% [markdown]
# What this run shows (computed from its `metrics.csv`):

# %%
first, last = float(log["d_acc"].iloc[0]), float(log["d_acc"].iloc[-1])
trend = ("fell toward chance: T(sketch) passes for a shape more and more often" if last < first - 0.05 else
         "rose: D is winning, T has not (yet) fooled it" if last > first + 0.05 else "stayed about where it was")
print(f"Over {len(log)} epochs D's accuracy went from {first:.2f} to {last:.2f} (chance 0.50): it {trend}.")
if len(log) < 5:
    print(f"The {P.name!r} profile trains only {len(log)} epochs; on `default` the curve has room to settle.")

# %% [markdown]
# ## T moves each class's sketches toward its shapes
# The test sketches before T (the metric network's embedding) and after T, against the gallery: the mean
# discrepancy, then each class's mean sketch (circle) joined to its mean shape (square), projected on the
# two principal axes of all the means. Shorter lines, smaller gap.

# %%
from sbsr_lab.losses import MeanDiscrepancyLoss
from sbsr_lab.plots import show_class_means
from sbsr_lab.train.runs import load_run

dca, _ = load_run(dca_adapt.run)
loader = lambda ds: torch.utils.data.DataLoader(ds, batch_size=32)  # noqa: E731
with torch.no_grad():
    before = torch.cat([dca.sketch.embed(x) for x, _ in loader(test_sketches)])
    after = dca.transform(before)
    shapes = torch.cat([dca.shape.embed(x) for x, _ in loader(gallery)])
ys, yt = test_sketches.labels, gallery.labels
md = MeanDiscrepancyLoss()
print(f"mean discrepancy, test sketches vs gallery: before T {md(before, ys, shapes, yt):.3f}, "
      f"after T {md(after, ys, shapes, yt):.3f}")


def means_by_class(z, y):
    means, counts = class_means(z, y, len(CLASSES))
    return torch.where(counts[:, None] > 0, means, torch.nan).numpy()


show_class_means({"before T": (means_by_class(before, ys), means_by_class(shapes, yt)),
                  "after T": (means_by_class(after, ys), means_by_class(shapes, yt))}, CLASSES)

# %% [markdown]
# ## CMIC: a sketch weighs each shape's views, then must find its own shape among the batch's
# CMIC keeps one embedding per view, `r_k` (unit, 128-d). A query sketch `q` weighs them with attention
# `a_k = softmax_k((W_a q) · r_k)` and compares itself with the mix: `s = q · Σ_k a_k r_k`. In a batch of
# B sketches and M distinct shapes, `P_ij = softmax_j(s_ij / τ)` (τ = 0.1) over the shapes, and two
# losses train everything:
# - **instance**: `−log P_{i, own(i)}`, find the very shape the sketch was drawn from;
# - **category**: `−mean_{j in C_i} log P_ij`, C_i the batch's shapes of the sketch's class, **the own
#   shape included** (as the authors' code does);
# - total: mean instance + 0.2 · mean category.
#
# ## Exercise 3 — CMIC's instance and category loss
# `scores (B, M)` are the s_ij, `own (B,)` the index of each sketch's own shape among the M, `y_query (B,)`
# and `y_shape (M,)` the classes. Return the total loss (one number).

# %%
def cmic_loss(scores: torch.Tensor, own: torch.Tensor, y_query: torch.Tensor, y_shape: torch.Tensor,
              temperature: float = 0.1, category_weight: float = 0.2) -> torch.Tensor:
    ### BEGIN SOLUTION
    log_p = torch.log_softmax(scores / temperature, dim=1)                  # (B, M)
    instance = -log_p[torch.arange(len(own)), own]                           # (B,)
    pos = (y_query[:, None] == y_shape[None, :]).to(log_p.dtype)             # (B, M), own shape included
    category = -(pos * log_p).sum(1) / pos.sum(1)
    return instance.mean() + category_weight * category.mean()
    ### END SOLUTION


# %%
checks.losses.check_cmic_loss(cmic_loss);

# %% [markdown]
# ## Training CMIC
# One stage on pair batches (each sketch with its own shape, padded with other shapes). Sketches get a
# strong appearance augmentation (stroke width, dropped strokes, elastic warp) in place of the paper's
# colour transfer, which means nothing for black-and-white drawings.

# %%
cmic_run = train("cmic", P, manifest.root, RUNS)
show_curve([h["epoch"] + 1 for h in cmic_run.history],
           {"instance": [h["instance"] for h in cmic_run.history], "category": [h["category"] for h in cmic_run.history]},
           "epoch", "loss", title="CMIC training")

# %% [markdown]
# ## Where a sketch's attention goes: the weights over a shape's views
# For three test sketches of different classes: the sketch, then the views of a shape of its class
# (the sketch's own shape when the dataset records it), each titled with its attention weight. Uniform
# attention would give every view `1/V`.

# %%
import numpy as np

from sbsr_lab.plots import show_images

cmic, _ = load_run(cmic_run.run)
index = {sid: i for i, sid in enumerate(gallery.ids)}
picks = [int(np.flatnonzero(test_sketches.labels.numpy() == k)[0]) for k in np.unique(test_sketches.labels.numpy())[:3]]
images, titles, weights = [], [], []
for i in picks:
    x, y = test_sketches[i]
    source = getattr(test_sketches.records[i], "source", None)
    j = index.get(source, int(np.flatnonzero(gallery.labels.numpy() == y)[0]))
    views = gallery[j][0]                                                   # (V, 1, H, W)
    with torch.no_grad():
        _, w = cmic.attention(cmic.sketch.embed(x[None]), cmic.view_embeddings(views[None]))
    w = w[0, 0].numpy()                                                      # (V,)
    weights.append(w)
    images += [1 - x[0].numpy()] + [v[0].numpy() for v in views]
    titles += [f"{CLASSES[y]} ({'own' if source in index else 'same class'})"] + [f"a={a:.3f}" for a in w]
show_images(images, titles, cols=len(views) + 1, size=1.1)

# %%
w = np.stack(weights)
uniform = 1 / w.shape[1]
print(f"attention weights range {w.min():.3f} to {w.max():.3f}; uniform would be {uniform:.3f}.")
print("Close to uniform: this run has not learnt to prefer views." if w.max() < 1.5 * uniform else
      "The sketches favour some views of their shape over others: "
      f"the largest weight is {w.max() / uniform:.1f} times the uniform one.")

# %% [markdown]
# ## SSL: the shape network learns from views alone, before any label
# The `ssl-pretrain` stage never sees a class. Two disjoint sets of rendered views of the same shape form
# a positive pair; a projector g and a predictor h make `z = g(f(x))`, `p = h(z)`, and SimSiam's loss asks
# each view's prediction to match the other view's projection, `L = ½ D(p1, sg(z2)) + ½ D(p2, sg(z1))`
# with `D(p, z) = −cos(p, z)`. The **stop-gradient** `sg` is what keeps it from collapsing to a constant
# without any negatives.
#
# ## Exercise 4 — the SimSiam loss
# `p1, p2, z1, z2` are `(B, d)`. Return the batch mean of the loss above. The checker backpropagates it:
# no gradient may reach z1 or z2 through the target side.

# %%
def simsiam_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    def d(p, z):
        return -F.cosine_similarity(p, z.detach(), dim=1)
    return (0.5 * d(p1, z2) + 0.5 * d(p2, z1)).mean()
    ### END SOLUTION


# %%
checks.losses.check_simsiam_loss(simsiam_loss);

# %% [markdown]
# ## Training the self-supervised shape network
# `z_std` is the spread of the unit projections per dimension: 0 would be a collapse, `1/√d` well
# spread out.

# %%
ssl_run = train("ssl-pretrain", P, manifest.root, RUNS)
show_curve([h["epoch"] + 1 for h in ssl_run.history],
           {"SimSiam loss": [h["simsiam"] for h in ssl_run.history], "z_std": [h["z_std"] for h in ssl_run.history],
            "kNN monitor accuracy": [h["val_acc"] for h in ssl_run.history]}, "epoch", "value",
           title="SimSiam pre-training (no labels; the kNN monitor only reads them)")

# %% [markdown]
# ## The self-supervised feature space, coloured by the classes it never saw
# The view-pooled backbone features of every gallery shape, from an untrained network and from the
# SimSiam one, projected on their two principal axes. Each point is coloured by its class, which played
# no part in training. Above each panel: the leave-one-out 1-NN class accuracy of the features (chance is
# 1/K).

# %%
import plotly.express as px

from sbsr_lab.plots import project_2d
from sbsr_lab.train.methods.ssl import knn_monitor_accuracy, shape_features
from sbsr_lab.train.stage import get_stage

torch.manual_seed(0)
untrained = get_stage("ssl-pretrain").build_model(P, len(CLASSES)).eval()
trained, _ = load_run(ssl_run.run)
rows, acc = [], {}
for name, net in (("untrained", untrained), ("SimSiam", trained)):
    z, y = shape_features(net.features, gallery, P, torch.device("cpu"))
    acc[name] = knn_monitor_accuracy(z, y)
    xy = project_2d(F.normalize(z, dim=1).numpy())
    rows += [{"network": f"{name}: 1-NN {acc[name]:.2f}", "x": a, "y": b, "class": CLASSES[int(k)]} for (a, b), k in zip(xy, y)]
px.scatter(pd.DataFrame(rows), x="x", y="y", color="class", facet_col="network", height=420,
           title=f"Shape features before any label (chance 1-NN = {1 / len(CLASSES):.2f})").update_xaxes(matches=None)

# %% [markdown]
# A linear probe asks the same question with a classifier: a logistic regression on the frozen features
# of half of each class's shapes, scored on the other half (what `sbsr-lab demo` reports for `ssl`).

# %%
from sbsr_lab.train.methods.ssl import ssl_linear_probe

probe = ssl_linear_probe(ssl_run.run, manifest.root)
gain = acc["SimSiam"] - acc["untrained"]
print(f"linear probe of the SimSiam features: {probe:.2f} (chance {1 / len(CLASSES):.2f}); "
      f"1-NN {acc['SimSiam']:.2f} vs {acc['untrained']:.2f} untrained: "
      + ("views alone taught the network something about the classes." if gain > 0.05 else
         "no clear gain over an untrained network in this run."))

# %% [markdown]
# `ssl-align` then trains a sketch network and this shape network together with a cross-modal triplet
# loss, and SSLTKD trains a long-tail-aware teacher on these features and distils it into the sketch
# student. Both are in the comparison below.
#
# ## The seven methods compared on the default profile, over seeds
# `docs/results/methods-default.json` holds the summary of `sbsr-lab demo --methods all` runs on the
# `default` profile, one per seed (the cell prints which), made by `benchmarks/compare_methods.py`;
# `committed_summary()` reads it from the course's `docs/results` (and says how to make it when it is
# missing). The table gives the mean ± standard deviation of mAP over the seeds, the means of the other
# SHREC metrics and the wall seconds to train and evaluate each method on the machine that ran them.

# %%
from IPython.display import display

from sbsr_lab.retrieval.compare import (committed_summary, comparison_table, describe_comparison, pr_curves,
                                        summarise_demos, summarise_evaluations)
from sbsr_lab.retrieval.plots import show_pr_curves

committed = committed_summary()
if committed is not None:
    display(comparison_table(committed))

# %% [markdown]
# What the numbers show, computed from the file (nothing here is written in advance):

# %%
if committed is not None:
    print(describe_comparison(committed))
    curves = pr_curves(committed)
    display(show_pr_curves(curves, title="Precision-recall, mean over the seeds") if curves else
            "The summary holds no PR curves (it was made without the run folders).")

# %% [markdown]
# ## Balanced, long-tailed, class level and instance level
# When the summary also holds other settings (a long-tailed SynthShapes, `--set longtail=60:4`, with mAP
# per many / medium / few class group; sketches drawn from the gallery's own shapes,
# `--set sketch_source=gallery`, with the instance-level top-1 / top-10 of each sketch's source shape),
# each gets its table here.

# %%
settings = (committed or {}).get("settings", {})
for name, s in settings.items():
    if s.get("runs") != committed["runs"]:  # the main table above is already shown
        print(f"— {name} ({len(s.get('runs', []))} runs): {describe_comparison(s)}")
        display(comparison_table(s))
if not settings:
    print("No long-tailed or instance-level setting in the committed summary.")

# %% [markdown]
# The same methods across the settings: mAP (mean over the seeds) per setting, side by side.

# %%
if settings:
    across = pd.DataFrame([{"method": m, "setting": name, "mAP": e["metrics"]["mAP"]["mean"]}
                           for name, s in settings.items() for m, e in s["methods"].items()])
    display(px.bar(across, x="method", y="mAP", color="setting", barmode="group",
                   title="mAP per setting (mean over the seeds)"))

# %% [markdown]
# Reading the table: a method that loses is worth a sentence of why. Likely reasons, to check against
# the numbers above rather than take on trust:
# - **DCA** only *moves* frozen sketch embeddings with a small T, so it is bounded by its metric
#   networks; the adversary aligns the two distributions as a whole, not class by class.
# - **CMIC** learns everything from a contrastive signal inside each batch; with small batches and few
#   epochs it sees few negatives, and its instance term needs sketches drawn from gallery shapes
#   (`sketch_source=gallery`) to mean what it says.
# - **SSL** gives its shape network no label before the alignment stage, so the triplet loss must find
#   the classes alone, although its features know them (the linear probe); **SSLTKD** puts a labelled,
#   long-tail-aware teacher on the same features and distils it, and that closes most of the gap even
#   on balanced classes.
#
# ## Your own runs: `sbsr-lab demo --methods all`
# Run it from the course folder (add `--set seed=1 --out runs/demo-default-s1` for another seed); every
# `runs/demo-<profile>*` folder with a `results.json` is summarised here, seeds side by side.

# %%
from sbsr_lab.train.stage import method_stages

mine = sorted(d for d in RUNS.parent.glob(f"demo-{P.name}*") if (d / "results.json").is_file())
if not mine:
    print(f"No demo of your own yet under {RUNS.parent}: run `sbsr-lab demo --profile {P.name} --methods all`.")
else:
    own = summarise_demos(mine)
    missing = sorted(set(method_stages()) - set(own["methods"]))
    if missing:
        print(f"Your demos did not train {', '.join(missing)}: add `--methods all` to compare all seven.")
    print(describe_comparison(own))
    display(comparison_table(own))
    if pr_curves(own):
        display(show_pr_curves(pr_curves(own), title="Your runs: precision-recall"))

# %% [markdown]
# ## The runs of this notebook, side by side on the current profile
# The methods whose runs this notebook and notebooks 02-04 trained, evaluated here on the test sketches
# against the whole gallery (one run each, so no spread).

# %%
from sbsr_lab.retrieval.runs import evaluate_method

lasts = {method: RUNS / chain[-1][0] for method, chain in method_stages().items()}
trained_here = {m: run for m, run in lasts.items() if (run / "best.json").is_file()}
live = summarise_evaluations({m: evaluate_method(run, manifest.root, device="cpu") for m, run in trained_here.items()},
                             profile=P.name)
print(describe_comparison(live))
display(comparison_table(live).drop(columns=["wall s"]))
show_pr_curves(pr_curves(live), title=f"Precision-recall of this notebook's runs ({P.name} profile)")

# %% [markdown]
# One run on one profile ranks methods by chance as much as by merit: the `ci` profile's tiny networks
# train for two or three epochs and say nothing about the methods; on `default` a single seed can still
# swap two close methods. That is why the course's table above reports several seeds (the cell says how many).
#
# ## Exercises to go further
# - ⭐ Add `ssl` and `ssltkd` to the live table: `train("ssl-align", P, manifest.root, RUNS, from_run=ssl_run)`,
#   then `ssltkd-teacher` from `ssl_run` and `ssltkd-student` from the teacher, and run the last cell again.
# - ⭐⭐ The adversarial game by hand: on the frozen `before` and `shapes` embeddings above, train a
#   `CrossModalTransform` and a `ModalityDiscriminator` (`sbsr_lab.models`) with your `discriminator_step`,
#   once with equal learning rates and once with D 30 times faster, and plot D's accuracy. Which one
#   settles at chance?
# - ⭐⭐ CMIC's temperature: how do the instance and category terms of your `cmic_loss` change on the same
#   scores with τ = 0.05, 0.1, 0.5? Why would a large τ make the instance level useless?
# - ⭐⭐⭐ Long tail and instance level: `sbsr-lab demo --methods all --set longtail=60:4 --out runs/demo-lt`
#   and `--set sketch_source=gallery --out runs/demo-inst`, then
#   `python benchmarks/compare_methods.py runs/demo-default --setting longtail runs/demo-lt --setting instance
#   runs/demo-inst --out my-summary.json` and load it with `load_summary` (`sbsr_lab.retrieval.compare`). Which method loses most on the
#   few-shot classes?
