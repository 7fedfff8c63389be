"""The exercise checkers accept the reference and reject typical wrong answers with a hint."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sbsr_lab.checks.losses import check_am_softmax, check_guidance_loss, check_reparameterize_and_uncertainty
from sbsr_lab.losses import AMSoftmaxLoss, GuidanceLoss, UncertaintyLoss
from sbsr_lab.models import reparameterize


def _reference_uncertainty(mu, log_var, centres, labels):
    return UncertaintyLoss()(mu, log_var, centres, labels)


def test_am_softmax_checker(capsys):
    assert check_am_softmax(lambda c, y, s, m: AMSoftmaxLoss(s, m, reduction="none")(c, y))
    assert "\u2705" in capsys.readouterr().out
    assert not check_am_softmax(lambda c, y, s, m: F.cross_entropy(s * c, y))  # margin missing
    assert "margin is missing" in capsys.readouterr().out
    assert not check_am_softmax(lambda c, y, s, m: F.cross_entropy(s * (c + m * F.one_hot(y, c.shape[1])), y))
    assert "subtracted" in capsys.readouterr().out


def test_guidance_checker(capsys):
    assert check_guidance_loss(lambda z, c, y, b: GuidanceLoss(b)(z, c, y))
    assert not check_guidance_loss(lambda z, c, y, b: GuidanceLoss(-b)(z, c, y))  # sign flipped
    assert "wrong sign" in capsys.readouterr().out
    def nothing_yet(z, c, y, b):
        raise NotImplementedError
    assert not check_guidance_loss(nothing_yet)
    assert "Not implemented yet" in capsys.readouterr().out
    assert not check_guidance_loss(lambda z, c, y, b: z[:, :2])  # wrong shape, no crash
    assert "shape" in capsys.readouterr().out


def test_reparameterize_and_uncertainty_checker(capsys):
    assert check_reparameterize_and_uncertainty(reparameterize, _reference_uncertainty)
    capsys.readouterr()
    variance_as_std = lambda mu, lv: mu + lv.exp() * torch.randn_like(mu)  # noqa: E731
    assert not check_reparameterize_and_uncertainty(variance_as_std, _reference_uncertainty)
    assert "variance as the standard deviation" in capsys.readouterr().out
    no_grad = lambda mu, lv: torch.normal(mu.detach(), (0.5 * lv).exp().detach())  # noqa: E731
    assert not check_reparameterize_and_uncertainty(no_grad, _reference_uncertainty)
    assert "No gradient" in capsys.readouterr().out
    no_log_term = lambda mu, lv, c, y: (0.5 * (mu - c[y]) ** 2 / lv.exp()).sum(1).mean()  # noqa: E731
    assert not check_reparameterize_and_uncertainty(reparameterize, no_log_term)
    assert "log sigma^2 term is missing" in capsys.readouterr().out


def test_checkers_keep_the_global_random_state():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_reparameterize_and_uncertainty(reparameterize, _reference_uncertainty)
    torch.testing.assert_close(torch.rand(3), expected)


def test_mean_discrepancy_checker(capsys):
    from sbsr_lab.checks.losses import check_mean_discrepancy
    from sbsr_lab.losses import MeanDiscrepancyLoss

    assert check_mean_discrepancy(lambda zs, ys, zt, yt: MeanDiscrepancyLoss()(zs, ys, zt, yt))
    assert "\u2705" in capsys.readouterr().out
    assert not check_mean_discrepancy(lambda zs, ys, zt, yt: MeanDiscrepancyLoss(reduction="sum")(zs, ys, zt, yt))
    assert "do not sum" in capsys.readouterr().out
    assert not check_mean_discrepancy(lambda zs, ys, zt, yt: MeanDiscrepancyLoss(reduction="none")(zs, ys, zt, yt))
    assert "0-d tensor" in capsys.readouterr().out

    def over_all_classes(zs, ys, zt, yt):  # a class without sketches counted with a zero mean
        k = 4
        ms = torch.stack([zs[ys == c].mean(0) if (ys == c).any() else torch.zeros(zs.shape[1], dtype=zs.dtype)
                          for c in range(k)])
        mt = torch.stack([zt[yt == c].mean(0) for c in range(k)])
        return (ms - mt).pow(2).sum(1).mean()
    assert not check_mean_discrepancy(over_all_classes)
    assert "leave it out" in capsys.readouterr().out


def test_cross_modal_contrastive_checker(capsys):
    from sbsr_lab.checks.losses import check_cross_modal_contrastive
    from sbsr_lab.losses import CrossModalContrastiveLoss

    assert check_cross_modal_contrastive(lambda zs, ys, zt, yt, t: CrossModalContrastiveLoss(t)(zs, ys, zt, yt))
    assert "\u2705" in capsys.readouterr().out
    no_temperature = lambda zs, ys, zt, yt, t: CrossModalContrastiveLoss(1.0)(zs, ys, zt, yt)  # noqa: E731
    assert not check_cross_modal_contrastive(no_temperature)
    assert "temperature" in capsys.readouterr().out

    def summed_positives(zs, ys, zt, yt, t):
        logits = zs @ zt.T / t
        pos = (ys[:, None] == yt[None, :]).to(logits.dtype)
        return -(pos * (logits - logits.logsumexp(1, keepdim=True))).sum(1).mean()
    assert not check_cross_modal_contrastive(summed_positives)
    assert "divide by their number" in capsys.readouterr().out
    assert not check_cross_modal_contrastive(lambda zs, ys, zt, yt, t: zs[:2])  # wrong shape, no crash
    assert "shape" in capsys.readouterr().out
