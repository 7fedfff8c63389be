"""Notebook 08's checkers: the rotation that stands a mesh up and the choice of its up axis accept the
library's answers (and a learner's own Rodrigues) and reject the usual mistakes with the hint that names them."""

import numpy as np
import pytest

from sbsr_lab.checks.render import check_choose_up, check_rotation_to_up
from sbsr_lab.render.orient import rotation_to_up
from sbsr_lab.serve.shape_encoder import choose_up


def rodrigues(u):
    """The notebook's answer, written here again."""
    u = np.asarray(u, dtype=float) / np.linalg.norm(u)
    y = np.array([0.0, 1.0, 0.0])
    axis = np.cross(u, y)
    s, c = np.linalg.norm(axis), float(u @ y)
    if s < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def _fails_with(check, fn, words, capsys):
    assert not check(fn)
    out = capsys.readouterr().out
    assert "❌" in out
    for w in words:
        assert w in out, out


@pytest.mark.parametrize("fn", [rotation_to_up, rodrigues,
                                lambda u: np.diag([-1.0, -1.0, 1.0]) if np.allclose(u, [0, -1, 0]) else rodrigues(u)],
                         ids=["library", "rodrigues", "another half turn for -Y"])
def test_rotation_to_up_accepts_correct_answers(fn, capsys):
    assert check_rotation_to_up(fn)
    assert "✅" in capsys.readouterr().out


def test_rotation_to_up_rejects_the_usual_mistakes(capsys):
    def todo(u):
        raise NotImplementedError

    def no_special_cases(u):
        axis = np.cross(u, [0.0, 1.0, 0.0])
        with np.errstate(invalid="ignore"):
            k = axis / np.linalg.norm(axis)
        s, c = np.linalg.norm(axis), u[1]
        kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        return np.eye(3) + s * kx + (1 - c) * kx @ kx

    def unnormalised_axis(u):
        axis = np.cross(u, [0.0, 1.0, 0.0]) + 1e-12
        s, c = np.linalg.norm(axis), u[1]
        kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        return np.eye(3) + s * kx + (1 - c) * kx @ kx

    def spins_too(u):  # takes u to +Y, then a quarter turn about +Y
        return np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]) @ rotation_to_up(u)

    _fails_with(check_rotation_to_up, todo, ["Not implemented"], capsys)
    _fails_with(check_rotation_to_up, lambda u: rotation_to_up(u).T, ["inverse turn", "Transpose"], capsys)
    _fails_with(check_rotation_to_up, lambda u: rotation_to_up(u) @ np.diag([-1.0, 1.0, 1.0]),
                ["determinant is -1", "mirror"], capsys)
    def flips_for_minus_y(u):
        return np.diag([1.0, -1.0, 1.0]) if np.allclose(u, [0, -1, 0]) else rotation_to_up(u)

    _fails_with(check_rotation_to_up, flips_for_minus_y, ["-Y", "diag(1, -1, -1)"], capsys)
    _fails_with(check_rotation_to_up, no_special_cases, ["NaN", "+Y or -Y"], capsys)
    _fails_with(check_rotation_to_up, unnormalised_axis, ["not orthonormal", "unit"], capsys)
    _fails_with(check_rotation_to_up, spins_too, ["spins the mesh", "smallest"], capsys)
    _fails_with(check_rotation_to_up, lambda u: np.eye(3), ["R @ u"], capsys)
    _fails_with(check_rotation_to_up, lambda u: np.eye(4), ["(3, 3)"], capsys)


def test_choose_up_accepts_the_library_and_rejects_mistakes(capsys):
    assert check_choose_up(choose_up)
    assert "✅" in capsys.readouterr().out

    def no_prior(scores, prior):
        return max(scores, key=scores.get)

    def prior_everywhere(scores, prior):
        return max(scores, key=lambda k: scores[k] + prior)

    def mutates(scores, prior):
        if "+Y" in scores:
            scores["+Y"] += prior
        return max(scores, key=scores.get)

    def always_y(scores, prior):
        return "+Y"

    def todo(scores, prior):
        raise NotImplementedError

    _fails_with(check_choose_up, no_prior, ["highest raw score"], capsys)
    _fails_with(check_choose_up, prior_everywhere, ["highest raw score"], capsys)
    _fails_with(check_choose_up, mutates, ["changed the scores"], capsys)
    _fails_with(check_choose_up, always_y, ["+Y won"], capsys)
    _fails_with(check_choose_up, lambda s, p: list(s).index(max(s, key=s.get)), ["candidate's name"], capsys)
    _fails_with(check_choose_up, todo, ["Not implemented"], capsys)
