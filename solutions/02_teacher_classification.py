# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 02 · The teacher: a multi-view network learns a shape space
#
# CFTTSL starts from the 3D side. A *teacher* network looks at every shape through its rendered views,
# pools them into one embedding and classifies it with a **cosine classifier** trained with
# **AM-softmax**. The classifier's normalised weight columns are the **class centres**: once the teacher
# is trained they are frozen and become the target space for sketches (notebook 03).
#
# **What you will learn**
# - how a multi-view CNN (MVCNN) turns V views into one shape embedding;
# - why a cosine classifier with an additive margin (AM-softmax) gives compact, well separated classes;
# - how to read the learned class centres and the embedding space.

# %%
# %load_ext autoreload
# %autoreload 2
import numpy as np
import plotly.express as px
import torch

from sbsr_lab import checks
from sbsr_lab.data.build import default_root, ensure_dataset
from sbsr_lab.data.datasets import MultiViewDataset
from sbsr_lab.notebook import setup, show_source, train
from sbsr_lab.plots import show_curve, show_images

P, DATA, DEVICE = setup()
manifest = ensure_dataset(P, default_root(P), progress=False)

# %% [markdown]
# ## A shape is a stack of V views, one tensor `(V, 1, H, W)`
# The dataset gives each gallery shape as a tensor `(V, 1, H, W)`. Below: the views of one shape, as the
# network sees them (already resized to the profile's `image_size`).

# %%
shapes = MultiViewDataset(manifest, P.image_size, P.num_views, P.view_style)
views, label = shapes[0]
print("views:", tuple(views.shape), "class:", shapes.class_names[label])
show_images([v[0].numpy() for v in views], titles=[f"view {i}" for i in range(len(views))], cols=6)

# %% [markdown]
# ## The network: one backbone over every view, then view pooling
# `MultiViewNet` runs one shared CNN on all `B·V` views, pools the `V` view features of each shape into
# one (the mean, or the max with `pooling="max"`), and maps the result to a unit embedding `z` that the
# cosine classifier compares with the class centres. Its code, as the library has it:

# %%
from sbsr_lab.models import MultiViewNet

show_source(MultiViewNet)

# %% [markdown]
# ## Exercise 1 — AM-softmax
# A cosine classifier outputs cosines `cos θ_k` between the embedding and each class centre. AM-softmax
# subtracts a margin `m` from the cosine of the true class only, scales everything by `s`, then applies
# cross-entropy: `CE(s·(cos θ − m·onehot(y)), y)`. The margin forces each embedding to be *closer* to its
# own centre than it would need to be for a plain softmax.
#
# Write `am_softmax(cosine, labels, scale, margin)` returning the mean loss over the batch
# (`cosine` is `(B, K)`, `labels` is `(B,)`).

# %%
import torch.nn.functional as F


def am_softmax(cosine: torch.Tensor, labels: torch.Tensor, scale: float = 15.0, margin: float = 0.35) -> torch.Tensor:
    ### BEGIN SOLUTION
    onehot = F.one_hot(labels, cosine.shape[1]).to(cosine.dtype)  # (B, K)
    return F.cross_entropy(scale * (cosine - margin * onehot), labels)
    ### END SOLUTION


# %%
checks.losses.check_am_softmax(am_softmax);

# %% [markdown]
# ## Training the teacher: the loss falls, the validation accuracy rises
# `train("teacher", P, ...)` calls `fit`, the same function as the CLI's `sbsr-lab train teacher`: one
# readable loop (below, or `fit??`). It writes `best` and `last` checkpoints (safetensors + JSON) and a
# `metrics.csv` to the run folder, `RUNS / "teacher"`. Run the cell again and it returns at once (the run
# is finished). Pass a changed profile, e.g. `P.replace(am_margin=0.0)`, and it trains a new run in a
# folder named after the change (`teacher+am_margin=0`), so the first run stays as it was.

# %%
from sbsr_lab.train.fit import fit

show_source(fit)

# %%
from sbsr_lab.train.runs import load_run

RUNS = DATA.parent / "runs" / f"nb-{P.name}"
teacher_run = train("teacher", P, manifest.root, RUNS)   # stretch exercises: P.replace(...) here
print("run folder:", teacher_run.run)
epochs = [h["epoch"] + 1 for h in teacher_run.history]
show_curve(epochs, {"loss": [h["loss"] for h in teacher_run.history],
                    "val accuracy": [h["val_acc"] for h in teacher_run.history]},
           "epoch", "value", title="Teacher training")

# %% [markdown]
# ## The class centres spread out over the sphere
# The centres are unit vectors in 128-d. A good teacher keeps them far apart: the off-diagonal cosines
# below should be low (near 0 or negative), with the confusable pairs a little higher.

# %%
teacher, meta = load_run(teacher_run.run)
centres = teacher.centres.detach()  # (K, d)
cos = (centres @ centres.T).numpy()
px.imshow(cos, x=meta["class_names"], y=meta["class_names"], zmin=-1, zmax=1, color_continuous_scale="RdBu_r",
          title="cosine between class centres")

# %% [markdown]
# ## The shape embeddings cluster around their centres
# Project the gallery embeddings and the centres to 2-D with PCA: each class should form a tight group
# near its centre (the star).

# %%
with torch.no_grad():
    z = torch.cat([teacher.embed(x) for x, _ in torch.utils.data.DataLoader(shapes, batch_size=16)])
both = torch.cat([z, centres])
mean = both.mean(0)
_, _, v = torch.pca_lowrank(both - mean, q=2)
xy = ((both - mean) @ v).numpy()
n = len(z)
names = [shapes.class_names[i] for i in shapes.labels] + meta["class_names"]
kind = ["shape"] * n + ["centre"] * len(centres)
px.scatter(x=xy[:, 0], y=xy[:, 1], color=names, symbol=kind, symbol_map={"shape": "circle", "centre": "star"},
           title="teacher embedding space (PCA)", height=450)

# %% [markdown]
# ## Exercises to go further
# - ⭐ In the training cell, pass `P.replace(am_margin=0.0)` instead of `P` and run the cells below it
#   again: how do the centre cosines change?
# - ⭐⭐ Max view pooling instead of mean: `P.replace(pooling="max")` in the training cell (the CLI:
#   `sbsr-lab train teacher --set pooling=max`). Compare the best validation accuracy (`teacher_run.best_val`).
# - ⭐⭐⭐ Train with fewer views per step (`P.replace(train_views=1)`, `2`, ...) and plot the best
#   validation accuracy against the number of views.
