"""Checkers for notebook 01 (data and rendering): a look-at camera matrix and stroke wobble."""

from __future__ import annotations

from typing import Callable

import numpy as np

from sbsr_lab.checks import verdict

__all__ = ["check_look_at", "check_wobble"]


def check_look_at(fn: Callable[..., np.ndarray]) -> bool:
    """``fn(eye, target, up) -> (4, 4)`` camera-to-world matrix, OpenGL convention (camera looks down -Z)."""
    from sbsr_lab.render import look_at

    rng = np.random.default_rng(0)
    cases = [((0.0, 0.0, 3.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
             ((2.0, 1.5, -1.0), (0.1, 0.2, 0.0), (0.0, 1.0, 0.0))]
    cases += [(tuple(rng.normal(size=3) * 3), tuple(rng.normal(size=3) * 0.2), (0.0, 1.0, 0.0)) for _ in range(3)]
    for eye, target, up in cases:
        try:
            got = np.asarray(fn(np.array(eye), np.array(target), np.array(up)), dtype=float)
        except NotImplementedError:
            return verdict(False, "look_at", "not implemented yet: the function still raises NotImplementedError.",
                           "replace the `raise` line with your code.")
        want = look_at(eye, target, up)
        if got.shape != (4, 4):
            return verdict(False, "look_at", f"expected a (4, 4) matrix, got shape {got.shape}.",
                           "stack right, up, back and eye as the columns of a 4x4 identity.")
        r = got[:3, :3]
        if not np.allclose(got[:3, 3], eye, atol=1e-6):
            return verdict(False, "look_at", "the last column should be the camera position (eye).")
        if not np.allclose(r.T @ r, np.eye(3), atol=1e-5):
            return verdict(False, "look_at", "the rotation part is not orthonormal.",
                           "normalise each axis and build `up` again as cross(back, right).")
        forward = -r[:, 2]
        to_target = np.asarray(target) - np.asarray(eye)
        if forward @ to_target / np.linalg.norm(to_target) < 0.999:
            return verdict(False, "look_at", f"for eye={eye} the camera does not look at the target.",
                           "the third column (camera +Z) must point from the target to the eye: back = eye - target.")
        if not np.allclose(got, want, atol=1e-5):
            return verdict(False, "look_at", "the camera looks at the target but its right/up axes are off.",
                           "right = cross(up, back), then up' = cross(back, right); check the order of the cross products.")
    return verdict(True, "look_at", "your camera matrices match the renderer's on 5 cameras.")


def check_wobble(fn: Callable[..., np.ndarray]) -> bool:
    """``fn(stroke (N, 2), rng, amount) -> (N, 2)``: smooth random sideways displacement, growing with amount."""
    t = np.linspace(0, 1, 64)
    stroke = np.stack([0.1 + 0.8 * t, 0.5 + 0.1 * np.sin(3 * t)], axis=1).astype(np.float32)

    def run(amount: float, seed: int) -> np.ndarray | None:
        out = fn(stroke.copy(), np.random.default_rng(seed), amount)
        return np.asarray(out, dtype=np.float64)

    try:
        zero = run(0.0, 0)
        small = [run(0.005, s) for s in range(8)]
        large = [run(0.03, s) for s in range(8)]
    except NotImplementedError:
        return verdict(False, "wobble", "not implemented yet: the function still raises NotImplementedError.", "replace the `raise` line.")
    if zero.shape != stroke.shape:
        return verdict(False, "wobble", f"the output must keep the stroke's shape {stroke.shape}, got {zero.shape}.")
    if not np.allclose(zero, stroke, atol=1e-6):
        return verdict(False, "wobble", "amount=0 should return the stroke unchanged.")
    dev_small = np.mean([np.abs(s - stroke).mean() for s in small])
    dev_large = np.mean([np.abs(s - stroke).mean() for s in large])
    if dev_small < 1e-5:
        return verdict(False, "wobble", "the stroke does not move at all.", "add noise scaled by `amount`.")
    if not dev_large > 2.5 * dev_small:
        return verdict(False, "wobble", f"more amount should mean more wobble (mean offset {dev_small:.4f} at 0.005 "
                       f"vs {dev_large:.4f} at 0.03).", "scale the displacement linearly with `amount`.")
    if dev_large > 0.2:
        return verdict(False, "wobble", f"the offsets are far too large ({dev_large:.3f} of the canvas at amount 0.03).")
    if np.allclose(large[0], large[1]):
        return verdict(False, "wobble", "two different random generators give the same wobble.",
                       "draw the noise from the `rng` argument.")
    rough = np.mean([np.abs(np.diff(s - stroke, n=2, axis=0)).mean() / max(np.abs(s - stroke).mean(), 1e-9)
                     for s in large])
    if rough > 0.5:
        return verdict(False, "wobble", "the wobble is jagged, like independent noise on every point.",
                       "smooth the noise along the stroke (e.g. a few random sine waves, or a moving average).")
    return verdict(True, "wobble", f"smooth sideways noise that grows with amount (mean offset {dev_large:.3f} at 0.03).")
