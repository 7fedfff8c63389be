"""The notebook-05 checkers accept correct answers and reject wrong ones with a useful hint."""

from __future__ import annotations

import torch

from sbsr_lab.checks import retrieval as check_retrieval


def _ranked_relevance(similarity, query_labels, gallery_labels, stable=True):
    order = torch.sort(similarity, dim=1, descending=True, stable=stable).indices
    if not stable:  # a typical mistake: ties broken by the largest index
        order = similarity.size(1) - 1 - torch.sort(similarity.flip(1), dim=1, descending=True, stable=True).indices
    return (gallery_labels[order] == query_labels[:, None]).double()


def good_ft_st(similarity, query_labels, gallery_labels):
    rel = _ranked_relevance(similarity, query_labels, gallery_labels)
    hits = rel.cumsum(1)
    c = (gallery_labels[None, :] == query_labels[:, None]).sum(1)
    two_c = torch.clamp(2 * c, max=similarity.size(1))
    return hits.gather(1, (c - 1)[:, None])[:, 0] / c, hits.gather(1, (two_c - 1)[:, None])[:, 0] / c


def good_ap(similarity, query_labels, gallery_labels):
    rel = _ranked_relevance(similarity, query_labels, gallery_labels)
    ranks = torch.arange(1, rel.size(1) + 1, dtype=rel.dtype)
    return (rel * rel.cumsum(1) / ranks).sum(1) / rel.sum(1)


def test_correct_answers_pass(capsys):
    assert check_retrieval.check_ft_st(good_ft_st) is True
    assert check_retrieval.check_ap(good_ap) is True
    assert "✅" in capsys.readouterr().out


def test_unstable_ties_fail_with_the_tie_hint(capsys):
    def ft_st(s, q, g):
        rel = _ranked_relevance(s, q, g, stable=False)
        hits = rel.cumsum(1)
        c = (g[None, :] == q[:, None]).sum(1)
        two_c = torch.clamp(2 * c, max=s.size(1))
        return hits.gather(1, (c - 1)[:, None])[:, 0] / c, hits.gather(1, (two_c - 1)[:, None])[:, 0] / c

    assert check_retrieval.check_ft_st(ft_st) is False
    out = capsys.readouterr().out
    assert "❌" in out and "tied scores" in out and "stable=True" in out


def test_st_divided_by_2c_fails():
    def ft_st(s, q, g):
        ft, st = good_ft_st(s, q, g)
        c = (g[None, :] == q[:, None]).sum(1)
        return ft, st * c / (2 * c)

    assert check_retrieval.check_ft_st(ft_st) is False


def test_zero_based_precision_fails_and_stub_fails(capsys):
    def ap(s, q, g):
        rel = _ranked_relevance(s, q, g)
        ranks = torch.arange(1, rel.size(1) + 1, dtype=rel.dtype)
        return (rel * rel.cumsum(1) / (ranks - 0.5)).sum(1) / rel.sum(1)

    assert check_retrieval.check_ap(ap) is False
    assert "starting at 1" in capsys.readouterr().out

    def stub(s, q, g):
        raise NotImplementedError("exercise")

    assert check_retrieval.check_ap(stub) is False
    assert "not implemented yet" in capsys.readouterr().out.lower()


def test_wrong_shape_fails(capsys):
    assert check_retrieval.check_ap(lambda s, q, g: good_ap(s, q, g).mean()) is False
    assert "one value per query" in capsys.readouterr().out
