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

from typing import Any

import anywidget
import numpy as np
import traitlets

from sbsr_lab.serve.meshes import flat_mesh

__all__ = ["MeshView"]

_ESM = r"""
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
    const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    const n = v.length / 3, P = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {            // Y up: turn about Y (yaw), then tilt about X (pitch)
      const x = v[3 * i], y = v[3 * i + 1], z = v[3 * i + 2];
      const x1 = cy * x + sy * z, z1 = -sy * x + cy * z;
      P[3 * i] = x1; P[3 * i + 1] = cp * y - sp * z1; P[3 * i + 2] = sp * y + cp * z1;
    }
    const scale = 0.42 * canvas.width, ox = canvas.width / 2, oy = canvas.height / 2;
    const tris = [];
    for (let t = 0; t < f.length; t += 3) {
      const a = 3 * f[t], b = 3 * f[t + 1], c = 3 * f[t + 2];
      const ux = P[b] - P[a], uy = P[b + 1] - P[a + 1], uz = P[b + 2] - P[a + 2];
      const wx = P[c] - P[a], wy = P[c + 1] - P[a + 1], wz = P[c + 2] - P[a + 2];
      let nx = uy * wz - uz * wy, ny = uz * wx - ux * wz, nz = ux * wy - uy * wx;
      const len = Math.hypot(nx, ny, nz) || 1;
      const light = Math.abs((0.35 * nx + 0.55 * ny + 0.76 * nz) / len);  // two-sided
      tris.push([(P[a + 2] + P[b + 2] + P[c + 2]) / 3, a, b, c, light]);
    }
    tris.sort((p, q) => p[0] - q[0]);
    for (const [, a, b, c, light] of tris) {
      const s = Math.round(70 + 150 * light);
      ctx.fillStyle = `rgb(${Math.round(s * 0.62)},${Math.round(s * 0.74)},${s})`;
      ctx.beginPath();
      ctx.moveTo(ox + scale * P[a], oy - scale * P[a + 1]);
      ctx.lineTo(ox + scale * P[b], oy - scale * P[b + 1]);
      ctx.lineTo(ox + scale * P[c], oy - scale * P[c + 1]);
      ctx.closePath(); ctx.fill();
      ctx.strokeStyle = ctx.fillStyle; ctx.lineWidth = 0.6; ctx.stroke();
    }
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
