"""Where a person stands to draw an object, and the lines they see from there.

:func:`drawing_viewpoint` picks the camera (a careful three-quarter view, or, the more often the
higher the noise level, an unusual one: :func:`unusual_view_probability`); :func:`line_drawing`
renders the visible lines from it with the renderer's ``"lines"`` style (this is where sketch
generation depends on :mod:`sbsr_lab.render`; the renderer never imports :mod:`sbsr_lab.data`).
"""

from __future__ import annotations

import math

import numpy as np
import trimesh

from sbsr_lab.render import Camera, render_view

__all__ = ["CAMERA_DISTANCE", "view_angles", "unusual_view_probability", "drawing_viewpoint", "line_drawing"]

CAMERA_DISTANCE = 2.8  # world units; with the 45 deg field of view the unit sphere fills the frame


def _camera_at(azimuth_deg: float, elevation_deg: float, distance: float = CAMERA_DISTANCE) -> Camera:
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    eye = distance * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    return Camera(eye=tuple(float(x) for x in eye))


def view_angles(camera: Camera) -> dict[str, float]:
    """``{"azimuth", "elevation"}`` in degrees of a camera looking at the origin (azimuth 0 = front, +Z)."""
    x, y, z = (float(v) for v in np.asarray(camera.eye) - np.asarray(camera.target))
    r = math.sqrt(x * x + y * y + z * z)
    return {"azimuth": round(math.degrees(math.atan2(x, z)), 2),
            "elevation": round(math.degrees(math.asin(max(-1.0, min(1.0, y / r)))), 2)}


def unusual_view_probability(noise: float, rule: str = "ramp") -> float:
    """Chance that a sketch of noise level ``noise`` is drawn from an unusual viewpoint (:func:`drawing_viewpoint`).

    0 for noise <= 0.25, 1 for noise >= 0.75, linear in between: on average half the sketches of a
    class spread evenly over [0, 1] are drawn from unusual views. A ramp rather than ``noise`` itself,
    because the viewpoint is a big, all-or-nothing effect: with ``noise`` as the chance, the noise
    level said little about how hard a sketch was (measurements: docs/experiments.md, "Sketch
    generator: the unusual-viewpoint ramp"). ``rule="noise"``: the noise level itself (generator 2, the
    profile's ``view_rule=noise``, an ablation).
    """
    if rule == "noise":
        return float(noise)
    if rule != "ramp":
        raise ValueError(f"unusual_view_probability: rule must be 'ramp' or 'noise', got {rule!r}")
    return float(np.clip((noise - 0.25) / 0.5, 0.0, 1.0))


def drawing_viewpoint(rng: np.random.Generator, noise: float = 0.0, rule: str = "ramp") -> Camera:
    """A camera where a person would stand to draw the object; careless drawers stray further.

    Either a careful drawer's view: a three-quarter view from the front (azimuth 30-60 deg to either
    side) from slightly above (elevation N(20, 5) deg, clipped to [5, 35]), the view that shows most
    of an object; or an unusual one: any azimuth (side, front, behind) and elevation N(18, 20)
    clipped to [-20, 70] (from below, from high up). The chance of an unusual view is
    :func:`unusual_view_probability` of the noise level: 0 up to noise 0.25, rising linearly to 1
    at noise 0.75. So the noise level also says how atypical the viewpoint is, as it does for the
    strokes. The camera looks at the origin from 2.8 units (45 deg field of view: the unit sphere
    fills the frame).
    """
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"drawing_viewpoint: noise must be in [0, 1], got {noise}")
    if rng.random() < unusual_view_probability(noise, rule):
        az = rng.uniform(-180.0, 180.0)
        el = float(np.clip(rng.normal(18.0, 20.0), -20.0, 70.0))
    else:
        az = rng.choice([-1.0, 1.0]) * rng.uniform(30.0, 60.0)
        el = float(np.clip(rng.normal(20.0, 5.0), 5.0, 35.0))
    return _camera_at(float(az), el)


def line_drawing(mesh: trimesh.Trimesh, camera: Camera, size: int = 256) -> np.ndarray:
    """Visible silhouette, depth-discontinuity and crease lines of a normalised mesh: ``(size, size)``, ink = 1.

    Uses :func:`sbsr_lab.render.render_view` with ``styles=("lines",)`` (no supersampling: the
    lines are traced, not shown).
    """
    return render_view(mesh, camera, size=size, styles=("lines",), supersample=1)["lines"]


# ---------------------------------------------------------------------------------------------
