"""sbsr_lab.render: normalise meshes, place cameras, ray-cast views (depth, normals, shaded, silhouette, lines).

    >>> import trimesh
    >>> from sbsr_lab.render import get_rig, normalize_mesh, render_views
    >>> views = render_views(normalize_mesh(trimesh.creation.box()), get_rig("ring12"), size=32)
    >>> views["shaded"].shape
    (12, 32, 32)
"""

from sbsr_lab.render.cameras import RIGS, Camera, dodecahedron_rig, get_rig, look_at, ring_rig
from sbsr_lab.render.normalize import normalize_mesh, pca_rotation
from sbsr_lab.render.raycast import STYLES, render_view, render_views

__all__ = [
    "RIGS", "STYLES", "Camera", "dodecahedron_rig", "get_rig", "look_at", "normalize_mesh",
    "pca_rotation", "render_view", "render_views", "ring_rig",
]
