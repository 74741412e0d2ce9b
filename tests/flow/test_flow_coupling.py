"""Minibatch OT coupling: the exact optimal permutation of the noise over the masked frames;
it lowers the paired distance and keeps both marginals."""

import itertools

import pytest
import torch

from voiceflow.flow import couple, ot_pairing, pairing_cost


def _batch(B=5, T=9, D=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x1 = torch.randn(B, T, D, generator=g) * 0.5 + torch.randn(B, 1, D, generator=g) * 2
    x0 = torch.randn(B, T, D, generator=g)
    lengths = torch.randint(4, T + 1, (B,), generator=g)
    starts = (torch.rand(B, generator=g) * (lengths - 2)).long()
    frames = torch.arange(T)
    mask = (frames >= starts[:, None]) & (frames < lengths[:, None])
    return x0, x1, mask


def _total(x0, x1, mask, perm):
    return float(((x1 - x0[perm]) ** 2).sum(-1).mul(mask).sum())


def test_cost_matrix_is_the_masked_squared_distance():
    x0, x1, mask = _batch()
    C = pairing_cost(x0, x1, mask)
    for i in range(5):
        for j in range(5):
            direct = ((x1[i] - x0[j]) ** 2).sum(-1)[mask[i]].sum()
            torch.testing.assert_close(C[i, j], direct, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_pairing_is_the_exact_optimum(seed):
    x0, x1, mask = _batch(seed=seed)
    perm = ot_pairing(x0, x1, mask)
    assert sorted(perm.tolist()) == list(range(5))  # a permutation: the noise marginal is kept
    best = min(_total(x0, x1, mask, torch.tensor(p)) for p in itertools.permutations(range(5)))
    assert _total(x0, x1, mask, perm) == pytest.approx(best, rel=1e-6)


def test_ot_lowers_the_mean_distance_and_keeps_the_noise_distribution():
    g = torch.Generator().manual_seed(7)
    ratios, paired = [], []
    for _ in range(40):
        x1 = torch.randn(16, 12, 3, generator=g) * 0.3 + torch.randn(16, 1, 3, generator=g) * 1.5
        x0 = torch.randn(16, 12, 3, generator=g)
        mask = torch.ones(16, 12, dtype=torch.bool)
        coupled = couple(x0, x1, mask, "ot")
        assert torch.equal(coupled.sort(dim=0).values, x0.sort(dim=0).values)  # same draws, reordered
        ratios.append(((x1 - coupled) ** 2).mean() / ((x1 - x0) ** 2).mean())
        paired.append(coupled)
    assert max(ratios) <= 1.0 and sum(ratios) / len(ratios) < 0.95
    noise = torch.cat(paired).flatten()
    assert abs(float(noise.mean())) < 0.03 and abs(float(noise.std()) - 1) < 0.03
    # the data side is untouched: coupling returns noise only, indexed by the data order
    assert couple(x0, x1, mask, "independent") is x0


def test_frames_outside_the_mask_do_not_change_the_pairing():
    x0, x1, mask = _batch(seed=3)
    perm = ot_pairing(x0, x1, mask)
    x1_other = torch.where(mask[..., None], x1, torch.randn_like(x1) * 100)
    assert torch.equal(ot_pairing(x0, x1_other, mask), perm)


def test_unknown_coupling():
    x0, x1, mask = _batch()
    with pytest.raises(ValueError, match="independent, ot"):
        couple(x0, x1, mask, "sinkhorn")
