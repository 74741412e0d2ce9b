"""Guidance dropout zeros context and phones together, at the configured rate."""

import pytest
import torch

from voiceflow.flow import build_context, drop_conditions


def _inputs(B=5000, T=6, D=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x_ctx = torch.randn(B, T, D, generator=g) + 5.0  # no accidental zeros
    phones = torch.randint(1, 40, (B, T), generator=g)
    return x_ctx, phones


def test_drop_together_at_the_right_rate():
    x_ctx, phones = _inputs()
    keep_x, keep_p = x_ctx.clone(), phones.clone()
    out_x, out_p, dropped = drop_conditions(x_ctx, phones, 0.2, torch.Generator().manual_seed(3))
    assert dropped.shape == (5000,) and dropped.dtype == torch.bool
    assert abs(dropped.float().mean().item() - 0.2) < 0.025
    assert (out_x[dropped] == 0).all() and (out_p[dropped] == 0).all()
    assert torch.equal(out_x[~dropped], x_ctx[~dropped])
    assert torch.equal(out_p[~dropped], phones[~dropped])
    # context and phones are dropped for the same utterances, never one without the other
    assert torch.equal((out_x == 0).all(dim=(1, 2)), dropped)
    assert torch.equal((out_p == 0).all(dim=1), dropped)
    assert torch.equal(x_ctx, keep_x) and torch.equal(phones, keep_p)  # not in place


def test_seeded_and_extremes():
    x_ctx, phones = _inputs(B=300)
    a = drop_conditions(x_ctx, phones, 0.5, torch.Generator().manual_seed(9))[2]
    b = drop_conditions(x_ctx, phones, 0.5, torch.Generator().manual_seed(9))[2]
    c = drop_conditions(x_ctx, phones, 0.5, torch.Generator().manual_seed(10))[2]
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not drop_conditions(x_ctx, phones, 0.0)[2].any()
    assert drop_conditions(x_ctx, phones, 1.0)[2].all()
    with pytest.raises(ValueError):
        drop_conditions(x_ctx, phones, 1.5)


def test_build_context_zeroes_masked_frames():
    x1 = torch.randn(2, 5, 3) + 5.0
    mask = torch.tensor([[0, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    ctx = build_context(x1, mask)
    assert (ctx[mask] == 0).all()
    assert torch.equal(ctx[~mask], x1[~mask])
    assert (x1 != 0).all()  # input untouched
    with pytest.raises(ValueError):
        build_context(x1, mask[:, :4])
