"""The notebook-01 checkers accept correct answers and reject typical mistakes."""

import numpy as np

from sbsr_lab.checks import render as checks


def good_look_at(eye, target, up):
    back = (eye - target) / np.linalg.norm(eye - target)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, np.cross(back, right), back, eye
    return m


def test_look_at_checker(capsys):
    assert checks.check_look_at(good_look_at)
    assert "✅" in capsys.readouterr().out

    def flipped(eye, target, up):  # camera +Z pointing toward the target
        m = good_look_at(eye, target, up)
        m[:3, 2] *= -1
        return m

    def no_translation(eye, target, up):
        m = good_look_at(eye, target, up)
        m[:3, 3] = 0
        return m

    def todo(eye, target, up):
        raise NotImplementedError

    for bad in (flipped, no_translation, todo, lambda e, t, u: np.eye(3)):
        assert not checks.check_look_at(bad)
        assert "❌" in capsys.readouterr().out


def good_wobble(stroke, rng, amount):
    n = len(stroke)
    t = np.linspace(0, 1, n)[:, None]
    waves = sum(rng.normal() * np.sin(2 * np.pi * (k + 1) * t + rng.uniform(0, 6.3)) for k in range(3))
    tangent = np.gradient(stroke, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    return stroke + amount * waves * normal


def test_wobble_checker():
    assert checks.check_wobble(good_wobble)
    assert not checks.check_wobble(lambda s, rng, a: s)  # no wobble at all
    assert not checks.check_wobble(lambda s, rng, a: s + a * rng.normal(size=s.shape))  # jagged
    assert not checks.check_wobble(lambda s, rng, a: s + 0.01 * np.sin(np.linspace(0, 3, len(s)))[:, None])  # ignores amount
    assert not checks.check_wobble(lambda s, rng, a: good_wobble(s, np.random.default_rng(0), a))  # ignores rng
