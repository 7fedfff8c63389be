"""``MeshView``: a small 3D view of a triangle mesh in a notebook (anywidget, a canvas, drag to turn).

    view = MeshView()
    view.show(vertices, faces, title="chair_012")     # (V, 3) Y-up, (F, 3)
    view.vertices, view.faces, view.title             # the synced traits

The mesh is kept in synced traits (``vertices`` flat float list, ``faces`` flat int list, ``title``,
``note``), and the front-end draws whatever they hold when it starts and each time they change, so a
view that initialises after the first query (a slow page) still shows the current shape. The drawing
is flat-shaded triangles in painter's order on a 2D canvas: no library and nothing from the internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from sbsr_lab.serve.meshes import flat_mesh

__all__ = ["MeshView"]

#: the painter shared with the app (widgets/web/mesh_paint.js), then this view's own code
_ESM = (Path(__file__).resolve().parent / "web" / "mesh_paint.js").read_text(encoding="utf-8") + r"""
function render({ model, el }) {
  const title = document.createElement("div");
  title.style.cssText = "font:13px sans-serif;margin:2px 0";
  const canvas = document.createElement("canvas");
  const size = model.get("size");
  canvas.style.cssText = `width:${size}px;height:${size}px;border:1px solid #ddd;touch-action:none;cursor:grab`;
  const note = document.createElement("div");
  note.style.cssText = "font:12px sans-serif;color:#5b6573";
  el.append(title, canvas, note);
  const ctx = canvas.getContext("2d");
  let yaw = 0.6, pitch = 0.35, drag = null;

  function draw() {
    title.textContent = model.get("title");
    note.textContent = model.get("note");
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(size * dpr); canvas.height = Math.round(size * dpr);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const v = model.get("vertices"), f = model.get("faces");
    if (!v.length || !f.length) return;
    paintMesh(ctx, v, f, yaw, pitch, 0.42 * canvas.width, canvas.width / 2, canvas.height / 2);
  }
  canvas.addEventListener("pointerdown", (ev) => {
    drag = [ev.clientX, ev.clientY];
    try { canvas.setPointerCapture(ev.pointerId); } catch (e) { /* a pointer already gone */ }
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    yaw += (ev.clientX - drag[0]) * 0.01;
    pitch = Math.max(-1.5, Math.min(1.5, pitch + (ev.clientY - drag[1]) * 0.01));
    drag = [ev.clientX, ev.clientY];
    draw();
  });
  const stop = () => { drag = null; };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  for (const name of ["vertices", "faces", "title", "note"]) model.on(`change:${name}`, draw);
  draw();                                    // the current state, however late this view starts
}
export default { render };
"""


class MeshView(anywidget.AnyWidget):
    """A 3D view of one mesh (module docstring); ``size`` is the canvas side in pixels."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    vertices = traitlets.List(traitlets.Float()).tag(sync=True)   # flat (V*3,), centred, unit scale, Y up
    faces = traitlets.List(traitlets.Int()).tag(sync=True)        # flat (F*3,)
    title = traitlets.Unicode("").tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    size = traitlets.Int(320).tag(sync=True)

    def show(self, vertices: Any, faces: Any, title: str = "", note: str = "drag to turn the shape") -> None:
        """Show a mesh: ``vertices (V, 3)`` (centred and scaled to fit here), ``faces (F, 3)``."""
        v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
        if len(v):
            v = v - (v.min(0) + v.max(0)) / 2
            v = v / max(float(np.abs(v).max()), 1e-9)
        with self.hold_sync():  # one message: the front-end never draws new faces over old vertices
            self.vertices, self.faces = flat_mesh(v, f)
            self.title, self.note = title, note

    def clear(self, note: str = "") -> None:
        """Nothing to show (with ``note`` saying why)."""
        with self.hold_sync():
            self.vertices, self.faces, self.title, self.note = [], [], "", note
