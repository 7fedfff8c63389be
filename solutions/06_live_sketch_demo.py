# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 06 · Live sketch demo: draw, and the 3D shapes come back
#
# Everything so far ran on saved sketches. Here you draw your own. The widget below rasterises your strokes
# with **the same rasteriser as training**, embeds them with a trained sketch network, and ranks the whole
# gallery by cosine similarity each time you lift the pen. Next to the results you see the predicted class
# probabilities and, for UACTN, the network's **uncertainty σ**.
#
# **What you will learn**
# - how a query travels: strokes → raster → embedding → cosine ranking, in a few milliseconds;
# - how CFTTSL and UACTN differ on the same drawing, and why UACTN's σ cannot tell a scribble from a shape
#   (the out-of-distribution detector does);
# - how the query history (a SQLite file) lets you replay and export what people drew.

# %%
# %load_ext autoreload
# %autoreload 2
from pathlib import Path

import numpy as np

import sbsr_lab
from sbsr_lab import checks
from sbsr_lab.data.build import default_root, ensure_dataset
from sbsr_lab.notebook import setup, show_source
from sbsr_lab.plots import show_images, show_strokes
from sbsr_lab.serve.bundle import default_bundle_path

P, DATA, DEVICE = setup()
manifest = ensure_dataset(P, default_root(P), progress=False)
RUNS = DATA.parent / "runs" / f"nb-{P.name}"

# %% [markdown]
# ## The model: the bundled one, or the runs of notebooks 03 and 04
# The package ships a small trained bundle (CFTTSL and UACTN with their gallery). If it is missing, we use the
# runs that notebooks 03 and 04 trained (`train_method` returns at once when they are finished, and
# trains them quickly otherwise).

# %%
from sbsr_lab.pipeline import train_method
from sbsr_lab.serve.query import QueryEngine

if (default_bundle_path() / "bundle.json").is_file():
    MODELS = {"cfttsl": "bundle:cfttsl", "uactn": "bundle:uactn"}
else:
    MODELS = {m: str(train_method(m, P, manifest.root, RUNS, progress=False)[0]) for m in ("cfttsl", "uactn")}
print(MODELS)

# %% [markdown]
# ## The demo
# Draw in the white square (mouse, pen or finger). After each stroke the top shapes appear below; click **3D**
# under one to turn it around. Try:
# - a clear drawing of one class, then the same idea drawn badly;
# - switching the **model** between CFTTSL and UACTN on the same drawing (the drawing stays);
# - a **test sketch** from the benchmark (the picker), then your own version of it;
# - a scribble or some handwriting: the demo says *this does not look like any class I know* (the σ gauge
#   may not move at all: see below).
#
# Under each result: the rendered view of that shape that matches your drawing best, so you see from which
# side the model thinks you drew it. The history is kept in a SQLite file in your user data folder, one
# entry per drawing.

# %%
from sbsr_lab.widgets import sketch_demo

demo_widget = sketch_demo(MODELS["uactn"], data=manifest.root, k=8)   # history: your user data folder
demo = demo_widget.demo
demo_widget

# %% [markdown]
# ## What happens when you lift the pen
# The widget calls the same engine you can call yourself: `demo.engine.query(strokes, k)`. Below we put a
# test sketch on the pad, as the **test sketch** picker does (a label under the pad says so: clear the pad
# to draw your own), and look at what comes back and how long it took.

# %%
from sbsr_lab.data.stroke_io import load_strokes

rec = next(s for s in demo.test_sketches if s.strokes)
strokes = load_strokes(manifest.path(rec.strokes))
result = demo.query_test_sketch(demo.test_sketches.index(rec))  # on the pad, labelled, not in your history
print(demo.status_text)
print(f"true class {rec.cls!r} -> predicted {result.predicted_class!r}, σ = {result.uncertainty:.3f}, "
      f"{demo.last_timing['total_ms']:.0f} ms from stroke end to results shown")
print([(r["class"], r["score"]) for r in result.results[:5]])

# %% [markdown]
# ## Exercise 1 — rasterise the strokes yourself
# The first step of every query turns strokes into the image the network sees. Write
# `rasterize(strokes, size)`: `strokes` is a list of `(N, 2)` arrays of points in [0, 1]² (x to the
# right, y *down*, as on a screen), and the result a `(size, size)` float image with ink = 1 on paper = 0.
# A minimal rasteriser is enough: for each segment `(a, b)` between consecutive points, in pixel units
# (`p · size − 0.5` puts pixel centres on integers), take about two points per pixel of its length,
# round them and set `img[y, x] = 1` (row y, column x). A one-point stroke is a dot.
#
# The checker compares your image with the library's `strokes_to_image` within one pixel: its lines are
# anti-aliased and drawn at 4× resolution with round caps, yours may be thinner and sharper.

# %%
def rasterize(strokes: list[np.ndarray], size: int) -> np.ndarray:
    ### BEGIN SOLUTION
    img = np.zeros((size, size), np.float32)
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=float) * size - 0.5      # (N, 2) in pixels
        if len(pts) == 1:
            pts = np.vstack([pts, pts])                          # a dot: one zero-length segment
        for a, b in zip(pts[:-1], pts[1:]):
            n = int(np.ceil(2 * np.abs(b - a).max())) + 1       # ~2 samples per pixel of length
            p = np.rint(a + np.linspace(0, 1, n)[:, None] * (b - a)).astype(int)
            p = p[((p >= 0) & (p < size)).all(1)]                # drop what falls off the canvas
            img[p[:, 1], p[:, 0]] = 1.0                          # row = y, column = x
    return img
    ### END SOLUTION


# %%
checks.strokes.check_rasterize(rasterize);

# %% [markdown]
# Your raster of the test sketch next to the training rasteriser's, `strokes_to_image` (its code below):

# %%
from sbsr_lab.data.strokes import strokes_to_image

try:
    mine = rasterize(strokes, P.sketch_size)
except NotImplementedError:
    mine = np.zeros((P.sketch_size, P.sketch_size))          # until the exercise is done
show_images([mine, strokes_to_image(strokes, size=P.sketch_size)], titles=["yours", "strokes_to_image"],
            invert=True, cols=2)
show_source(strokes_to_image)

# %% [markdown]
# ## The same drawing, two methods
# CFTTSL pulls sketches onto the *teacher's* shape centres; UACTN pulls shapes onto the *sketch* centres and
# learns σ. Same strokes, both models: do they agree on the top shapes?

# %%
for name, spec in MODELS.items():
    demo.set_model(spec)
    res = demo.last_result
    print(f"{name:7s} predicted {res.predicted_class:10s} top-5 {[r['class'] for r in res.results[:5]]}")
demo.set_model(MODELS["uactn"])

# %% [markdown]
# ## Two kinds of uncertainty: σ is not "is this a shape?"
# UACTN's σ was trained on noisy sketches *of the known classes*: it says how shaky a drawing of a chair is.
# A scribble is not a chair drawn badly; it is unlike every class, and σ was never shown one. Compare σ of the
# clean test sketch with σ of random strokes:

# %%
rng = np.random.default_rng(0)
scribble = [np.cumsum(rng.normal(0, 0.08, (12, 2)), axis=0) % 1.0 for _ in range(6)]
clean, scrib = demo.engine.query(strokes, k=1), demo.engine.query(scribble, k=1)
print(f"σ clean sketch {clean.uncertainty:.3f}   σ scribble {scrib.uncertainty:.3f}")
print(f"clean:    {clean.label}\nscribble: {scrib.label}")
show_strokes([strokes, scribble], titles=[f"clean · σ {clean.uncertainty:.3f}", f"scribble · σ {scrib.uncertainty:.3f}"])

# %% [markdown]
# The second line comes from an **out-of-distribution (OOD) detector** stored with the model
# (`sbsr_lab/serve/calibration.py`). Three scores compete, each high for drawings like the training
# sketches: the cosine to the nearest class centre, the energy score (Liu et al., 2020), and the cosine of the
# drawing's backbone features to their 5th nearest neighbour among training sketches (Sun et al., 2022). The
# one that best separates the *validation* sketches from generated scribbles (random strokes, zigzags,
# spirals, hatching, dots, text, a full-canvas mess; `sbsr_lab/data/scribbles.py`) is kept, with the
# threshold that catches the most scribbles while flagging at most 2% of the validation sketches.
#
# The bundled model was also trained with **outlier exposure** (Hendrycks et al., 2019): a quarter batch of
# generated scribbles rides along with every batch of sketches, and `sbsr_lab/losses/outlier_exposure.py`
# pushes their class probabilities towards uniform, so a scribble lands far from every class centre. This is
# not part of CFTTSL or UACTN: `sbsr-lab demo` trains without it (`--set outlier_exposure=W` turns it on; the
# bundle weights it 0.5 for UACTN and 0.25 for CFTTSL, the weights that did best on the real drawings).
#
# Below, the score of the test sketches, of *other* scribbles (a seed neither the threshold nor the training
# saw) and of doodles of kinds never used at all (smileys, printed words, glasses, crowns, keys,
# envelopes). The class probabilities shown by the demo are also **calibrated** by a temperature fitted on the
# validation sketches (notebook 04 draws its reliability diagram). An empty canvas never reaches the
# detector: it is refused first (next section).

# %%
import plotly.express as px

from sbsr_lab.data.scribbles import DOODLE_KINDS
from sbsr_lab.serve.calibration import TEST_SCRIBBLE_SEED, engine_outputs, scribble_images, split_images

engine = demo.engine
cal = engine.calibration
if cal is None:
    print("this model has no OOD detector (an older bundle): export it again")
else:
    sets = {"test sketch": split_images(manifest, "test", engine.image_size)[0][:200],
            "scribble": scribble_images(engine, 70, TEST_SCRIBBLE_SEED)[0],
            "doodle (never seen)": scribble_images(engine, 36, TEST_SCRIBBLE_SEED, DOODLE_KINDS)[0]}
    scores = {}
    for name, x in sets.items():
        cos, feats = engine_outputs(engine, x)  # cosines to the class centres, backbone features
        scores[name] = cal.score(cos, engine.am_scale, feats).numpy()
    flagged = {name: float((s < cal.ood_threshold).mean()) for name, s in scores.items()}
    fig = px.histogram(x=np.concatenate(list(scores.values())), nbins=40, barmode="overlay", opacity=0.6,
                       color=[name for name, s in scores.items() for _ in s],
                       labels={"x": f"OOD score ({cal.ood_score}); below the line = 'not a shape'"},
                       title=f"Flagged: scribbles {flagged['scribble']:.0%}, doodles {flagged['doodle (never seen)']:.0%}, "
                             f"test sketches {flagged['test sketch']:.0%} (T = {cal.temperature:.2f})")
    fig.add_vline(x=cal.ood_threshold, line_dash="dash")
    fig.show()

# %% [markdown]
# ## How far to trust the percentage, on drawings made by people
# A displayed probability is only worth showing if it means something: of the answers shown at 80%, about
# 80% should be right. The **reliability diagram** below checks that for the model shipped with the course,
# on drawings made by people, not by us: the real development set (Quick, Draw! doodles) when it is next to
# the course (`../shared/realdata`), else our hand-made people-style set. Each point is a bin of answers: how
# sure the model said it was (x) against how often it was right (y); on the dotted line they agree. When the
# model is unsure (below 60%), the demo also names the runner-up. `benchmarks/real_drawings.py` measures the
# same per source, style and class, and on real-looking pages (scans, pencil, frames, ...).

# %%
import torch

from sbsr_lab.notebook import realdata_folder
from sbsr_lab.serve.calibration import expected_calibration_error, reliability_bins
from sbsr_lab.serve.engine import load_engine
from sbsr_lab.serve.sketch_files import SKETCH_SUFFIXES

shipped = load_engine()                                  # the bundled UACTN, trained for people's drawings
repo = Path(sbsr_lab.__file__).resolve().parents[1]      # the course's folder (a clone of the repository)
real = realdata_folder()                                 # ../shared/realdata when it is next to the course
candidates = [real / "sketches" if real else None, repo / "tests" / "data" / "people_sketches"]
folder = next((c for c in candidates if c is not None and c.is_dir()), None)  # or a folder of your own drawings, by class
files = [] if folder is None else [(f, f.parent.name) for f in sorted(folder.glob("*/*"))
                                   if f.suffix in SKETCH_SUFFIXES and f.parent.name in shipped.class_names][:80]
probs, labels = [], []
if not files:
    print("no drawings by people next to the course: give `folder` a folder of class sub-folders of your own")
for f, cls in files:
    answer = shipped.query(f, k=1)
    probs.append([answer.probabilities[c] for c in shipped.class_names])
    labels.append(shipped.class_names.index(cls))
probs, labels = torch.tensor(probs).reshape(-1, len(shipped.class_names)), torch.tensor(labels, dtype=torch.long)
b = reliability_bins(probs, labels, n_bins=10)
full = b["count"] > 0
accuracy = float((probs.argmax(1) == labels).double().mean()) if files else float("nan")
fig = px.scatter(x=b["confidence"][full], y=b["accuracy"][full], size=b["count"][full],
                 labels={"x": "shown confidence (top probability)", "y": "share right"},
                 title=f"{len(files)} drawings from {getattr(folder, 'name', '-')}: top-1 {accuracy:.2f}, "
                       f"ECE {expected_calibration_error(probs, labels, 10):.3f}")
fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="calibrated", line={"dash": "dot", "color": "grey"})
fig.show()

# %% [markdown]
# ## Bad input gets a message, not a query
# An empty canvas or a single dot is not sent to the model; the status line says what to do instead.

# %%
from IPython.display import HTML, display

demo.pad.set_strokes([], notify=False)               # an empty canvas
demo.query_now()
display(HTML(demo.status.value))                     # the status line, as the widget shows it
demo.pad.set_strokes([np.array([[0.5, 0.5]])], notify=False)  # one dot
demo.query_now()
display(HTML(demo.status.value))

# %% [markdown]
# ## The query history is a real database
# Each drawing is one row of a SQLite file (user, time, strokes, pen width, model, top-k ids and scores):
# every stroke end asks again and replaces the row, so it keeps the drawing's last, complete query. Two
# people can draw at once: the file is in WAL mode. Replay puts a drawing back into the pad with its own
# pen and model and checks that the same shapes come back; the history exports to CSV.

# %%
from sbsr_lab.widgets.history import short_path

demo.draw(strokes)                                   # as if drawn by hand: a new drawing, recorded
for entry in demo.history.recent(3):
    print(entry.label())
demo.replay(demo.history.recent(1)[0].id)
print(demo.status_text)
csv_path = demo.export_history(demo.history.path.with_suffix(".csv"))
print(short_path(csv_path))

# %% [markdown]
# ## Outside the notebook
# The same engine answers on the command line and as a web page:
#
# ```
# sbsr-lab query my_chair.png more/ --k 5 --json     # PNG, QuickDraw .ndjson or .svg; files and folders,
#                                                     # one model load, one JSON line per sketch
# sbsr-lab score-sketches my_class_drawings/          # class sub-folders: top-1, P@10, mAP, confusion
# sbsr-lab app                                        # the demo as a web page for a room, prints its URL
# ```
#
# The top shapes of the test sketch, as thumbnails, and below each the view that matched the sketch best
# (the bundle keeps an embedding per rendered view; a model without them shows its thumbnail view):

# %%
import io

from PIL import Image

from sbsr_lab.widgets.results import thumbnail_png, view_png


def png_image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float32) / 255


rows = {sid: i for i, sid in enumerate(demo.engine.index.ids)}
views, top = demo.engine.views, result.results[:6]
shown = [png_image(thumbnail_png(demo.engine.index.thumbnails[rows[r["id"]]])) for r in top]
titles = [f"#{r['rank']} {r['class']}" for r in top]
if views is not None and views.strips:  # the view of each shape nearest the sketch
    shown += [png_image(view_png(views.strips[rows[r["id"]]], r["view"])) for r in top]
    titles += [f"drawn from view {r['view'] + 1}" for r in top]
show_images(shown, titles=titles, cols=6)
