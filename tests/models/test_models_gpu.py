"""CUDA checks of the fast paths: FlexAttention vs exact attention (forward and backward),
compiled blocks, bf16, and the CUDA-graph sampler. Skipped without a GPU."""

import pytest
import torch

from voiceflow.config import load_config
from voiceflow.infer.sampler import InfillSampler
from voiceflow.models import VoiceboxAudioModel

pytestmark = pytest.mark.gpu
if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU", allow_module_level=True)

CFG = ["model.n_phones=50", "model.dim=256", "model.heads=4", "model.depth=4", "model.ff_dim=1024",
       "model.phone_dim=64"]


def pair(*extra, layout="flex"):
    cfg = load_config(None, CFG + list(extra))
    torch.manual_seed(0)
    exact = VoiceboxAudioModel(cfg.model, 100).cuda()
    exact.cfg.attention = "sdpa"
    cfg2 = load_config(None, CFG + [f"model.attention={layout}", "model.pack_multiple=256"] + list(extra))
    fast = VoiceboxAudioModel(cfg2.model, 100).cuda()
    fast.load_state_dict(exact.state_dict())
    return exact, fast


def batch(lengths, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    B, T = len(lengths), max(lengths)
    return (torch.randn(B, T, 100, device="cuda", generator=g), torch.randn(B, T, 100, device="cuda", generator=g),
            torch.randint(1, 50, (B, T), device="cuda", generator=g), torch.rand(B, device="cuda", generator=g),
            torch.tensor(lengths))


def rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("layout", ["flex", "flex_padded"])
@pytest.mark.parametrize("compiled", [False, True])
def test_flex_matches_exact_forward_and_backward(compiled, layout):
    torch.backends.cuda.matmul.allow_tf32 = False
    exact, fast = pair(layout=layout)
    if compiled:
        fast.compile_blocks()
    x, c, ph, t, lens = batch([700, 333, 129, 512])
    out_e = exact(x, c, ph, t, lens)
    out_f = fast(x, c, ph, t, lens)
    assert rel(out_f, out_e) < 1e-4
    out_e.square().mean().backward()
    out_f.square().mean().backward()
    ge = torch.cat([p.grad.flatten() for p in exact.parameters()])
    gf = torch.cat([p.grad.flatten() for p in fast.parameters()])
    assert rel(gf, ge) < 1e-3


@pytest.mark.parametrize("layout", ["flex", "flex_padded"])
def test_flex_bf16_autocast_close_to_fp32(layout):
    exact, fast = pair(layout=layout)
    x, c, ph, t, lens = batch([640, 1000, 800])
    with torch.no_grad():
        ref = exact(x, c, ph, t, lens)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = fast(x, c, ph, t, lens)
    assert torch.isfinite(out).all() and rel(out.float(), ref) < 2e-2


@pytest.mark.parametrize("layout", ["flex", "flex_padded"])
def test_cuda_graph_sampler_equals_eager(layout):
    _, fast = pair(layout=layout)
    fast = fast.to(torch.bfloat16).eval().requires_grad_(False)
    x, c, ph, _, lens = batch([300, 250])
    eager = InfillSampler(fast).sample(c, ph, lens, x, nfe=8, guidance=0.7)
    graphed = InfillSampler(fast, cuda_graph=True)
    out1 = graphed.sample(c, ph, lens, x, nfe=8, guidance=0.7)
    out2 = graphed.sample(c, ph, lens, x * 0.5, nfe=8, guidance=0.7)  # replay with new inputs
    assert rel(out1, eager) < 1e-2
    assert rel(out2, InfillSampler(fast).sample(c, ph, lens, x * 0.5, nfe=8, guidance=0.7)) < 1e-2


def test_cuda_graph_replays_the_stochastic_sampler_with_fresh_noise():
    _, fast = pair()
    fast = fast.to(torch.bfloat16).eval().requires_grad_(False)
    x, c, ph, _, lens = batch([300, 250])
    noise = torch.randn(8, *x.shape, device=x.device)
    kw = dict(nfe=8, method="stochastic_euler", guidance=0.7, noise_scale=0.5, schedule="sway", sway=-1.0)
    graphed = InfillSampler(fast, cuda_graph=True)
    for scale in (1.0, 0.3):  # the second call replays the captured graph with new noise copied in
        eager = InfillSampler(fast).sample(c, ph, lens, x, noise=noise * scale, **kw)
        assert rel(graphed.sample(c, ph, lens, x, noise=noise * scale, **kw), eager) < 1e-2
