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


# -- notebook 07: DCA's discriminator step, CMIC's loss, SimSiam -------------------------------------------


def _dca_step(smoothing_form="pooled"):
    from sbsr_lab.models import grad_reverse

    def step(disc, ts, zt, smoothing, lambd):
        ls, lt = disc(grad_reverse(ts, lambd)), disc(zt)
        bs = F.binary_cross_entropy_with_logits(ls, torch.full_like(ls, smoothing), reduction="none")
        bt = F.binary_cross_entropy_with_logits(lt, torch.full_like(lt, 1 - smoothing), reduction="none")
        return torch.cat([bs, bt]).mean() if smoothing_form == "pooled" else 0.5 * (bs.mean() + bt.mean())
    return step


def test_discriminator_step_checker(capsys):
    from sbsr_lab.checks.losses import check_discriminator_step
    from sbsr_lab.losses import ModalityDiscriminatorLoss
    from sbsr_lab.models import grad_reverse

    assert check_discriminator_step(_dca_step())
    assert "all B + M samples" in capsys.readouterr().out
    assert check_discriminator_step(lambda d, ts, zt, s, lam: ModalityDiscriminatorLoss(s)(d(grad_reverse(ts, lam)), d(zt)))
    capsys.readouterr()
    assert check_discriminator_step(_dca_step("halves"))     # the per-modality mean is accepted, and named
    assert "two modalities' means" in capsys.readouterr().out
    no_grl = lambda d, ts, zt, s, lam: ModalityDiscriminatorLoss(s)(d(ts), d(zt))  # noqa: E731
    assert not check_discriminator_step(no_grl)
    assert "wrong sign" in capsys.readouterr().out
    no_lambda = lambda d, ts, zt, s, lam: ModalityDiscriminatorLoss(s)(d(grad_reverse(ts, 1.0)), d(zt))  # noqa: E731
    assert not check_discriminator_step(no_lambda)
    assert "scaled by lambd" in capsys.readouterr().out
    detached = lambda d, ts, zt, s, lam: ModalityDiscriminatorLoss(s)(d(ts.detach()), d(zt))  # noqa: E731
    assert not check_discriminator_step(detached)
    assert "do not detach" in capsys.readouterr().out
    swapped = lambda d, ts, zt, s, lam: ModalityDiscriminatorLoss(s)(d(zt), d(grad_reverse(ts, lam)))  # noqa: E731
    assert not check_discriminator_step(swapped)
    out = capsys.readouterr().out
    assert "\u274c" in out and "swapped" in out
    no_smoothing = lambda d, ts, zt, s, lam: ModalityDiscriminatorLoss(0.0)(d(grad_reverse(ts, lam)), d(zt))  # noqa: E731
    assert not check_discriminator_step(no_smoothing)
    assert "Smooth the labels" in capsys.readouterr().out
    reversed_d = lambda d, ts, zt, s, lam: ModalityDiscriminatorLoss(s)(grad_reverse(d(ts), lam), d(zt))  # noqa: E731
    assert not check_discriminator_step(reversed_d)
    assert "D's parameters" in capsys.readouterr().out


def test_cmic_loss_checker(capsys):
    from sbsr_lab.checks.losses import check_cmic_loss
    from sbsr_lab.losses import CMICLoss

    right = lambda s, own, yq, ys, t, w: CMICLoss(t, w)(s, own, yq, ys)  # noqa: E731
    assert check_cmic_loss(right)
    assert "\u2705" in capsys.readouterr().out

    def excluding_own(s, own, yq, ys, t, w):  # the common mistake: the own shape masked out of the category term
        logp = torch.log_softmax(s / t, dim=1)
        pos = (yq[:, None] == ys[None, :]).to(s.dtype)
        pos[torch.arange(len(own)), own] = 0
        return -logp[torch.arange(len(own)), own].mean() + w * (-(pos * logp).sum(1) / pos.sum(1)).mean()
    assert not check_cmic_loss(excluding_own)
    assert "own shape" in capsys.readouterr().out
    assert not check_cmic_loss(lambda s, own, yq, ys, t, w: CMICLoss(1.0, w)(s, own, yq, ys))
    assert "temperature" in capsys.readouterr().out
    assert not check_cmic_loss(lambda s, own, yq, ys, t, w: CMICLoss(t, 1.0)(s, own, yq, ys))
    assert "Weigh the category term" in capsys.readouterr().out
    assert not check_cmic_loss(lambda s, own, yq, ys, t, w: CMICLoss(t, w)(s.T[: s.shape[0]], own, yq, ys))
    assert "\u274c" in capsys.readouterr().out


def test_simsiam_checker(capsys):
    from sbsr_lab.checks.losses import check_simsiam_loss
    from sbsr_lab.losses import SimSiamLoss

    assert check_simsiam_loss(lambda p1, p2, z1, z2: SimSiamLoss()(p1, p2, z1, z2))
    assert "\u2705" in capsys.readouterr().out
    assert check_simsiam_loss(lambda p1, p2, z1, z2: SimSiamLoss(reduction="none")(p1, p2, z1, z2))
    capsys.readouterr()
    no_stopgrad = lambda p1, p2, z1, z2: (-0.5 * (F.cosine_similarity(p1, z2) + F.cosine_similarity(p2, z1))).mean()  # noqa: E731
    assert not check_simsiam_loss(no_stopgrad)
    assert "stop-gradient" in capsys.readouterr().out
    uncrossed = lambda p1, p2, z1, z2: SimSiamLoss()(p1, p2, z2, z1)  # noqa: E731  p1 against z1
    assert not check_simsiam_loss(uncrossed)
    assert "Cross the pairs" in capsys.readouterr().out
    assert not check_simsiam_loss(lambda p1, p2, z1, z2: -SimSiamLoss()(p1, p2, z1, z2))
    assert "negative" in capsys.readouterr().out
    all_detached = lambda p1, p2, z1, z2: SimSiamLoss()(p1.detach(), p2.detach(), z1, z2)  # noqa: E731
    assert not check_simsiam_loss(all_detached)
    assert "no gradient" in capsys.readouterr().out.lower()
