"""Candidate up axes and the turn that stands a mesh up (sbsr_lab/render/orient.py)."""

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from sbsr_lab.render.orient import AXES, rotation_to_up, stand_up, up_candidates, up_vector
from sbsr_lab.serve.shape_encoder import choose_up


@settings(max_examples=60, deadline=None)
@given(st.tuples(*[st.floats(-1, 1, allow_nan=False) for _ in range(3)]).filter(lambda v: np.linalg.norm(v) > 1e-3))
def test_rotation_to_up_is_a_rotation_taking_the_direction_to_plus_y(v):
    u = np.asarray(v) / np.linalg.norm(v)
    r = rotation_to_up(u)
    assert np.allclose(r @ u, [0.0, 1.0, 0.0], atol=1e-9)
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-9) and np.linalg.det(r) == pytest.approx(1.0)


@pytest.mark.parametrize("name", list(AXES))
def test_every_axis_stands_up(name):
    r = rotation_to_up(up_vector(name))
    assert np.allclose(r @ up_vector(name), [0, 1, 0]) and np.linalg.det(r) == pytest.approx(1.0)


def test_zero_direction_and_unknown_axis_are_refused():
    with pytest.raises(ValueError, match="non-zero"):
        rotation_to_up(np.zeros(3))
    with pytest.raises(ValueError, match="unknown axis"):
        up_vector("up")


def test_a_post_lying_along_z_stands_along_y():
    post = trimesh.creation.box((0.2, 0.2, 2.0))
    stood = stand_up(post, up_vector("+Z"))
    assert np.allclose(stood.extents, [0.2, 2.0, 0.2])
    assert np.allclose(post.extents, [0.2, 0.2, 2.0])  # the input is not changed


def test_axis_aligned_meshes_get_the_six_axes_and_tilted_ones_their_pca_axes():
    box = trimesh.creation.box((0.3, 1.0, 2.0))
    assert [n for n, _ in up_candidates(box)] == list(AXES)
    tilted = box.copy()
    tilted.apply_transform(trimesh.transformations.rotation_matrix(np.radians(40), [1, 1, 0]))
    cands = up_candidates(tilted)
    assert len(cands) > 6 and all(np.linalg.norm(u) == pytest.approx(1.0) for _, u in cands)
    axis = np.asarray(tilted.principal_inertia_vectors)[0]  # smallest inertia: the box's long axis, now tilted
    assert max(abs(float(u @ axis)) for _, u in cands) > 0.99  # ... is a candidate
    assert [n for n, _ in up_candidates(tilted, pca=False)] == list(AXES)


def test_choose_up_prefers_the_file_up_by_the_prior_only():
    assert choose_up({"+Y": 0.80, "+Z": 0.85}, prior=0.1) == "+Y"  # scores: up_confidence (any scale)
    assert choose_up({"+Y": 0.60, "+Z": 0.85}, prior=0.1) == "+Z"
    assert choose_up({"+Y": 0.80, "+Z": 0.85}, prior=0.0) == "+Z"
    with pytest.raises(ValueError):
        choose_up({})


def test_up_confidence_is_the_negative_entropy_of_the_mean_probabilities():
    import torch

    from sbsr_lab.serve.shape_encoder import up_confidence

    k = 12
    assert up_confidence(torch.full((4, k), 1.0 / k)) == pytest.approx(-np.log(k))
    assert up_confidence(torch.eye(k)[[3, 3, 3]]) == pytest.approx(0.0, abs=1e-9)
    split = torch.eye(k)[[3, 5]]  # two views that disagree: less sure than two that agree
    assert up_confidence(split) < up_confidence(torch.eye(k)[[3, 3]])
