"""Notebook 04's checker accepts the uncertainty loss summed over d (the paper's formula) and averaged over
d (the authors' code, our training), says which one it got, and still rejects wrong forms."""

import torch

from sbsr_lab.checks.losses import check_reparameterize_and_uncertainty


def _sample(mu, log_var):
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)


def _terms(mu, log_var, centres, labels):  # recomputed here, not taken from sbsr_lab.losses
    return 0.5 * (mu - centres[labels]).pow(2) * torch.exp(-log_var) + 0.5 * log_var


def test_summed_over_d_passes_and_is_named(capsys):
    assert check_reparameterize_and_uncertainty(_sample, lambda *a: _terms(*a).sum(1).mean())
    assert "summed over the d dimensions" in capsys.readouterr().out


def test_averaged_over_d_passes_and_is_named(capsys):
    assert check_reparameterize_and_uncertainty(_sample, lambda *a: _terms(*a).mean(1).mean())
    out = capsys.readouterr().out
    assert "averaged over the d dimensions" in out and "❌" not in out


def test_per_sample_values_pass_in_both_forms():
    assert check_reparameterize_and_uncertainty(_sample, lambda *a: _terms(*a).mean(1))
    assert check_reparameterize_and_uncertainty(_sample, lambda *a: _terms(*a).sum(1))


def test_wrong_forms_still_fail(capsys):
    assert check_reparameterize_and_uncertainty(_sample, lambda *a: _terms(*a).mean())  # = mean over d, then batch
    wrong_sign = lambda mu, lv, c, y: (0.5 * (mu - c[y]).pow(2) * torch.exp(-lv) - 0.5 * lv).mean(1).mean()  # noqa: E731
    assert not check_reparameterize_and_uncertainty(_sample, wrong_sign)
    assert not check_reparameterize_and_uncertainty(_sample, lambda *a: _terms(*a).sum())  # summed over the batch
