"""Checkers for the loss exercises of notebooks 02-04 and 07: run the learner's function, give a verdict.

Each checker calls the learner's function on a few random inputs, compares it with the library's
reference (:mod:`sbsr_lab.losses`), prints a verdict (:func:`sbsr_lab.checks.verdict`, with a hint that
names the likely mistake when the answer matches a known wrong variant) and returns ``True`` / ``False``::

    check_am_softmax(my_am_softmax)          # my_am_softmax(cosine, labels, scale, margin)
    check_guidance_loss(my_guidance_loss)    # my_guidance_loss(z, centres, labels, beta)
    check_reparameterize_and_uncertainty(my_sample, my_uncertainty_loss)
    # my_sample(mu, log_var) -> z;  my_uncertainty_loss(mu, log_var, centres, labels) -> loss
    check_mean_discrepancy(my_md)            # my_md(z_sketch, y_sketch, z_shape, y_shape)
    check_cross_modal_contrastive(my_cmc)    # my_cmc(z_sketch, y_sketch, z_shape, y_shape, temperature)

Losses may return the batch mean (a scalar) or the per-sample values (B,).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from sbsr_lab.checks import CheckStop, call_learner, verdict
from sbsr_lab.losses import (
    AMSoftmaxLoss, CrossModalContrastiveLoss, GuidanceLoss, MeanDiscrepancyLoss, UncertaintyLoss,
)
from sbsr_lab.models import ModalityDiscriminator
from sbsr_lab.similarity import l2_normalize

__all__ = [
    "check_am_softmax", "check_guidance_loss", "check_reparameterize_and_uncertainty",
    "check_mean_discrepancy", "check_cross_modal_contrastive",
]

def _as_mean(out: object, batch: int, what: str) -> Tensor:
    """Accept a scalar or per-sample (B,) tensor; return the batch mean as a 0-d float64 tensor."""
    if not isinstance(out, Tensor):
        raise CheckStop(f"{what} should return a torch tensor, got {type(out).__name__}.")
    if out.dim() == 0:
        return out.detach().double()
    if tuple(out.shape) == (batch,):
        return out.detach().double().mean()
    raise CheckStop(f"{what} should return a scalar (the batch mean) or one value per sample ({batch},), "
                f"got shape {tuple(out.shape)}.")


def _matches(value: Tensor, target: Tensor) -> bool:
    return bool(torch.allclose(value, target.double(), rtol=1e-4, atol=1e-5))


def _diagnose(value: Tensor, variants: dict[str, Tensor]) -> str:
    for hint, wrong in variants.items():
        if _matches(value, wrong):
            return hint
    return ""


# -- AM-softmax ---------------------------------------------------------------------------------


def _am_inputs(gen: torch.Generator, batch: int = 6, k: int = 5) -> tuple[Tensor, Tensor]:
    z = l2_normalize(torch.randn(batch, 8, generator=gen, dtype=torch.float64))
    w = l2_normalize(torch.randn(k, 8, generator=gen, dtype=torch.float64))
    return z @ w.T, torch.randint(0, k, (batch,), generator=gen)


def check_am_softmax(fn: Callable[[Tensor, Tensor, float, float], Tensor]) -> bool:
    """Check ``fn(cosine (B, K), labels (B,), scale, margin) -> loss`` against AM-softmax.

    The reference: CE(s * (cos - m * onehot(y)), y), averaged over the batch.
    """
    title = "AM-softmax"
    gen = torch.Generator().manual_seed(0)
    try:
        for scale, margin in ((15.0, 0.35), (30.0, 0.2), (4.0, 0.5)):
            cosine, labels = _am_inputs(gen)
            got = _as_mean(call_learner(fn, cosine.clone(), labels.clone(), scale, margin), len(labels), "Your AM-softmax")
            want = AMSoftmaxLoss(scale, margin)(cosine, labels)
            if _matches(got, want):
                continue
            onehot = F.one_hot(labels, cosine.shape[1]).double()
            variants = {
                "The margin is missing: subtract m from the cosine of the true class only.":
                    F.cross_entropy(scale * cosine, labels),
                "The margin is added; it must be *subtracted* from the true class's cosine (that makes it harder).":
                    F.cross_entropy(scale * (cosine + margin * onehot), labels),
                "The scale is missing: multiply the shifted cosines by s before the cross-entropy.":
                    F.cross_entropy(cosine - margin * onehot, labels),
                "Apply the scale to the margin too: s * (cos - m), not s * cos - m.":
                    F.cross_entropy(scale * cosine - margin * onehot, labels),
                "You summed over the batch; take the mean (or return the per-sample values).":
                    F.cross_entropy(scale * (cosine - margin * onehot), labels, reduction="sum"),
            }
            hint = _diagnose(got, variants) or (
                "Recipe: logits = s * (cosine - m * one_hot(y, K)); loss = F.cross_entropy(logits, y)."
            )
            raise CheckStop(f"With s={scale}, m={margin}: got {got.item():.5f}, expected {want.item():.5f}.", hint)
    except CheckStop as stop:
        return verdict(False, title, stop.detail, stop.hint)
    return verdict(True, title, "The margin makes the true class harder, the scale sharpens the softmax.")


# -- guidance loss ---------------------------------------------------------------------------------


def check_guidance_loss(fn: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> bool:
    """Check ``fn(z (B, d), centres (K, d), labels (B,), beta) -> loss`` against the guidance loss.

    The reference: ||z - c_y||^2 + beta * mean_{k != y} z . c_k, averaged over the batch.
    """
    title = "Guidance loss"
    gen = torch.Generator().manual_seed(1)
    try:
        for beta in (1.0, 0.5, 2.0):
            b, k, d = 7, 5, 8
            z = l2_normalize(torch.randn(b, d, generator=gen, dtype=torch.float64))
            centres = l2_normalize(torch.randn(k, d, generator=gen, dtype=torch.float64))
            labels = torch.randint(0, k, (b,), generator=gen)
            got = _as_mean(call_learner(fn, z.clone(), centres.clone(), labels.clone(), beta), b, "Your guidance loss")
            want = GuidanceLoss(beta)(z, centres, labels)
            if _matches(got, want):
                continue
            sims = z @ centres.T
            own = sims.gather(1, labels[:, None]).squeeze(1)
            pull = (z - centres[labels]).pow(2).sum(1)
            push = (sims.sum(1) - own) / (k - 1)
            variants = {
                "The push term has the wrong sign: minimising the loss must *lower* the similarity to the "
                "other centres, so add + beta * (mean similarity to the other centres).": (pull - beta * push).mean(),
                "Average the similarities over the *other* classes only (k != y), i.e. divide by K - 1 after "
                "removing the true class.": (pull + beta * sims.mean(1)).mean(),
                "Take the mean over the other centres, not the sum.": (pull + beta * push * (k - 1)).mean(),
                "Use the *squared* distance ||z - c_y||^2.": ((z - centres[labels]).norm(dim=1) + beta * push).mean(),
                "The pull term ||z - c_y||^2 is missing.": (beta * push).mean(),
                "The push term is missing.": pull.mean(),
                "You summed over the batch; take the mean (or return the per-sample values).":
                    (pull + beta * push).sum(),
            }
            hint = _diagnose(got, variants) or (
                "Recipe: sims = z @ centres.T; pull = ((z - centres[y])**2).sum(1); push = mean of sims over "
                "k != y; loss = pull + beta * push."
            )
            raise CheckStop(f"With beta={beta}: got {got.item():.5f}, expected {want.item():.5f}.", hint)
    except CheckStop as stop:
        return verdict(False, title, stop.detail, stop.hint)
    return verdict(True, title, "Sketches are pulled onto their centre and pushed from the others.")


# -- reparameterised sampling + uncertainty loss ------------------------------------------------------


def _check_sampler(fn_sample: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Raise CheckStop with a hint unless ``fn_sample(mu, log_var)`` draws mu + exp(log_var / 2) * eps."""
    n, d = 20000, 4
    sigma = torch.tensor([0.1, 0.5, 1.0, 2.0], dtype=torch.float64)
    mu = torch.tensor([0.5, -1.0, 0.0, 2.0], dtype=torch.float64).expand(n, d).clone().requires_grad_(True)
    log_var = (2.0 * sigma.log()).expand(n, d).clone().requires_grad_(True)
    z = call_learner(fn_sample, mu, log_var)
    if not isinstance(z, Tensor) or tuple(z.shape) != (n, d):
        shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise CheckStop(f"The sample must have the shape of mu ({n}, {d}), got {shape}.")
    zd = z.detach().double()
    if torch.allclose(zd, mu.detach()):
        raise CheckStop("The sample equals mu: add the noise sigma * eps with eps = torch.randn_like(mu).")
    mean, std = zd.mean(0), zd.std(0)
    if not bool(((mean - mu[0].detach()).abs() <= 5.0 * sigma / math.sqrt(n)).all()):  # 5 standard errors
        raise CheckStop("The samples are not centred on mu: eps must have mean 0 (torch.randn_like, not torch.rand_like).")
    ratio = std / sigma
    if not torch.allclose(ratio, torch.ones_like(ratio), atol=0.05):
        if torch.allclose(std, sigma**2, rtol=0.05):
            hint = "You used the variance as the standard deviation: sigma = exp(0.5 * log_var)."
        elif torch.allclose(std, sigma.log().mul(2).abs(), rtol=0.05):
            hint = "log_var is a log-variance: sigma = exp(0.5 * log_var), not log_var itself."
        else:
            hint = "The spread is wrong: z = mu + exp(0.5 * log_var) * eps with eps ~ N(0, I)."
        raise CheckStop(f"Sample std {std.numpy().round(3).tolist()} for sigma {sigma.numpy().tolist()}.", hint)
    if z.requires_grad:
        z.sum().backward()
    if mu.grad is None or log_var.grad is None or not log_var.grad.abs().sum() > 0:
        raise CheckStop("No gradient reaches mu and log_var: build z from them with + and * (the "
                    "reparameterisation trick), do not detach or use torch.normal.")


def check_reparameterize_and_uncertainty(
    fn_sample: Callable[[Tensor, Tensor], Tensor],
    fn_loss: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor],
) -> bool:
    """Check ``fn_sample(mu, log_var) -> z`` and ``fn_loss(mu, log_var, centres, labels) -> loss``.

    References: z = mu + exp(log_var / 2) * eps, eps ~ N(0, I), with gradients to mu and log_var;
    loss = mean over the batch of sum_l [0.5 * (mu_l - c_{y,l})^2 / sigma_l^2 + 0.5 * log sigma_l^2].
    Both forms are right: the sum over the d dimensions (the paper's formula, the negative
    log-likelihood of the whole vector) and the mean over them (the authors' code and our training,
    ``UncertaintyLoss(dims="mean")``): they differ by the constant factor d. The verdict says which one
    the learner wrote.
    """
    ok_sample = ok_loss = False
    try:
        with torch.random.fork_rng():  # leave the notebook's random state alone
            torch.manual_seed(2)
            _check_sampler(fn_sample)
        ok_sample = verdict(True, "Reparameterised sampling", "The noise is N(0, sigma^2) and gradients flow.")
    except CheckStop as stop:
        verdict(False, "Reparameterised sampling", stop.detail, stop.hint)

    title = "Uncertainty loss"
    gen = torch.Generator().manual_seed(3)
    forms: set[str] = set()
    try:
        for _ in range(3):
            b, k, d = 6, 4, 8
            mu = l2_normalize(torch.randn(b, d, generator=gen, dtype=torch.float64))
            log_var = torch.randn(b, d, generator=gen, dtype=torch.float64) - 2.0
            centres = l2_normalize(torch.randn(k, d, generator=gen, dtype=torch.float64))
            labels = torch.randint(0, k, (b,), generator=gen)
            args = (mu.clone(), log_var.clone(), centres.clone(), labels.clone())
            got = _as_mean(call_learner(fn_loss, *args), b, "Your uncertainty loss")
            want = UncertaintyLoss(dims="sum")(mu, log_var, centres, labels)
            if _matches(got, want):
                forms.add("sum")
                continue
            if _matches(got, UncertaintyLoss(dims="mean")(mu, log_var, centres, labels)):
                forms.add("mean")
                continue
            sq = (mu - centres[labels]).pow(2)
            var = log_var.exp()
            variants = {
                "Divide by the variance sigma^2 = exp(log_var), not by sigma.":
                    (0.5 * sq / var.sqrt() + 0.5 * log_var).sum(1).mean(),
                "Divide by sigma^2; you multiplied.": (0.5 * sq * var + 0.5 * log_var).sum(1).mean(),
                "The 0.5 * log sigma^2 term is missing (without it the variance would grow forever).":
                    (0.5 * sq / var).sum(1).mean(),
                "The log term has the wrong sign: + 0.5 * log sigma^2.": (0.5 * sq / var - 0.5 * log_var).sum(1).mean(),
                "Both terms carry a factor 0.5.": (0.5 * sq / var + log_var).sum(1).mean(),
                "You summed over the batch; take the mean (or return the per-sample values).":
                    (0.5 * sq / var + 0.5 * log_var).sum(),
            }
            hint = _diagnose(got, variants) or (
                "Recipe: target = centres[y]; loss = (0.5 * (mu - target)**2 * exp(-log_var) + 0.5 * log_var).sum(1) "
                "(or .mean(1)), then the mean over the batch."
            )
            raise CheckStop(f"Got {got.item():.5f}, expected {want.item():.5f}.", hint)
        if forms == {"sum", "mean"}:
            raise CheckStop("Your loss sums over the d dimensions on one batch and averages on another: pick one.")
        which = ("summed over the d dimensions (the paper's formula; training averages over d instead, which "
                 "divides it by d = 8 here)" if forms == {"sum"} else
                 "averaged over the d dimensions (as the authors' code and our training do; the paper's formula "
                 "sums, d = 8 times larger here)")
        ok_loss = verdict(True, title, f"Your loss is {which}: far-from-centre sketches can buy a lower loss with a "
                                       "larger sigma.")
    except CheckStop as stop:
        verdict(False, title, stop.detail, stop.hint)
    return ok_sample and ok_loss


# -- cross-modal losses of notebook 07 -------------------------------------------------------------


def _two_modalities(gen: torch.Generator, n: int = 10, m: int = 8, d: int = 6, k: int = 4,
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Unit sketch and shape embeddings with labels; every class has at least one of each."""
    zs = l2_normalize(torch.randn(n, d, generator=gen, dtype=torch.float64))
    zt = l2_normalize(torch.randn(m, d, generator=gen, dtype=torch.float64))
    ys, yt = torch.randint(0, k, (n,), generator=gen), torch.randint(0, k, (m,), generator=gen)
    ys[:k], yt[:k] = torch.arange(k), torch.arange(k)
    return zs, ys, zt, yt


def check_mean_discrepancy(fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(z_sketch (N, d), y_sketch (N,), z_shape (M, d), y_shape (M,)) -> loss``.

    The reference (:class:`~sbsr_lab.losses.MeanDiscrepancyLoss`): the mean over classes of the squared
    distance between the class's mean sketch embedding and its mean shape embedding. The checker
    also gives a class with no sketch, which must not count.
    """
    title = "Mean discrepancy"
    gen = torch.Generator().manual_seed(4)
    try:
        for drop_class in (False, True, False):
            zs, ys, zt, yt = _two_modalities(gen)
            if drop_class:
                ys[ys == 3] = 0  # class 3 has shapes but no sketch
            out = call_learner(fn, zs.clone(), ys.clone(), zt.clone(), yt.clone())
            if not isinstance(out, Tensor) or out.dim() != 0:
                shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                raise CheckStop(f"Return one number (a 0-d tensor), the mean over the classes; got {shape}.")
            got, want = out.detach().double(), MeanDiscrepancyLoss()(zs, ys, zt, yt)
            if _matches(got, want):
                continue
            classes = [c for c in range(4) if (ys == c).any() and (yt == c).any()]
            gaps = torch.stack([(zs[ys == c].mean(0) - zt[yt == c].mean(0)) for c in classes])
            variants = {
                "Square the distance: ||mean_sketch - mean_shape||^2.": gaps.norm(dim=1).mean(),
                "Average over the classes, do not sum them.": gaps.pow(2).sum(),
                "Compare the class *means*, one per class, not every sketch with every shape.":
                    torch.cdist(zs, zt).pow(2)[ys[:, None] == yt[None, :]].mean(),
                "Subtract the means first, then square: you took the difference of mean squared norms.":
                    torch.stack([(zs[ys == c].pow(2).sum(1).mean() - zt[yt == c].pow(2).sum(1).mean()).abs()
                                 for c in classes]).mean(),
            }
            if drop_class:
                variants["A class with shapes but no sketch has no sketch mean: leave it out (its 'mean' is 0)."] = (
                    torch.cat([gaps.pow(2).sum(1), zt[yt == 3].mean(0).pow(2).sum()[None]]).mean())
            hint = _diagnose(got, variants) or (
                "Recipe: for each class c in both batches, gap = z_sketch[y_sketch == c].mean(0) - "
                "z_shape[y_shape == c].mean(0); loss = mean over c of (gap ** 2).sum()."
            )
            raise CheckStop(f"Got {got.item():.5f}, expected {want.item():.5f}.", hint)
    except CheckStop as stop:
        return verdict(False, title, stop.detail, stop.hint)
    return verdict(True, title, "Each class's sketches and shapes are compared through their means.")


def check_cross_modal_contrastive(fn: Callable[[Tensor, Tensor, Tensor, Tensor, float], Tensor]) -> bool:
    """Check ``fn(z_sketch (B, d), y_sketch (B,), z_shape (M, d), y_shape (M,), temperature) -> loss``.

    The reference (:class:`~sbsr_lab.losses.CrossModalContrastiveLoss`): for each sketch, minus the mean
    over the shapes of its class of log softmax_j(q . g_j / T), averaged over the sketches. The
    inputs here are unit vectors.
    """
    title = "Cross-modal contrastive loss"
    gen = torch.Generator().manual_seed(5)
    try:
        for temperature in (0.1, 0.5, 1.0):
            zs, ys, zt, yt = _two_modalities(gen)
            got = _as_mean(call_learner(fn, zs.clone(), ys.clone(), zt.clone(), yt.clone(), temperature),
                           len(ys), "Your contrastive loss")
            want = CrossModalContrastiveLoss(temperature)(zs, ys, zt, yt)
            if _matches(got, want):
                continue
            logits = zs @ zt.T / temperature
            pos = (ys[:, None] == yt[None, :]).double()
            log_prob = logits - logits.logsumexp(1, keepdim=True)
            only_neg = logits - (logits.exp() * (1 - pos)).sum(1, keepdim=True).log()
            variants = {
                "Divide the similarities by the temperature T before the softmax.":
                    -((pos * (zs @ zt.T - (zs @ zt.T).logsumexp(1, keepdim=True))).sum(1) / pos.sum(1)).mean(),
                "Average over the positives of each sketch (divide by their number), not sum them.":
                    -(pos * log_prob).sum(1).mean(),
                "The softmax runs over every shape, positives included (SupCon's denominator).":
                    -((pos * only_neg).sum(1) / pos.sum(1)).mean(),
                "Softmax over the shapes (dim=1, one row per sketch), not over the sketches.":
                    -((pos * (logits - logits.logsumexp(0, keepdim=True))).sum(1) / pos.sum(1)).mean(),
                "A loss is minimised: take minus the log-probability.": ((pos * log_prob).sum(1) / pos.sum(1)).mean(),
            }
            hint = _diagnose(got, variants) or (
                "Recipe: logits = z_sketch @ z_shape.T / T; log_prob = logits - logits.logsumexp(1, keepdim=True); "
                "pos = (y_sketch[:, None] == y_shape[None, :]); loss = -(pos * log_prob).sum(1) / pos.sum(1), "
                "then the mean."
            )
            raise CheckStop(f"With T={temperature}: got {got.item():.5f}, expected {want.item():.5f}.", hint)
    except CheckStop as stop:
        return verdict(False, title, stop.detail, stop.hint)
    return verdict(True, title, "Every sketch must pick out the shapes of its class among all the shapes.")


# -- the field's other methods (notebook 07): DCA's discriminator step, CMIC's loss, SimSiam ----------

__all__ += ["check_discriminator_step", "check_cmic_loss", "check_simsiam_loss"]


def _bce_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    """Per-element BCE of sigmoid(logits) against target, written out: softplus(x) - t * x."""
    return F.softplus(logits) - target * logits


def _grads(module: torch.nn.Module) -> list[Tensor]:
    return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in module.parameters()]


def _close_all(a: list[Tensor], b: list[Tensor]) -> bool:
    return all(torch.allclose(x, y, rtol=1e-4, atol=1e-7) for x, y in zip(a, b))


def check_discriminator_step(fn: Callable[..., Tensor]) -> bool:
    """Check ``fn(discriminator, ts (B, d), z_shape (M, d), smoothing, lambd) -> loss``: DCA's adversarial step.

    The reference (:class:`~sbsr_lab.losses.ModalityDiscriminatorLoss` through
    :func:`~sbsr_lab.models.grad_reverse`): with logits D(GRL(ts)) for the B transformed sketches and
    D(z_shape) for the M shapes, targets s for a sketch and 1 - s for a shape (label smoothing s),
    L = mean over the B + M samples of BCE(sigmoid(logit), target). The mean of the two modalities'
    means is accepted too. Beyond the value, the gradients are checked: D's parameters must get dL/dD
    (D minimises L) and ts must get -lambd * dL/dts (T maximises L through the gradient reversal).
    """
    title = "DCA discriminator step"
    gen = torch.Generator().manual_seed(6)
    forms: set[str] = set()
    try:
        for smoothing, lambd, (b, m) in ((0.1, 1.0, (5, 7)), (0.2, 0.5, (6, 4)), (0.0, 2.0, (4, 4))):
            d = 6
            with torch.random.fork_rng():
                torch.manual_seed(int(torch.randint(0, 10_000, (1,), generator=gen)))
                disc = ModalityDiscriminator(d, hidden=8).double()
            ts0 = l2_normalize(torch.randn(b, d, generator=gen, dtype=torch.float64))
            zt = l2_normalize(torch.randn(m, d, generator=gen, dtype=torch.float64))
            # the learner's step, on a copy of D and a leaf ts
            mine = ModalityDiscriminator(d, hidden=8).double()
            mine.load_state_dict(disc.state_dict())
            ts = ts0.clone().requires_grad_(True)
            out = call_learner(fn, mine, ts, zt.clone(), smoothing, lambd)
            if not isinstance(out, Tensor) or out.dim() != 0:
                shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                raise CheckStop(f"Return the loss as one number (a 0-d tensor), got {shape}.")
            if not out.requires_grad:
                raise CheckStop("Your loss carries no gradient: compute it from D's logits with torch operations "
                                "(no .item(), no torch.no_grad()).")
            got = out.detach().double()
            # the reference, written out independently
            ts_ref = ts0.clone().requires_grad_(True)
            ls, lt = disc(ts_ref), disc(zt)
            per_s, per_t = _bce_with_logits(ls, torch.full_like(ls, smoothing)), _bce_with_logits(lt, torch.full_like(lt, 1 - smoothing))
            pooled, halves = torch.cat([per_s, per_t]).mean(), 0.5 * (per_s.mean() + per_t.mean())
            if _matches(pooled.detach(), halves.detach()) and _matches(got, pooled.detach()):
                ref, form = pooled, ""                             # B = M: the two forms agree
            elif _matches(got, pooled.detach()):
                ref, form = pooled, "pooled"
            elif _matches(got, halves.detach()):
                ref, form = halves, "halves"
            else:
                with torch.no_grad():
                    sig_s, sig_t = torch.sigmoid(ls), torch.sigmoid(lt)
                    variants = {
                        "The targets are swapped: a shape is 'real' (target 1 - s), a sketch 0 + s.":
                            torch.cat([_bce_with_logits(ls, torch.full_like(ls, 1 - smoothing)),
                                       _bce_with_logits(lt, torch.full_like(lt, smoothing))]).mean(),
                        "Smooth the labels: targets s for sketches and 1 - s for shapes, not 0 and 1.":
                            torch.cat([_bce_with_logits(ls, torch.zeros_like(ls)),
                                       _bce_with_logits(lt, torch.ones_like(lt))]).mean(),
                        "Smooth both sides: the sketches' target is s, not 0.":
                            torch.cat([_bce_with_logits(ls, torch.zeros_like(ls)), per_t]).mean(),
                        "D returns logits: use F.binary_cross_entropy_with_logits on them (or BCE on their sigmoid), "
                        "do not apply the sigmoid twice.":
                            torch.cat([_bce_with_logits(sig_s, torch.full_like(ls, smoothing)),
                                       _bce_with_logits(sig_t, torch.full_like(lt, 1 - smoothing))]).mean(),
                        "Average over the samples; you summed.": torch.cat([per_s, per_t]).sum(),
                    }
                hint = _diagnose(got, variants) or (
                    "Recipe: logits = torch.cat([D(grad_reverse(ts, lambd)), D(z_shape)]); target = torch.cat([full(B, s), "
                    "full(M, 1 - s)]); loss = F.binary_cross_entropy_with_logits(logits, target)."
                )
                raise CheckStop(f"With s={smoothing}: got {got.item():.5f}, expected {pooled.item():.5f}.", hint)
            if form:
                forms.add(form)
            out.backward()
            ref.backward()
            want_d = _grads(disc)
            want_ts = -lambd * ts_ref.grad
            got_d = _grads(mine)
            got_ts = ts.grad
            if not _close_all(got_d, want_d):
                raise CheckStop("D's parameters do not get the gradient of its loss: D must minimise its BCE, so "
                                "reverse the gradient between T and D, D(grad_reverse(ts, lambd)), not on D's "
                                "output or on the loss.")
            if got_ts is None or not bool(got_ts.abs().sum() > 0):
                raise CheckStop("No gradient reaches the transformed sketches ts: do not detach them. The gradient "
                                "reversal passes a gradient back to T, reversed.")
            if torch.allclose(got_ts, ts_ref.grad, rtol=1e-4, atol=1e-8):
                raise CheckStop("T's gradient has the wrong sign: T must *fool* D, so pass the sketches through "
                                "grad_reverse(ts, lambd) before D (the shapes go in as they are).")
            if not torch.allclose(got_ts, want_ts, rtol=1e-4, atol=1e-8):
                if lambd != 1 and torch.allclose(got_ts, -ts_ref.grad, rtol=1e-4, atol=1e-8):
                    raise CheckStop(f"The reversed gradient must be scaled by lambd (= {lambd} here): grad_reverse(ts, lambd).")
                raise CheckStop("The gradient reaching ts is not -lambd times the loss's: reverse only the sketch "
                                "branch, once, with grad_reverse(ts, lambd).")
        if forms == {"pooled", "halves"}:
            raise CheckStop("Your loss pools the samples on one batch and averages per modality on another: pick one.")
    except CheckStop as stop:
        return verdict(False, title, stop.detail, stop.hint)
    which = ("the mean of the two modalities' means (the library pools all B + M samples; the same when B = M)"
             if forms == {"halves"} else "the mean over all B + M samples, as the library does")
    return verdict(True, title, f"You took {which}: D learns to tell the modalities apart while T, through the "
                                "reversed gradient, learns to make them look alike.")


def check_cmic_loss(fn: Callable[..., Tensor]) -> bool:
    """Check ``fn(scores (B, M), own (B,), y_query (B,), y_shape (M,), temperature, category_weight) -> loss``.

    The reference (CMIC's authors' form, :class:`~sbsr_lab.losses.CMICLoss`): log P_ij = log softmax_j
    (s_ij / tau) over the batch's shapes; instance L_i = -log P_{i, own(i)}; category L_i = -mean over the
    shapes j of the query's class (its own shape included) of log P_ij; loss = mean instance +
    w * mean category. Every batch here holds each query's own shape and two or more classes.
    """
    title = "CMIC instance + category loss"
    gen = torch.Generator().manual_seed(7)
    try:
        for temperature, weight, share in ((0.1, 0.2, False), (0.5, 0.2, True), (0.1, 1.0, False)):
            b, m, k = 6, 8, 3
            y_shape = torch.arange(m) % k                          # every class has >= 2 shapes
            y_shape = y_shape[torch.randperm(m, generator=gen)]
            own = torch.randperm(m, generator=gen)[:b]
            if share:
                own[1] = own[0]                                    # two sketches drawn from one shape
            y_query = y_shape[own].clone()
            scores = torch.rand(b, m, generator=gen, dtype=torch.float64) * 2 - 1
            got = _as_mean(call_learner(fn, scores.clone(), own.clone(), y_query.clone(), y_shape.clone(),
                                        temperature, weight), b, "Your CMIC loss")
            logits = scores / temperature
            logp = logits - logits.logsumexp(1, keepdim=True)     # (B, M)
            pos = (y_query[:, None] == y_shape[None, :]).double()
            inst = -logp[torch.arange(b), own]
            cat = -(pos * logp).sum(1) / pos.sum(1)
            want = inst.mean() + weight * cat.mean()
            if _matches(got, want):
                continue
            others = pos.clone()
            others[torch.arange(b), own] = 0
            logp1 = scores - scores.logsumexp(1, keepdim=True)
            logp0 = logits - logits.logsumexp(0, keepdim=True)
            variants = {
                "The category term includes the query's own shape (the authors' code does not mask it out).":
                    inst.mean() + weight * (-(others * logp).sum(1) / others.sum(1)).mean(),
                "Divide the scores by the temperature tau before the softmax.":
                    -logp1[torch.arange(b), own].mean() + weight * (-(pos * logp1).sum(1) / pos.sum(1)).mean(),
                "Divide by tau; you multiplied.":
                    (lambda lp: -lp[torch.arange(b), own].mean() + weight * (-(pos * lp).sum(1) / pos.sum(1)).mean())(
                        scores * temperature - (scores * temperature).logsumexp(1, keepdim=True)),
                "Weigh the category term by w (the category_weight argument).": inst.mean() + cat.mean(),
                "The category term is missing: add w * the category loss.": inst.mean(),
                "The instance term is missing: -log P of the query's own shape.": weight * cat.mean(),
                "Softmax over the batch's shapes (dim=1, one row per query), not over the queries.":
                    -logp0[torch.arange(b), own].mean() + weight * (-(pos * logp0).sum(1) / pos.sum(1)).mean(),
                "Average the category term over the shapes of the query's class (divide by their number).":
                    inst.mean() + weight * (-(pos * logp).sum(1)).mean(),
                "A loss is minimised: take minus the log-probabilities.": -(inst.mean() + weight * cat.mean()),
            }
            hint = _diagnose(got, variants) or (
                "Recipe: logp = torch.log_softmax(scores / tau, dim=1); inst = -logp[arange(B), own]; "
                "pos = y_query[:, None] == y_shape[None, :]; cat = -(pos * logp).sum(1) / pos.sum(1); "
                "loss = inst.mean() + w * cat.mean()."
            )
            raise CheckStop(f"With tau={temperature}, w={weight}: got {got.item():.5f}, expected {want.item():.5f}.", hint)
    except CheckStop as stop:
        return verdict(False, title, stop.detail, stop.hint)
    return verdict(True, title, "Each sketch must find its own shape among the batch's (instance) and "
                                "rank its class's shapes high (category).")


def check_simsiam_loss(fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(p1, p2, z1, z2) -> loss`` (all (B, d)) against SimSiam's symmetric loss.

    The reference (:class:`~sbsr_lab.losses.SimSiamLoss`): L = 1/2 D(p1, sg(z2)) + 1/2 D(p2, sg(z1)),
    D(p, z) = -cos(p, z), averaged over the batch. The checker also backpropagates: the projections
    z1, z2 must get no gradient from this loss (the stop-gradient sg), the predictions p1, p2 must.
    """
    title = "SimSiam loss"
    gen = torch.Generator().manual_seed(8)
    try:
        for b, d in ((6, 5), (4, 8), (8, 3)):
            leaves = [(torch.randn(b, d, generator=gen, dtype=torch.float64) * 2).requires_grad_(True) for _ in range(4)]
            p1, p2, z1, z2 = leaves
            out = call_learner(fn, p1, p2, z1, z2)
            got = _as_mean(out, b, "Your SimSiam loss")
            with torch.no_grad():
                def cos(a: Tensor, c: Tensor) -> Tensor:
                    return (a * c).sum(1) / (a.norm(dim=1) * c.norm(dim=1))
                want = (0.5 * (-cos(p1, z2) - cos(p2, z1))).mean()
                variants = {
                    "The loss is the *negative* cosine: minimising it makes p and z point the same way.": -want,
                    "Weigh each direction by 1/2 (the loss is symmetrised, then halved).": 2 * want,
                    "Cross the pairs: p1 (from view 1) predicts z2 (view 2), and p2 predicts z1.":
                        (0.5 * (-cos(p1, z1) - cos(p2, z2))).mean(),
                    "Use the cosine, not the dot product: normalise p and z first.":
                        (0.5 * (-(p1 * z2).sum(1) - (p2 * z1).sum(1))).mean(),
                    "That is BYOL's form, ||p/|p| - z/|z| ||^2 = 2 - 2 cos; SimSiam's D is -cos (same minimiser, "
                    "another value).": (0.5 * ((2 - 2 * cos(p1, z2)) + (2 - 2 * cos(p2, z1)))).mean(),
                    "Only one direction: add the symmetric term D(p2, z1).": (-cos(p1, z2)).mean() * 0.5,
                }
            if not _matches(got, want):
                hint = _diagnose(got, variants) or (
                    "Recipe: D = lambda p, z: -F.cosine_similarity(p, z.detach(), dim=1); "
                    "loss = (0.5 * D(p1, z2) + 0.5 * D(p2, z1)).mean()."
                )
                raise CheckStop(f"Got {got.item():.5f}, expected {want.item():.5f}.", hint)
            if not isinstance(out, Tensor) or not out.requires_grad:
                raise CheckStop("Your loss carries no gradient: compute it with torch operations (no .item()).")
            out.sum().backward() if out.dim() else out.backward()
            if any(z.grad is not None and bool(z.grad.abs().sum() > 0) for z in (z1, z2)):
                raise CheckStop("A gradient reaches z1 / z2 through the target side: stop it with z.detach() "
                                "(SimSiam's stop-gradient; without it the two branches collapse to a constant).")
            if any(p.grad is None or not bool(p.grad.abs().sum() > 0) for p in (p1, p2)):
                raise CheckStop("No gradient reaches p1 / p2: detach only the targets z, not the predictions.")
    except CheckStop as stop:
        return verdict(False, title, stop.detail, stop.hint)
    return verdict(True, title, "Each view's prediction chases the other view's projection, which is held "
                                "fixed (stop-gradient), so no negatives are needed.")
