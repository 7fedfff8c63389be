# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 01 · Data and rendering: from parametric shapes to views and human-like sketches
#
# Sketch-based retrieval needs two kinds of data: **3D shapes**, which networks see as rendered views,
# and **sketches**, which people draw. This course ships its own data, *SynthShapes*: parametric 3D
# shapes with wide variation inside each class, and sketches synthesised from them with the
# imperfections of real drawings. Everything is generated on first use and is deterministic by seed.
#
# **What you will learn**
# - how parametric generators give classes with real intra-class variation (and confusable neighbours);
# - how a camera rig and CPU ray casting turn a mesh into depth, normal, shaded and line-drawing views;
# - how a clean line drawing becomes strokes, and strokes become a sketch that looks drawn by a person.

# %%
# %load_ext autoreload
# %autoreload 2
import numpy as np

from sbsr_lab import checks
from sbsr_lab.data.synthshapes import available_classes, make_shape
from sbsr_lab.notebook import setup
from sbsr_lab.plots import show_images, show_mesh, show_rig, show_strokes, show_views
from sbsr_lab.render import STYLES, get_rig, normalize_mesh, render_view, render_views

P, DATA, DEVICE = setup()

# %% [markdown]
# ## A shape class is a program with parameters
# `make_shape(class, index, seed)` builds one mesh from primitives and returns the parameters it drew.
# The same arguments always give the same mesh. Rotate the chair below with the mouse.

# %%
mesh, params = make_shape("chair", 3, seed=P.seed)
print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in params.items()})
show_mesh(mesh, title=f"chair #3: {len(mesh.faces)} faces")

# %% [markdown]
# ## Shapes of one class differ, and neighbouring classes look alike
# Four chairs, four stools and four airplanes, each from its own index: legs, arms, backs and proportions
# all change. This variation is what makes retrieval a real problem (and why some classes, like chair
# and stool, are easy to confuse).

# %%
ring = get_rig("ring12")
thumbs, titles = [], []
for cls in ("chair", "stool", "airplane"):
    for i in range(4):
        m = normalize_mesh(make_shape(cls, i, P.seed)[0])
        thumbs.append(render_view(m, ring[1], size=96, styles=("shaded",))["shaded"])
        titles.append(f"{cls} {i}")
show_images(thumbs, titles=titles, cols=4)

# %% [markdown]
# ## The camera rig: 12 cameras around the unit sphere
# Before rendering, each mesh is **normalised**: centred and scaled into the unit sphere, keeping +Y up.
# The default rig has 12 cameras on a ring at 30° elevation, all looking at the centre (a 20-camera
# dodecahedron rig is the other choice).

# %%
unit = normalize_mesh(mesh)
print("max |v| after normalisation:", round(float(np.linalg.norm(unit.vertices, axis=1).max()), 4))
show_rig(ring, unit, title="ring12: 12 cameras at 30° elevation")

# %% [markdown]
# ## Exercise 1 — a look-at camera
# A camera at `eye` looking at `target` is described by a camera-to-world matrix whose columns are the
# camera's right, up and *backward* axes (OpenGL convention: the camera looks down its −Z) and its
# position. Build it: `back = normalise(eye − target)`, `right = normalise(up × back)`,
# `up' = back × right`.

# %%
def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    ### BEGIN SOLUTION
    back = (eye - target) / np.linalg.norm(eye - target)
    right = np.cross(up, back)
    right = right / np.linalg.norm(right)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = right, np.cross(back, right), back, eye
    return matrix
    ### END SOLUTION


# %%
checks.render.check_look_at(look_at);

# %% [markdown]
# ## Ray casting gives five styles from one hit buffer
# For every pixel a ray is cast (Embree, through trimesh); the first hit gives the depth, the face and
# its normal. From that single buffer come depth, normals, a shaded image, the silhouette and a **line
# drawing** (silhouette, depth discontinuities and creases) — the closest thing to what people draw.

# %%
views = render_views(unit, ring, size=P.view_size, styles=STYLES)
show_views(views, max_views=6)

# %% [markdown]
# ## A line drawing is traced into strokes
# A careful drawer picks the view that shows most of an object: a three-quarter view from slightly above.
# The sketch generator does the same for clean sketches (noise up to 0.25); above that, the higher a
# sketch's noise level, the more likely an unusual viewpoint instead (side, front, behind, below; always
# from noise 0.75 on), so the noise level measures how atypical the whole drawing is. It then renders the line drawing and traces it into **strokes**:
# polylines in [0, 1]² (colours below show drawing order, long outline strokes first).

# %%
from sbsr_lab.data.sketchgen import drawing_viewpoint, humanize, line_drawing, synthesize_sketch, trace_strokes
from sbsr_lab.data.strokes import strokes_to_image

rng = np.random.default_rng(P.seed)
camera = drawing_viewpoint(rng)
lines = line_drawing(unit, camera, size=256)
strokes = trace_strokes(lines)
print(f"{len(strokes)} strokes, {sum(len(s) for s in strokes)} points")
show_images([lines, strokes_to_image(strokes, size=256)], titles=["line drawing", "traced strokes"], invert=True, cols=2)

# %%
show_strokes([strokes], titles=["stroke order"])

# %% [markdown]
# ## Exercise 2 — stroke wobble
# A hand never draws a perfectly straight line. Write `wobble(stroke, rng, amount)` that moves each point
# of a stroke `(N, 2)` sideways by a **smooth** random offset whose size is proportional to `amount`
# (e.g. a sum of a few random sine waves along the stroke, applied along the stroke's normal).
# `amount = 0` must return the stroke unchanged.

# %%
def wobble(stroke: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    ### BEGIN SOLUTION
    t = np.linspace(0.0, 1.0, len(stroke))[:, None]
    waves = sum(rng.normal() * np.sin(2 * np.pi * (k + 1) * t + rng.uniform(0, 2 * np.pi)) for k in range(3))
    tangent = np.gradient(stroke, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal = normal / (np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12)
    return stroke + amount * waves * normal
    ### END SOLUTION


# %%
checks.render.check_wobble(wobble);

# %% [markdown]
# ## One noise level sets how human a sketch looks
# `humanize` applies pose and proportion jitter, wobble, over-tracing, gaps, dropped and extra strokes and
# varying line width — *how much* is set by a noise level in [0, 1] that is stored with every sketch.
# The same chair at five noise levels:

# %%
levels = [0.0, 0.25, 0.5, 0.75, 1.0]
images = []
for level in levels:
    human, widths = humanize(strokes, np.random.default_rng(1), level)
    images.append(strokes_to_image(human, size=P.sketch_size, widths=widths))
show_images(images, titles=[f"noise {v}" for v in levels], invert=True, cols=5)

# %% [markdown]
# ## The built dataset: one class's test sketches, cleanest first
# `ensure_dataset` builds the profile's dataset once (meshes, view strips, sketches, `manifest.json`) with
# worker processes, resuming if interrupted; `sbsr-lab data build` does the same from a terminal. Below, one
# class's test sketches ordered by their noise level.

# %%
from sbsr_lab.data.build import default_root, ensure_dataset
from sbsr_lab.data.datasets import load_sketch_array

manifest = ensure_dataset(P, default_root(P), progress=False)
print(f"{len(manifest.classes)} classes, {len(manifest.shapes)} shapes, {len(manifest.sketches)} sketches")
chairs = sorted((s for s in manifest.sketches if s.cls == "chair"), key=lambda s: s.noise)
show_images([load_sketch_array(manifest.path(s.png), 96) / 255 for s in chairs[:10]],
            titles=[f"noise {s.noise:.2f}" for s in chairs[:10]], invert=True, cols=5)

# %% [markdown]
# ## Exercises to go further
# - ⭐ Render the dodecahedron rig (`get_rig("dodeca20")`) and compare its views with the ring's.
# - ⭐⭐ Write a generator for a new class (e.g. a wine glass) with `trimesh.creation.revolve`.
# - ⭐⭐⭐ Make the wobble depend on the stroke's length, as it does for real hands.
