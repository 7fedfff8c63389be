"""CMIC's instance and category losses against a hand computation (explicit loops) of the authors' form.

The reference follows IGLICT/IBSR_jittor code/RetrievalNet.py: an attention-conditioned score for every
(shape, query) pair, ProdMat = exp(score / tau), the instance loss -log(ProdMat[own] / sum over shapes),
the category loss -sum over same-class shapes (own included) of log(ProdMat / sum) / count, averaged over
the queries whose category loss is not 0, total = instance + 0.2 * category.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from sbsr_lab.losses.cmic import CMICCategoryLoss, CMICInstanceLoss, CMICLoss
from sbsr_lab.models.attention import ViewAttention


def _authors_form_by_loops(q, views, w_a, own, yq, ys, tau=0.1):
    """Plain-python loops; q (B, d), views (M, V, d), w_a (d, d) as in Linear (out = W x)."""
    b, m, v = q.shape[0], views.shape[0], views.shape[1]
    score = [[0.0] * m for _ in range(b)]
    for i in range(b):
        key = [sum(float(w_a[r, c]) * float(q[i, c]) for c in range(q.shape[1])) for r in range(q.shape[1])]
        for j in range(m):
            att = [sum(key[c] * float(views[j, k, c]) for c in range(q.shape[1])) for k in range(v)]
            mx = max(att)
            e = [math.exp(a - mx) for a in att]
            a_k = [x / sum(e) for x in e]
            # v = sum_k a_k r_k, not renormalised
            mix = [sum(a_k[k] * float(views[j, k, c]) for k in range(v)) for c in range(q.shape[1])]
            score[i][j] = sum(float(q[i, c]) * mix[c] for c in range(q.shape[1]))
    prod = [[math.exp(score[i][j] / tau) for j in range(m)] for i in range(b)]
    inst = [-math.log(prod[i][own[i]] / sum(prod[i])) for i in range(b)]
    cats = []
    for i in range(b):
        pos = [j for j in range(m) if ys[j] == yq[i]]
        cats.append(-sum(math.log(prod[i][j] / sum(prod[i])) for j in pos) / max(len(pos), 1) if pos else 0.0)
    nonzero = [c for c in cats if c != 0]
    cat_mean = sum(nonzero) / len(nonzero) if nonzero and len(set(ys)) > 1 else 0.0
    return score, inst, cats, sum(inst) / b + 0.2 * cat_mean


def _setup(seed=0, b=5, m=5, v=3, d=4):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(b, d, generator=g, dtype=torch.float64), dim=1)
    views = F.normalize(torch.randn(m, v, d, generator=g, dtype=torch.float64), dim=2)
    att = ViewAttention(d).double()
    with torch.no_grad():
        att.w_a.weight.copy_(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q, views, att


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cmic_matches_the_authors_form_by_hand(seed):
    q, views, att = _setup(seed)
    # two queries drawn from shape 0 (shared instance), the rest from shapes 1..3; shape 4 is padding
    own = [0, 0, 1, 2, 3]
    yq = [0, 0, 1, 1, 2]
    ys = [0, 1, 1, 2, 0]
    ref_score, ref_inst, ref_cats, ref_total = _authors_form_by_loops(q, views, att.w_a.weight.detach(), own, yq, ys)
    scores, weights = att(q, views)
    assert scores.shape == (5, 5) and weights.shape == (5, 5, 3)
    assert torch.allclose(weights.sum(-1), torch.ones(5, 5, dtype=torch.float64))
    assert torch.allclose(scores, torch.tensor(ref_score, dtype=torch.float64))
    own_t, yq_t, ys_t = torch.tensor(own), torch.tensor(yq), torch.tensor(ys)
    inst = CMICInstanceLoss(0.1, reduction="none")(scores, own_t)
    assert torch.allclose(inst, torch.tensor(ref_inst, dtype=torch.float64))
    cats = CMICCategoryLoss(0.1, reduction="none")(scores, yq_t, ys_t)
    assert torch.allclose(cats, torch.tensor(ref_cats, dtype=torch.float64))
    total = CMICLoss()(scores, own_t, yq_t, ys_t)
    assert math.isclose(float(total.detach()), ref_total, rel_tol=1e-9)


def test_cmic_category_leaves_out_queries_without_positives_and_single_class_batches():
    q, views, att = _setup(3)
    scores, _ = att(q, views)
    yq, ys = torch.tensor([0, 0, 1, 1, 3]), torch.tensor([0, 1, 1, 2, 0])  # query 4 (class 3) has no shape
    _, _, ref_cats, _ = _authors_form_by_loops(q, views, att.w_a.weight.detach(), [0] * 5, yq.tolist(), ys.tolist())
    per = CMICCategoryLoss(reduction="none")(scores, yq, ys)
    assert per[4] == 0 and torch.allclose(per, torch.tensor(ref_cats, dtype=torch.float64))
    assert torch.allclose(CMICCategoryLoss()(scores, yq, ys), per[:4].mean())
    one_class = CMICCategoryLoss()(scores, torch.zeros(5, dtype=torch.long), torch.zeros(5, dtype=torch.long))
    assert one_class == 0
    # the total then is the instance loss alone
    own = torch.arange(5)
    assert torch.allclose(CMICLoss()(scores, own, torch.zeros(5, dtype=torch.long), torch.zeros(5, dtype=torch.long)),
                          CMICInstanceLoss()(scores, own))


def test_cmic_gradients_reach_queries_views_and_attention():
    q, views, att = _setup(4)
    q.requires_grad_(True)
    views.requires_grad_(True)
    scores, _ = att(q, views)
    CMICLoss()(scores, torch.arange(5), torch.tensor([0, 0, 1, 1, 2]), torch.tensor([0, 0, 1, 1, 2])).backward()
    for t in (q.grad, views.grad, att.w_a.weight.grad):
        assert t is not None and torch.isfinite(t).all() and t.abs().sum() > 0


def test_cmic_rejects_bad_input():
    s = torch.randn(3, 4)
    with pytest.raises(ValueError, match="own-shape"):
        CMICInstanceLoss()(s, torch.tensor([0, 1, 4]))  # index 4 is not among the 4 shapes
    with pytest.raises(ValueError, match=r"\(B queries, M shapes\)"):
        CMICInstanceLoss()(torch.randn(3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="shape labels"):
        CMICCategoryLoss()(s, torch.tensor([0, 1, 0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="temperature"):
        CMICLoss(temperature=0)
    with pytest.raises(ValueError, match="ViewAttention"):
        ViewAttention(4)(torch.randn(3, 4), torch.randn(2, 4))


def test_view_attention_scores_in_chunks_equal_one_pass():
    q, views, att = _setup(5, b=7, m=4)
    assert torch.allclose(att.scores(q, views, chunk_size=3), att(q, views)[0])
