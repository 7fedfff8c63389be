"""One-line notebook setup: profile, data folder, seeds and device, the same in every notebook.

    from sbsr_lab.notebook import setup
    P, DATA, DEVICE = setup()          # profile from $SBSR_PROFILE (default "default")

nbval runs the notebooks with ``SBSR_PROFILE=ci`` so that each finishes in seconds.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from sbsr_lab.config import Profile, default_data_root, get_profile
from sbsr_lab.train.fit import resolve_device

__all__ = ["setup"]


def setup(seed: int = 0, profile: str | None = None, **overrides) -> tuple[Profile, Path, torch.device]:
    """Seed everything and return ``(profile, data root, device)``; prints what was chosen."""
    name = profile or os.environ.get("SBSR_PROFILE", "default")
    p = get_profile(name, seed=seed, **overrides)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = resolve_device(p.device)
    data = Path(default_data_root())
    print(f"profile {p.name!r}: {len(p.classes)} classes, {p.shapes_per_class} shapes and "
          f"{p.sketches_per_class} sketches per class, {p.image_size} px, backbone {p.backbone}; "
          f"data in {data}; device {device}")
    return p, data, device
