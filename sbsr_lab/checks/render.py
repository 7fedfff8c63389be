"""Checkers for notebook 01 (data and rendering): a look-at camera matrix and stroke wobble; and for
notebook 08 (real meshes): the rotation that stands a mesh up, and the choice of its up axis."""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from sbsr_lab.checks import CheckStop, call_learner, verdict
from sbsr_lab.render import look_at
from sbsr_lab.render.orient import AXES, rotation_to_up

__all__ = ["check_look_at", "check_wobble", "check_rotation_to_up", "check_choose_up"]


def check_look_at(fn: Callable[..., np.ndarray]) -> bool:
    """``fn(eye, target, up) -> (4, 4)`` camera-to-world matrix, OpenGL convention (camera looks down -Z)."""
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


def _up_cases() -> list[tuple[str, np.ndarray]]:
    """Directions ``(name, unit (3,))`` for :func:`check_rotation_to_up`: random ones first (the general case
    gives the most telling message), then the four side axes, +Y, -Y and one just off -Y."""
    rng = np.random.default_rng(8)
    cases = []
    for _ in range(6):
        v = rng.normal(size=3)
        v /= np.linalg.norm(v)
        cases.append((f"the direction {_vec(v)}", v))
    for name in ("+X", "-X", "+Z", "-Z", "+Y", "-Y"):
        cases.append((name, np.asarray(AXES[name], dtype=np.float64)))
    cases.append(("a direction 1 degree from -Y", np.array([np.sin(np.radians(1.0)), -np.cos(np.radians(1.0)), 0.0])))
    return cases


def _vec(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{float(x):.3f}" for x in np.asarray(v).ravel()) + ")"


def check_rotation_to_up(fn: Callable[[np.ndarray], np.ndarray]) -> bool:
    """``fn(u (3,) unit) -> (3, 3)``: the smallest rotation (det +1) taking ``u`` to world +Y, checked against
    :func:`sbsr_lab.render.orient.rotation_to_up` on the six axes, -Y included, and random directions. For
    ``u = -Y`` (no unique smallest rotation) any rotation taking it to +Y is accepted."""
    name = "rotation_to_up"
    y = np.array([0.0, 1.0, 0.0])
    try:
        for case, u in _up_cases():
            got = np.asarray(call_learner(fn, u.copy()), dtype=np.float64)
            if got.shape != (3, 3):
                raise CheckStop(f"for {case} the result should be a (3, 3) matrix, got shape {got.shape}.")
            if not np.isfinite(got).all():
                hint = ("u x y is the zero vector when u is +Y or -Y: dividing by its length gives NaN. Handle "
                        "these two apart (+Y: the identity; -Y: half a turn about X, diag(1, -1, -1)).")
                raise CheckStop(f"for {case} the matrix holds NaN or infinite values.", hint)
            if not np.allclose(got.T @ got, np.eye(3), atol=1e-6):
                raise CheckStop(f"for {case} the matrix is not orthonormal (R.T @ R is not the identity): it would "
                                "stretch the mesh. Rodrigues: R = I + sin(a) K + (1 - cos(a)) K @ K, with K the "
                                "cross-product matrix of the *unit* axis k = (u x y) / |u x y|.")
            if np.linalg.det(got) < 0:
                raise CheckStop(f"for {case} the determinant is -1: a mirror, not a rotation (the mesh would come "
                                "out inside out, a left hand turned into a right one). "
                                + ("For -Y do not flip one axis, turn half a turn about X: diag(1, -1, -1)."
                                   if case == "-Y" else "Do not flip or swap single axes: Rodrigues' formula "
                                   "always gives det +1."))
            if not np.allclose(got @ u, y, atol=1e-6):
                if np.allclose(got.T @ u, y, atol=1e-6) or np.allclose(got @ y, u, atol=1e-6):
                    raise CheckStop(f"for {case} your matrix takes +Y to u: the inverse turn. Transpose it, or "
                                    "turn about u x y (not y x u).")
                raise CheckStop(f"for {case} R @ u is {_vec(got @ u)}, not (0, 1, 0). The axis is "
                                "u x y (normalised), the angle the one between u and y: sin(a) = |u x y|, "
                                "cos(a) = u . y.")
            if case != "-Y" and not np.allclose(got, rotation_to_up(u), atol=1e-6):
                raise CheckStop(f"for {case} your rotation takes u to +Y, but turns more than it needs to (it also "
                                "spins the mesh about +Y, so its front moves). Use the smallest turn: about the "
                                "axis u x y, by the angle between u and y.")
    except CheckStop as stop:
        return verdict(False, name, stop.detail, stop.hint)
    return verdict(True, name, f"proper rotations taking u to +Y on {len(_up_cases())} directions, -Y included.")


def check_choose_up(fn: Callable[[Mapping[str, float], float], str]) -> bool:
    """``fn(scores {candidate: confidence}, prior) -> candidate``: the highest confidence, ``"+Y"`` counted
    ``prior`` higher (:func:`sbsr_lab.serve.shape_encoder.choose_up`)."""
    name = "choose_up"
    cases = [
        ("another axis much surer than +Y", {"+Y": 0.45, "-Y": 0.40, "+Z": 0.93, "-Z": 0.31}, 0.1, "+Z"),
        ("+Y a little less sure, within the prior", {"+Y": 0.86, "+X": 0.90, "-X": 0.22}, 0.1, "+Y"),
        ("the same scores without a prior", {"+Y": 0.86, "+X": 0.90, "-X": 0.22}, 0.0, "+X"),
        ("a large prior", {"+Y": 0.30, "-Z": 0.70, "pca1+": 0.75}, 0.5, "+Y"),
        ("no +Y among the candidates", {"-X": 0.35, "pca0+": 0.72, "pca0-": 0.51}, 0.1, "pca0+"),
        ("+Y the surest already", {"+Y": 0.97, "-Y": 0.52, "+X": 0.12}, 0.1, "+Y"),
    ]
    try:
        for case, scores, prior, want in cases:
            given = dict(scores)
            got = call_learner(fn, given, prior)
            if given != scores:
                raise CheckStop(f"on '{case}' your function changed the scores it was given; add the prior to a "
                                "copy (or while comparing), not to the caller's dictionary.")
            if not isinstance(got, str):
                raise CheckStop(f"on '{case}' return the candidate's name (a key of scores, e.g. '+Z'), got "
                                f"{type(got).__name__} {got!r}.")
            if got != want:
                if got == max(scores, key=scores.get) and want == "+Y":
                    hint = "you picked the highest raw score: +Y must get `prior` added before comparing."
                elif got == "+Y":
                    hint = ("+Y won although another candidate beats it by more than the prior: add the prior "
                            "once, only to +Y's score.")
                else:
                    hint = "return the key whose score (+ prior when the key is '+Y') is the largest."
                raise CheckStop(f"on '{case}' (scores {scores}, prior {prior}) the answer is {want!r}, you chose "
                                f"{got!r}.", hint)
    except CheckStop as stop:
        return verdict(False, name, stop.detail, stop.hint)
    return verdict(True, name, f"the right candidate on {len(cases)} score sets.")
