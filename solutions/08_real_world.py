# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 08 · From SynthShapes to the real world
#
# Every shape so far was a SynthShapes shape: built from primitives, standing on the ground, +Y up, its
# front towards +Z. Real collections are not like that. Two facts set the scene for this notebook:
#
# - the **drawings side generalises**: the sketch networks were trained on our generated drawings, and they
#   still classify drawings made by people (Quick, Draw! doodles) reasonably well (notebook 06 draws the
#   reliability diagram);
# - the **shapes side does not**: on the 63 real meshes of the development set (`../shared/realdata`), the
#   multi-view shape networks, shown shaded views of the meshes as the files come, put only **0.41-0.52** of them
#   in their class (depending on the method; docs/results.md), and a larger real set measured as low as 0.24.
#   The table at the end measures it again on your data.
#
# Part of that gap is the look of a real mesh (thousands of triangles, details SynthShapes never built),
# and part is simpler: **real meshes come in any orientation**. A file may be Z-up, lie on its side or stand on
# its head, while every camera rig of the course circles world +Y.
#
# **What you will learn**
# - how to stand a mesh up: a few candidate up axes, the rotation that turns each one to +Y (you write it,
#   with Rodrigues' formula), and the model's own confidence as the judge;
# - why *drawing* the views of a real mesh and embedding them with the **sketch** network meets real meshes in
#   the domain the model generalises in, where shaded views of primitives do not;
# - how to index your own folder of meshes (`sbsr-lab index`), query it with a drawing, and measure the gap in
#   one table: drawings → class, drawings → real meshes, real-mesh classification.

# %%
# %load_ext autoreload
# %autoreload 2
import hashlib
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
from IPython.display import display

import sbsr_lab
from sbsr_lab import checks
from sbsr_lab.data.meshes import load_mesh
from sbsr_lab.notebook import realdata_folder, setup, show_source
from sbsr_lab.plots import show_images, show_mesh
from sbsr_lab.render import normalize_mesh, render_views, ring_rig
from sbsr_lab.serve.engine import load_engine

P, DATA, DEVICE = setup()
RUNS = DATA.parent / "runs" / f"nb-{P.name}"
QUICK = P.name == "ci"   # the tests' profile: a few meshes per class and one method, so the notebook runs in minutes
ENGINE = load_engine("bundle:uactn")   # the course's bundled UACTN (trained on SynthShapes)
CLASSES = list(ENGINE.class_names)
print(f"the model knows {len(CLASSES)} classes: {', '.join(CLASSES)}")

# %% [markdown]
# ## The data: real meshes and drawings made by people
# Next to the course there may be a small development set, `../shared/realdata` (its README says where each
# file comes from, under which licence): Quick, Draw! drawings in `sketches/<class>/*.ndjson` and real
# triangle meshes in `shapes/<class>/*.obj`, in their original orientation, with a class the model does not
# know (`sofa`), as a real collection would have. The notebook reads these files where they are, at run time:
# nothing of them is copied into the course.
#
# **Your own data**: set `MY_SHAPES` to a folder of meshes (`.obj`, `.off`, `.ply`, `.stl`..., in one
# sub-folder per class, or loose) and `MY_SKETCHES` to a folder of drawings (`.ndjson`, `.png`, `.svg`, one
# sub-folder per class). Without either, and without `../shared`, the notebook makes stand-ins: SynthShapes
# shapes no model was trained on, each turned by a random quarter-turn rotation, and the course's own
# people-style test drawings.

# %%
MY_SHAPES = None     # e.g. "~/my_meshes"
MY_SKETCHES = None   # e.g. "~/my_drawings"

REPO = Path(sbsr_lab.__file__).resolve().parents[1]   # the course's folder (a clone of the repository)
REAL = realdata_folder()   # ../shared/realdata, the development set, when it is next to the course (else None)


def quiet_mesh(path):
    """load_mesh without its warnings about repaired files (index_meshes collects them in its report)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_mesh(path)

# %% [markdown]
# The stand-ins, used only when there is nothing better. The rotations are the 24 of a cube
# (`Rotation.create_group("O")`): +Y may end up along any of the six axes, which is how real files are
# (Z-up from CAD tools, Y-up from game engines, lying on their side from scanners).

# %%
from scipy.spatial.transform import Rotation

from sbsr_lab.data.synthshapes import make_shape


def synth_collection(folder: Path, classes, per_class: int = 2, seed: int = 0) -> Path:
    """SynthShapes meshes no model saw (index 900 and up), turned at random, as .obj in class sub-folders."""
    if (folder / ".complete").is_file():
        return folder
    turns = Rotation.create_group("O").as_matrix()       # (24, 3, 3)
    rng = np.random.default_rng(seed)
    for cls in classes:
        (folder / cls).mkdir(parents=True, exist_ok=True)
        for i in range(900, 900 + per_class):
            mesh, _ = make_shape(cls, i, seed)
            mesh.vertices = mesh.vertices @ turns[rng.integers(len(turns))].T
            mesh.export(folder / cls / f"{cls}_{i}.obj")
    (folder / ".complete").write_text("")
    return folder


def drawing_collection(folder: Path) -> Path:
    """The course's people-style drawings (tests/data/people_sketches, strokes only), else the test sketches
    of the ci dataset, copied into class sub-folders (both are the course's own data)."""
    if (folder / ".complete").is_file():
        return folder
    people = REPO / "tests" / "data" / "people_sketches"
    if people.is_dir():
        files = [(f, f.parent.name) for f in sorted(people.glob("*/*.ndjson"))]
    else:
        from sbsr_lab.data.build import default_root, ensure_dataset

        manifest = ensure_dataset(P, default_root(P), progress=False)
        files = [(manifest.path(s.strokes), s.cls) for s in manifest.sketches_of("test") if s.strokes]
    for f, cls in files:
        (folder / cls).mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, folder / cls / f.name)
    (folder / ".complete").write_text("")
    return folder


if MY_SHAPES:
    SHAPES = Path(MY_SHAPES).expanduser()
elif REAL is not None and (REAL / "shapes").is_dir():
    SHAPES = REAL / "shapes"
else:
    SHAPES = synth_collection(RUNS / "synth-collection", CLASSES)
if MY_SKETCHES:
    SKETCHES = Path(MY_SKETCHES).expanduser()
elif REAL is not None and (REAL / "sketches").is_dir():
    SKETCHES = REAL / "sketches"
else:
    SKETCHES = drawing_collection(RUNS / "people-drawings")
print(f"meshes:   {SHAPES}\ndrawings: {SKETCHES}")

# %% [markdown]
# On the `ci` profile (the tests) the notebook keeps two meshes per class, linked (not copied) into a
# folder of their own; on the others it takes them all. What there is, per class:

# %%
from sbsr_lab.serve.gallery import find_meshes
from sbsr_lab.serve.sketch_files import SKETCH_SUFFIXES


def mesh_subset(folder: Path, per_class: int, out: Path) -> Path:
    """The first ``per_class`` meshes of each class of ``folder``, linked into ``out`` (made afresh)."""
    if out.exists():
        shutil.rmtree(out)
    kept: dict = {}
    for path, label in find_meshes(folder):
        kept[label] = kept.get(label, 0) + 1
        if kept[label] <= per_class:
            link = out / path.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            try:
                link.symlink_to(path.resolve())
            except OSError:                               # no symbolic links here (Windows without rights)
                shutil.copy2(path, link)
    return out


SHAPES_USED = mesh_subset(SHAPES, 2, RUNS / f"subset-{SHAPES.name}") if QUICK else SHAPES
MESHES = find_meshes(SHAPES_USED)                         # [(path, class or None)]
DRAWINGS = sorted(f for f in SKETCHES.glob("*/*") if f.suffix.lower() in SKETCH_SUFFIXES)
counts = pd.DataFrame([{"class": label or "(unlabelled)", "what": "meshes"} for _, label in MESHES] +
                      [{"class": f.parent.name, "what": "drawings"} for f in DRAWINGS])
unknown = sorted(set(counts["class"]) - set(CLASSES))
print(f"{len(MESHES)} meshes, {len(DRAWINGS)} drawings; classes the model does not know: {', '.join(unknown) or 'none'}")
px.histogram(counts, x="class", color="what", barmode="group", title="What the collection holds, per class")

# %% [markdown]
# ## Which way is up?
# The shaded views the course renders come from a ring of cameras around world +Y. Below, four meshes (the
# first of four classes) seen from four cameras of that ring: first **as the file comes** (normalised, not
# turned), then **stood up** by the method of this notebook. A mesh lying on its side shows its underside or
# its top to cameras that expect a front.
#
# The method (`sbsr_lab.render.orient` and `sbsr_lab.serve.shape_encoder`, `orient="auto"`):
# 1. propose **candidate up axes**: the six world axes, and the principal axes of the surface when they are
#    tilted more than 15° from those (a mesh modelled at an angle): `up_candidates(mesh)`;
# 2. for each candidate, **turn** the mesh so that it points along +Y (`stand_up`), draw it from 4 cameras and
#    ask the model how sure it is of *some* class (its mean top class probability);
# 3. keep the surest candidate, the file's own +Y getting a small bonus (`FILE_UP_PRIOR`): most files are
#    Y-up, and a model must be clearly surer of another axis before the mesh is turned.

# %%
from sbsr_lab.render.orient import stand_up, up_candidates
from sbsr_lab.serve.shape_encoder import FILE_UP_PRIOR, DrawnViewEncoder

DRAWN = DrawnViewEncoder(ENGINE, views=8, elevation=20, orient="auto")
firsts: dict = {}
for path, label in MESHES:
    if label in CLASSES and label not in firsts:
        firsts[label] = path
EXAMPLES = ([(label, path, quiet_mesh(path)) for label, path in list(firsts.items())[:4]]
            or [(label or "?", path, quiet_mesh(path)) for path, label in MESHES[:4]])   # unlabelled meshes
encoded = {path: DRAWN.encode(mesh, name=path.stem) for _, path, mesh in EXAMPLES}


def up_direction(mesh, name: str) -> np.ndarray:
    """The unit vector of a candidate's name (``"+Z"``, ``"pca1-"``...) for this mesh."""
    return dict(up_candidates(mesh))[name]


RING4 = ring_rig(4, elevation_deg=20)
images, titles = [], []
for label, path, mesh in EXAMPLES:
    up = encoded[path].up
    as_is = render_views(normalize_mesh(mesh), RING4, size=64)["shaded"]
    stood = render_views(normalize_mesh(stand_up(mesh, up_direction(mesh, up))), RING4, size=64)["shaded"]
    images += list(as_is) + list(stood)
    titles += [f"{label}: as it comes"] + [""] * 3 + [f"stood up ({up} was up)"] + [""] * 3
show_images(images, titles, cols=8, size=1.2)

# %% [markdown]
# The candidates of the first mesh, and how sure the model was of a class when each one pointed up (4 drawn
# views each). The file's +Y gets its bonus on top; the tallest bar wins.

# %%
first_label, first_path, first_mesh = EXAMPLES[0]
first = encoded[first_path]
for name, u in up_candidates(first_mesh):
    print(f"{name:6s} {np.round(u, 3)}")
bars = pd.DataFrame([{"candidate": c, "part": "model's confidence", "value": s} for c, s in first.up_scores.items()]
                    + [{"candidate": "+Y", "part": f"prior for the file's +Y (+{FILE_UP_PRIOR})", "value": FILE_UP_PRIOR}])
px.bar(bars, x="candidate", y="value", color="part", range_y=[0, 1.15],
       title=f"{first_label} ({first_path.name}): candidate up axes; chosen {first.up}")

# %% [markdown]
# ## Exercise 1 — the rotation that stands a mesh up
# Write `rotation_to_up(u)`: for a unit vector `u` (3,), the **smallest** rotation `R` (3×3, orthonormal,
# det +1) with `R @ u = (0, 1, 0)`. Turning the vertices by it (`v @ R.T`) makes the direction `u` of the
# mesh point up.
#
# The smallest rotation turns about the axis perpendicular to both, `k = (u × y) / |u × y|`, by the angle `a`
# between them: `sin a = |u × y|`, `cos a = u · y`. **Rodrigues' formula** builds it from the cross-product
# matrix `K` of `k` (`K @ v = k × v`):
#
# `R = I + sin(a) K + (1 − cos(a)) K²`,  with  `K = [[0, −k_z, k_y], [k_z, 0, −k_x], [−k_y, k_x, 0]]`.
#
# Two directions need care: `u = +Y` (nothing to do: the identity) and `u = −Y`, where `u × y = 0` and no
# axis is the smallest; turn half a turn about X, `diag(1, −1, −1)` (flipping a single axis would be a
# mirror, det −1: a left hand turned into a right one).

# %%
def rotation_to_up(u: np.ndarray) -> np.ndarray:
    ### BEGIN SOLUTION
    u = np.asarray(u, dtype=np.float64) / np.linalg.norm(u)
    y = np.array([0.0, 1.0, 0.0])
    axis = np.cross(u, y)
    s, c = float(np.linalg.norm(axis)), float(u @ y)
    if s < 1e-9:                                   # u = +Y or -Y: the cross product vanishes
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + s * K + (1.0 - c) * (K @ K)
    ### END SOLUTION


# %%
checks.render.check_rotation_to_up(rotation_to_up);

# %% [markdown]
# Your rotation on the first mesh, with the up axis the model chose (the library's `rotation_to_up` stands in
# until the exercise is done). Turn it around: it stands on the ground, +Y up, as a SynthShapes shape does.

# %%
from sbsr_lab.render import orient

u = up_direction(first_mesh, first.up)
try:
    R = rotation_to_up(u)
except NotImplementedError:
    R = orient.rotation_to_up(u)
turned = first_mesh.copy()
turned.vertices = np.asarray(first_mesh.vertices) @ np.asarray(R).T
show_mesh(normalize_mesh(turned), title=f"{first_path.name}, turned so that its {first.up} points up")

# %% [markdown]
# ## Exercise 2 — choosing among the candidates
# Write `choose_up(scores, prior)`: `scores` maps each candidate's name (`"+Y"`, `"-Z"`, `"pca1+"`...) to the
# model's confidence when it pointed up; return the name with the highest score, where `"+Y"` counts `prior`
# more. Do not change the dictionary you are given.

# %%
def choose_up(scores: dict, prior: float) -> str:
    ### BEGIN SOLUTION
    return max(scores, key=lambda name: scores[name] + (prior if name == "+Y" else 0.0))
    ### END SOLUTION


# %%
checks.render.check_choose_up(choose_up);

# %% [markdown]
# How much does the prior matter? The choice for each example mesh as the prior grows (your `choose_up`, or
# the library's until it is done): at 0 the model alone decides, at a large prior nothing is ever turned.

# %%
from sbsr_lab.serve import shape_encoder

try:
    choose_up({"+Y": 1.0}, 0.1)
    chooser = choose_up
except NotImplementedError:
    chooser = shape_encoder.choose_up
priors = [0.0, 0.05, 0.1, 0.2, 0.4, 1.0]
pd.DataFrame({f"prior {p}": [chooser(encoded[path].up_scores, p) for _, path, _ in EXAMPLES] for p in priors},
             index=[f"{label} ({path.name})" for label, path, _ in EXAMPLES])

# %% [markdown]
# ## Shaded or drawn? Meeting real meshes where the model generalises
# Standing a mesh up fixes where the cameras are. What they *see* is the other half of the gap. The shape
# networks of notebooks 02-04 learnt from shaded renders of SynthShapes primitives: smooth boxes and
# cylinders, one grey level per face. A real mesh in the same renderer has other surfaces, other details,
# other proportions, and the shape network was never taught to ignore what does not matter.
#
# The sketch network, on the other hand, was trained on drawings made in many styles, with wobble, missing
# strokes and noise, and it holds up on people's drawings. So the `drawn` encoder **draws** each view: the
# visible outlines and creases of the mesh, traced into strokes and framed exactly as a query drawing is, and
# embeds the drawings with the **sketch network**. A shape's embedding is the mean of its view embeddings:
# shapes then live where drawings live.
#
# The first mesh three ways: shaded views as the file comes (the shape network, `shaded/file`: what a real
# mesh got before this notebook), shaded views stood up (`shaded/auto`), and the drawn views the sketch
# network saw (`drawn/auto`), each row with the class the network said, and how sure it was.

# %%
from sbsr_lab.serve.engine import load_shape_net
from sbsr_lab.serve.shape_encoder import make_encoder

shape_net, bundle_profile = load_shape_net("bundle:uactn")
ENCODERS = {"shaded/file": make_encoder("shaded", ENGINE, shape_net, bundle_profile, orient="file"),
            "shaded/auto": make_encoder("shaded", ENGINE, shape_net, bundle_profile, orient="auto"),
            "drawn/auto": DRAWN}


def encode_all(label, path, mesh):
    """{setting: EncodedShape} of one mesh (the drawn/auto one is already made above)."""
    return {s: encoded[path] if s == "drawn/auto" else enc.encode(mesh, name=path.stem) for s, enc in ENCODERS.items()}


def said(shape) -> str:
    p = shape.probabilities
    return f"{CLASSES[int(np.argmax(p))]} {float(np.max(p)):.2f}"


three = encode_all(*EXAMPLES[0])
images, titles = [], []
for setting, shape in three.items():
    views = shape.views_seen[:6].astype(np.float32) / 255
    images += list(1 - views) if setting.startswith("drawn") else list(views)   # drawings: black ink on white
    titles += [f"{setting}: {said(shape)}"] + [""] * (len(views) - 1)
show_images(images, titles, cols=6, size=1.3, suptitle=f"{first_label} ({first_path.name})")

# %% [markdown]
# The same question for all example meshes: which class does each setting give, and how sure is it?

# %%
rows = []
for label, path, mesh in EXAMPLES:
    for setting, shape in encode_all(label, path, mesh).items():
        rows.append({"mesh": f"{label} ({path.name})", "setting": setting, "said": said(shape),
                     "right": CLASSES[int(np.argmax(shape.probabilities))] == label, "up": shape.up})
table = pd.DataFrame(rows)
display(table.pivot(index="mesh", columns="setting", values="said"))
print("right:", {s: f"{int(g['right'].sum())}/{len(g)}" for s, g in table.groupby("setting")})

# %% [markdown]
# A handful of meshes proves nothing; the table at the end of the notebook measures it on the whole collection.
#
# ## Your collection as a gallery: `sbsr-lab index`
# `index_meshes` (the command `sbsr-lab index FOLDER --out DIR`) stands up, draws and embeds every mesh of a
# folder with one model and writes a **gallery folder**: the embeddings, one embedding per view (which view
# a drawing matches best), a thumbnail per shape, and `gallery.json` (the model's fingerprint, the settings,
# each shape's source file, chosen up axis and predicted class, and the meshes that could not be read).
# It works in chunks and **resumes** when interrupted; a finished gallery is reused (here: a second run of the
# cell returns at once). On a bigger collection, `workers=N` (`--workers N`) encodes N meshes at a time.
#
# ```
# sbsr-lab index my_meshes/ --out galleries/mine            # --encoder drawn|shaded --orient auto|file|pca
# sbsr-lab query my_chair.png --gallery galleries/mine       # answers from your meshes
# sbsr-lab score-sketches my_drawings/ --gallery galleries/mine
# ```

# %%
from sbsr_lab.serve.gallery import index_meshes, network_fingerprint, read_gallery
from sbsr_lab.serve.real_world import mesh_classification

# one work folder per collection and model: its name follows the meshes' paths and sizes and the model's weights,
# so a changed folder or a new model is indexed again
digest = hashlib.sha1("\n".join(f"{p.relative_to(SHAPES_USED).as_posix()} {p.stat().st_size}"
                                for p, _ in MESHES).encode()).hexdigest()[:8]
WORK = RUNS / f"real-world-{SHAPES.name}-{digest}-{network_fingerprint(ENGINE.sketch_net)[:8]}"
GALLERY = WORK / "uactn-drawn-auto"                     # the name the comparison table below reuses
if (GALLERY / "gallery.json").is_file():
    desc = read_gallery(GALLERY)
    print(f"{GALLERY} is already made ({desc['count']} shapes): reused")
else:
    desc = index_meshes(SHAPES_USED, GALLERY, ENGINE, encoder="drawn", orient="auto", progress=not QUICK)
shapes = pd.DataFrame.from_dict(desc["shapes"], orient="index")[["class", "up", "predicted", "confidence"]]
shapes.head(12)

# %% [markdown]
# Real-mesh classification from the gallery's own report (`mesh_classification`): the share of the meshes of
# each known class that the drawn views put in their class, and which axis was chosen as up.

# %%
mc = mesh_classification(desc)
print(f"{mc['n']} meshes of known classes, {mc['accuracy']:.2f} put in their class; up axes chosen: {mc['ups']}")
px.bar(x=list(mc["per_class"]), y=list(mc["per_class"].values()), range_y=[0, 1],
       labels={"x": "class", "y": "share in their class"}, title="Real meshes, drawn/auto: classified right, per class")

# %% [markdown]
# ## Query your meshes with a drawing
# `load_engine(..., gallery=GALLERY)` answers from the gallery instead of SynthShapes (the same model only:
# a gallery made by another model is refused with the fix). One drawing by a person, its five nearest meshes
# (the gallery's thumbnails), and below each the view of that mesh the drawing matches best.

# %%
import io

from PIL import Image

from sbsr_lab.serve.sketch_files import read_sketch_file
from sbsr_lab.widgets.results import thumbnail_png, view_png

engine = load_engine("bundle:uactn", gallery=GALLERY)
have = set(engine.index.labels or [])
preferred = [f for cls in ("chair", "table", "airplane") for f in DRAWINGS if f.parent.name == cls and cls in have]
pick = (preferred or [f for f in DRAWINGS if f.parent.name in have] or DRAWINGS)[0]
drawing = read_sketch_file(pick)
answer = engine.query(drawing, k=5)
print(f"{pick.parent.name}/{pick.name}: the model says {answer.predicted_class!r} "
      f"({answer.probabilities[answer.predicted_class]:.2f}){' (not a shape?)' if answer.is_ood else ''}")


def png_image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float32) / 255


rows_of = {sid: i for i, sid in enumerate(engine.index.ids)}
shown = [1 - engine.prepare(drawing)] + [png_image(thumbnail_png(engine.index.thumbnails[rows_of[r["id"]]]))
                                         for r in answer.results]
titles = [f"drawing ({pick.parent.name})"] + [f"#{r['rank']} {r['class']} {r['score']:.2f}" for r in answer.results]
if engine.views is not None and engine.views.strips:
    shown += [np.ones_like(shown[1])] + [png_image(view_png(engine.views.strips[rows_of[r["id"]]], r.get("view")) or
                                                   thumbnail_png(None)) for r in answer.results]
    titles += [""] + [f"best view {r.get('view', 0) + 1}" for r in answer.results]
show_images(shown, titles, cols=6, size=1.5)

# %% [markdown]
# ## The gap, measured
# `real_world_table` (`python benchmarks/real_world.py` on the command line) indexes the collection once per
# method and shape-side setting (`encoder/orient`; galleries kept in `WORK` and reused) and reports:
# - **drawing → class**: the share of the drawings whose predicted class is their folder's (the sketch side
#   alone: the same in every setting of a method);
# - **top-1, P@10, mAP**: drawings against the real meshes, over the drawings whose class has meshes;
# - **mesh class**: the share of the meshes of known classes that the shape side puts in their class.
#
# On the `ci` profile: UACTN, drawn/auto against shaded/file, on the two meshes per class. On the others:
# every method of the bundle, and the two middle settings (drawn/file, shaded/auto) that tell the drawing's
# share of the gain from the orientation's: on the whole development set about ten minutes on one CPU thread
# the first time (a drawn/auto gallery takes about a second per mesh), seconds afterwards (galleries are reused).

# %%
from sbsr_lab.serve.real_world import format_real_world, real_world_table

if QUICK:
    methods, settings = ["uactn"], ("drawn/auto", "shaded/file")
else:
    methods, settings = None, ("drawn/auto", "drawn/file", "shaded/auto", "shaded/file")   # None: all the bundle's
gap = real_world_table(SKETCHES, SHAPES_USED, WORK, methods=methods, settings=settings, progress=not QUICK)
print(format_real_world(gap))
if QUICK:
    print("(ci: 2 meshes per class, so P@10 is at most 0.2 here)")

# %%
long = pd.DataFrame([{"method": r["method"], "setting": r["setting"], "measure": m, "value": v}
                     for r in gap["rows"]
                     for m, v in (("drawing → class", r["drawings_to_class"]),
                                  ("drawing → mesh top-1", r["drawings_to_meshes"]["top1"]),
                                  ("drawing → mesh mAP", r["drawings_to_meshes"]["map"]),
                                  ("mesh class", r["mesh_classification"]["accuracy"]))
                     if v is not None])
px.bar(long, x="measure", y="value", color="setting", barmode="group", facet_col="method", range_y=[0, 1],
       title=f"From SynthShapes to the real world: {len(DRAWINGS)} drawings, {len(MESHES)} meshes")

# %% [markdown]
# Reading it: the drawing → class bars show what the sketch side already does on people's drawings; the
# mesh-class bars show what each shape side does on real meshes. Where drawn views beat shaded ones, the
# drawings to meshes bars follow: a drawing can only find a mesh that landed near its class.
#
# ## The live demo, on your meshes
# The demo of notebook 06, answering from the gallery: draw, and the real meshes come back (**3D** turns the
# mesh around, stood up as it was indexed).

# %%
from sbsr_lab.widgets.demo import sketch_demo

demo_widget = sketch_demo("bundle:uactn", gallery=GALLERY, k=8)
demo_widget

# %% [markdown]
# ## What to try
# - ⭐ Your own meshes: set `MY_SHAPES` (and `MY_SKETCHES`) at the top and run the notebook again. Which of your
#   files were turned, and were they turned the right way? (`shapes["up"]`, and the thumbnails.)
# - ⭐ Upside down: the model sometimes prefers a mesh on its head (`-Y`); find one in `shapes`, look at its
#   `up_scores` (`DRAWN.encode(quiet_mesh(path)).up_scores`) and at its views both ways up. What in a drawing
#   could tell a table from a table upside down?
# - ⭐⭐ The prior: encode every mesh with `DrawnViewEncoder(ENGINE, prior=0.0)`, with the default prior and with
#   `orient="file"`, and count the meshes put in their class (`encode(mesh).probabilities`). How many files did
#   the prior keep from being turned the wrong way, and how many did it keep lying on their side?
# - ⭐⭐ More views or a higher ring: `DrawnViewEncoder(ENGINE, views=12, elevation=30)` on the example meshes.
#   Does the class get surer, or do views from above look less like what people draw?
# - ⭐⭐⭐ Unknown classes: the `sofa` meshes are not a class of the model. Where do they land (`shapes`), and do
#   they come back for drawings of beds or benches? What would keep them out of the answers?
