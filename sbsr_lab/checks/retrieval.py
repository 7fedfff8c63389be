"""Checkers for the retrieval exercises of notebook 05: vectorised FT/ST and AP.

The learner's functions take a (Q, N) similarity tensor, (Q,) query labels and (N,) gallery labels
(int64 tensors) and return per-query values::

    >>> check_ft_st(my_ft_st)   # my_ft_st(similarity, query_labels, gallery_labels) -> (ft (Q,), st (Q,))
    >>> check_ap(my_ap)         # my_ap(similarity, query_labels, gallery_labels) -> ap (Q,)

Each checker runs the function on small cases (random scores, tied scores, a class bigger than half
the gallery, a class with one shape), compares with :func:`sbsr_lab.retrieval.per_query_metrics`,
prints a verdict (with a hint naming the likely mistake) and returns ``True`` / ``False``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from sbsr_lab.checks import CheckStop, call_learner, verdict
from sbsr_lab.retrieval.metrics import per_query_metrics

__all__ = ["check_ft_st", "check_ap", "retrieval_cases"]

Case = tuple[str, Tensor, Tensor, Tensor]


def retrieval_cases(seed: int = 0) -> list[Case]:
    """Small test problems ``(name, similarity (Q, N) float64, query_labels (Q,), gallery_labels (N,))``."""
    gen = torch.Generator().manual_seed(seed)
    cases: list[Case] = []
    g = torch.randint(0, 4, (30,), generator=gen)
    g[:4] = torch.arange(4)                                      # every class present
    q = torch.randint(0, 4, (12,), generator=gen)
    cases.append(("random scores", torch.rand(12, 30, generator=gen, dtype=torch.float64), q, g))
    tied = torch.randint(0, 3, (12, 30), generator=gen).double()   # many equal scores
    cases.append(("tied scores", tied, q, g))
    big = torch.tensor([0] * 7 + [1] * 3)                          # class 0: 2C = 14 > N = 10
    cases.append(("a class with 2C > N", torch.rand(5, 10, generator=gen, dtype=torch.float64), torch.tensor([0, 0, 1, 1, 0]), big))
    single = torch.tensor([0, 1, 1, 1, 2, 2, 2, 2])               # class 0 has one shape
    cases.append(("a class with one shape", torch.rand(4, 8, generator=gen, dtype=torch.float64), torch.tensor([0, 0, 1, 2]), single))
    return cases


def _call(fn: Callable[..., object], sim: Tensor, q: Tensor, g: Tensor) -> object:
    return call_learner(fn, sim.clone(), q.clone(), g.clone())  # clones: the learner may modify inputs


def _vector(out: object, q: int, what: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise CheckStop(f"{what} should be a torch tensor, got {type(out).__name__}.")
    if tuple(out.shape) != (q,):
        raise CheckStop(f"{what} should have one value per query, shape ({q},), got {tuple(out.shape)}.")
    return out.detach().double().cpu()


def _close(a: Tensor, b: Tensor) -> bool:
    return bool(torch.allclose(a, b, atol=1e-6))


def _first_diff(got: Tensor, want: Tensor) -> str:
    i = int(torch.nonzero(~torch.isclose(got, want, atol=1e-6))[0])
    return f"query {i}: got {got[i].item():.4f}, expected {want[i].item():.4f}"


def _tie_variant(sim: Tensor, q: Tensor, g: Tensor) -> dict[str, Tensor]:
    """Reference values when ties are broken by the *largest* gallery index (a non-stable sort)."""
    return per_query_metrics(sim.flip(1), q, g.flip(0), ties="index")


_TIE_HINT = ("equal scores must be ranked by gallery index (smaller first): "
             "use torch.sort(similarity, dim=1, descending=True, stable=True).")


def check_ft_st(fn: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]) -> bool:
    """Check ``fn(similarity, query_labels, gallery_labels) -> (ft, st)``, both (Q,). Prints a verdict."""
    name = "first and second tier"
    try:
        for case, sim, q, g in retrieval_cases():
            out = _call(fn, sim, q, g)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise CheckStop(f"return a pair (ft, st), got {type(out).__name__}.")
            ft, st = _vector(out[0], len(q), "ft"), _vector(out[1], len(q), "st")
            ref = per_query_metrics(sim, q, g, ties="index")  # the learner implements SHREC's rule
            want_ft, want_st = ref["FT"].cpu(), ref["ST"].cpu()
            for label, got, want, key in (("FT", ft, want_ft, "FT"), ("ST", st, want_st, "ST")):
                if _close(got, want):
                    continue
                hint = "FT = (# relevant in the top C) / C, ST = (# relevant in the top min(2C, N)) / C, C = gallery size of the query's class."
                if _close(got, _tie_variant(sim, q, g)[key].cpu()):
                    hint = _TIE_HINT
                elif key == "ST" and _close(got, want / 2):
                    hint = "ST divides by C, not by 2C (it can reach 1 before the FT does)."
                elif key == "ST" and case == "a class with 2C > N":
                    hint = "when 2C > N the second tier is the whole list: clamp the cut-off to N."
                return verdict(False, name, f"{label} is wrong on '{case}', {_first_diff(got, want)}.", hint)
        return verdict(True, name, "FT and ST match the SHREC definitions on random and tied scores and on edge-case classes.")
    except CheckStop as stop:
        return verdict(False, name, stop.detail,
                       stop.hint or "the function gets (similarity (Q, N), query_labels (Q,), gallery_labels (N,)).")


def check_ap(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(similarity, query_labels, gallery_labels) -> ap`` of shape (Q,). Prints a verdict."""
    name = "average precision"
    try:
        for case, sim, q, g in retrieval_cases():
            got = _vector(_call(fn, sim, q, g), len(q), "ap")
            want = per_query_metrics(sim, q, g, ties="index")["AP"].cpu()
            if _close(got, want):
                continue
            hint = ("AP = mean over the C relevant items of precision at their rank: "
                    "sum(relevant * cumsum(relevant) / rank) / C, with ranks starting at 1.")
            if _close(got, _tie_variant(sim, q, g)["AP"].cpu()):
                hint = _TIE_HINT
            elif bool((got > want + 1e-9).all()):
                hint = "precision at rank r is hits / r with r starting at 1 (0-based ranks overestimate it)."
            return verdict(False, name, f"wrong on '{case}', {_first_diff(got, want)}.", hint)
        return verdict(True, name, "AP matches the definition on random and tied scores and on edge-case classes.")
    except CheckStop as stop:
        return verdict(False, name, stop.detail,
                       stop.hint or "the function gets (similarity (Q, N), query_labels (Q,), gallery_labels (N,)).")
