"""Classifier-free guidance: one batched call, the Voicebox / Ho & Salimans formula."""

import pytest
import torch

from voiceflow.flow import cfg_velocity, guided_field, odeint, time_grid


class Recorder:
    """A conditional velocity that depends on every input, recording each call."""

    def __init__(self):
        self.batches, self.times = [], []

    def __call__(self, x, t, ctx, phones, lengths=None):
        self.batches.append(x.shape[0])
        self.times.append(t)
        tb = t.view(-1, 1, 1) if t.dim() else t
        return torch.tanh(x) * (1 + tb) + ctx * 0.5 + phones.unsqueeze(-1).float() * 0.1


def _inputs(B=3, T=5, D=2):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, T, D, generator=g)
    ctx = torch.randn(B, T, D, generator=g)
    phones = torch.randint(1, 9, (B, T), generator=g)
    cond = dict(ctx=ctx, phones=phones, lengths=None)
    uncond = dict(ctx=torch.zeros_like(ctx), phones=torch.zeros_like(phones), lengths=None)
    return x, torch.rand(B, generator=g), cond, uncond


@pytest.mark.parametrize("a", [0.7, 2.0, -0.5])
def test_one_batched_call_and_formula(a):
    x, t, cond, uncond = _inputs()
    fn = Recorder()
    v = cfg_velocity(fn, x, t, cond, uncond, a)
    assert fn.batches == [6] and fn.times[0].shape == (6,)
    vc, vu = Recorder()(x, t, **cond), Recorder()(x, t, **uncond)
    assert not torch.allclose(vc, vu)
    torch.testing.assert_close(v, (1 + a) * vc - a * vu)


def test_zero_guidance_is_conditional_only():
    x, t, cond, uncond = _inputs()
    fn = Recorder()
    v = cfg_velocity(fn, x, t, cond, uncond, 0.0)
    assert fn.batches == [3]
    torch.testing.assert_close(v, Recorder()(x, t, **cond))


def test_shared_time_and_mismatches():
    x, _, cond, uncond = _inputs()
    fn = Recorder()
    t = torch.tensor(0.4)
    v = cfg_velocity(fn, x, t, cond, uncond, 1.0)
    assert fn.times[0].dim() == 0
    torch.testing.assert_close(v, 2 * Recorder()(x, t, **cond) - Recorder()(x, t, **uncond))
    with pytest.raises(ValueError):
        cfg_velocity(fn, x, t, cond, {k: uncond[k] for k in ("ctx", "phones")}, 1.0)
    with pytest.raises(ValueError):
        cfg_velocity(fn, x, t, cond, dict(uncond, lengths=torch.ones(3)), 1.0)


def test_guided_field_with_solver():
    x, _, cond, uncond = _inputs()
    fn = Recorder()
    field = guided_field(fn, cond, uncond, 0.5)
    out = odeint(field, x, time_grid(4, "euler"), "euler", final_only=True)
    assert out.shape == x.shape and fn.batches == [6] * 4
    assert all(t.shape == (6,) for t in fn.times)
    y = x
    for i in range(4):  # the same thing by hand
        tb = torch.full((3,), i / 4)
        vc, vu = Recorder()(y, tb, **cond), Recorder()(y, tb, **uncond)
        y = y + 0.25 * (1.5 * vc - 0.5 * vu)
    torch.testing.assert_close(out, y)
