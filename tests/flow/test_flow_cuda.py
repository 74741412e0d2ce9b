"""On a CUDA device: the flow utilities run without host synchronisation and match the CPU."""

import contextlib

import pytest
import torch

from voiceflow import flow

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    pytest.mark.filterwarnings("ignore:Synchronization debug mode is a prototype"),
]


@contextlib.contextmanager
def no_sync():
    """Raise on any synchronising CUDA operation inside the block."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_training_utilities_do_not_sync():
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    B, T, D = 16, 300, 100
    with no_sync():
        lengths = torch.randint(1, T + 1, (B,), device=dev, generator=g)
        phones = (torch.arange(T, device=dev) // 7 + 1).repeat(B, 1)
        mask = flow.span_mask(phones, lengths, 0.3, 0.7, 1.0, generator=g)
        x1 = torch.randn(B, T, D, device=dev, generator=g)
        ctx, ph, _ = flow.drop_conditions(flow.build_context(x1, mask), phones, 0.2, generator=g)
        t = flow.sample_time(B, generator=g, device=dev)
        x_t, u_t = flow.ot_path(torch.randn_like(x1), x1, t, 1e-5)
        loss = flow.masked_mse(x_t, u_t, mask)
    assert not (mask & ~flow.padding_mask(lengths, T)).any()
    assert (mask.sum(1) > 0).all() and torch.isfinite(loss)


@pytest.mark.parametrize("method", ["euler", "midpoint"])
def test_sampling_does_not_sync_and_matches_cpu(method):
    dev = torch.device("cuda")
    x0 = torch.randn(4, 50, 8, generator=torch.Generator().manual_seed(0))
    ctx = torch.randn(4, 50, 8, generator=torch.Generator().manual_seed(1))

    def velocity(x, t, ctx):
        return torch.tanh(x) * t.view(-1, 1, 1) + ctx

    def run(y0, c, sync_check):
        cond, uncond = dict(ctx=c), dict(ctx=torch.zeros_like(c))
        with no_sync() if sync_check else contextlib.nullcontext():
            field = flow.guided_field(velocity, cond, uncond, 0.7)
            grid = flow.time_grid(16, method, device=y0.device)
            return flow.odeint(field, y0, grid, method)

    on_gpu = run(x0.to(dev), ctx.to(dev), True)
    torch.testing.assert_close(on_gpu.cpu(), run(x0, ctx, False), rtol=1e-4, atol=1e-4)
