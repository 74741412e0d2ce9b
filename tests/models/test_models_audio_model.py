"""The Voicebox audio model: sizes, padding invariance, ALiBi, skips, exact attention paths."""

import math

import pytest
import torch

from voiceflow.config import load_config
from voiceflow.models import VoiceboxAudioModel, make_pack
from voiceflow.models.attention import alibi_bias, alibi_slopes
from voiceflow.models.packing import attention_layout, from_padded_rows, to_padded_rows

SMALL = ["model.n_phones=20", "model.dim=32", "model.heads=2", "model.depth=3", "model.ff_dim=64",
         "model.phone_dim=8", "model.conv_pos_groups=4", "model.conv_pos_kernel=7"]


def small_model(*extra, seed=0):
    cfg = load_config(None, SMALL + list(extra))
    torch.manual_seed(seed)
    return VoiceboxAudioModel(cfg.model, n_mels=10).eval()


def inputs(lengths, T=None, seed=1):
    g = torch.Generator().manual_seed(seed)
    B, T = len(lengths), T or max(lengths)
    return (torch.randn(B, T, 10, generator=g), torch.randn(B, T, 10, generator=g),
            torch.randint(1, 20, (B, T), generator=g), torch.rand(B, generator=g), torch.tensor(lengths))


@pytest.mark.parametrize("preset,expected_m", [("paper", 330), ("small", 42), ("tiny", 1.0)])
def test_preset_sizes(preset, expected_m):
    cfg = load_config(None, [f"model.preset={preset}", "model.n_phones=200"])
    with torch.device("meta"):
        model = VoiceboxAudioModel(cfg.model, 100)
    n = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(n - expected_m) / expected_m < 0.03, n  # Voicebox: ~330 M for the paper size


def test_padding_never_changes_an_items_output():
    model = small_model()
    x, c, ph, t, lens = inputs([23, 9, 16], T=30)
    with torch.no_grad():
        v = model(x, c, ph, t, lens)
        for b, n in enumerate(lens.tolist()):
            alone = model(x[b:b + 1, :n], c[b:b + 1, :n], ph[b:b + 1, :n], t[b:b + 1], torch.tensor([n]))
            torch.testing.assert_close(v[b, :n], alone[0], rtol=1e-5, atol=1e-5)
            assert v[b, n:].abs().max() == 0  # zeros on padding
        # garbage in the padding changes nothing
        x2, c2, ph2 = x.clone(), c.clone(), ph.clone()
        x2[1, 9:], c2[1, 9:], ph2[1, 9:] = 1e4, -1e4, 7
        assert torch.equal(model(x2, c2, ph2, t, lens), v)


def test_items_do_not_see_each_other():
    model = small_model()
    x, c, ph, t, lens = inputs([12, 12])
    with torch.no_grad():
        v = model(x, c, ph, t, lens)
        x[1] += 3.0
        v2 = model(x, c, ph, t, lens)
    assert torch.equal(v[0], v2[0]) and not torch.allclose(v[1], v2[1])


def test_output_depends_on_every_condition():
    model = small_model()
    x, c, ph, t, lens = inputs([15])
    with torch.no_grad():
        base = model(x, c, ph, t, lens)
        assert not torch.allclose(base, model(x, c, ph, t + 0.3, lens))  # flow step token
        assert not torch.allclose(base, model(x, c * 0, ph, t, lens))  # context
        assert not torch.allclose(base, model(x, c, (ph % 19) + 1, t, lens))  # phones


def test_alibi_slopes_and_bias():
    assert torch.allclose(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))
    s6 = alibi_slopes(6)  # not a power of two: 4 of the 4-head set, then odd ones of the 8-head set
    assert torch.allclose(s6, torch.tensor([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]))
    bias = alibi_bias(alibi_slopes(2), 5)
    assert bias.shape == (2, 5, 5)
    assert torch.equal(bias[:, 0], torch.zeros(2, 5)) and torch.equal(bias[:, :, 0], torch.zeros(2, 5))
    assert torch.equal(bias, bias.transpose(1, 2))  # symmetric
    assert math.isclose(bias[0, 1, 4].item(), -(2 ** -4) * 3)  # H=2: slopes 2^-4, 2^-8


@pytest.mark.parametrize("depth,receivers", [(4, [2, 3]), (5, [3, 4]), (24, list(range(12, 24)))])
def test_unet_skip_wiring(depth, receivers):
    cfg = load_config(None, SMALL + [f"model.depth={depth}"])
    with torch.device("meta"):
        model = VoiceboxAudioModel(cfg.model, 10)
    got = [i for i, b in enumerate(model.transformer.blocks) if b.skip_proj is not None]
    assert got == receivers


def test_every_parameter_gets_a_gradient():
    model = small_model().train()
    x, c, ph, t, lens = inputs([11, 7])
    model(x, c, ph, t, lens).square().sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []


def test_pack_layout_and_block_mask_cover_exactly_the_same_utterance_pairs():
    g = torch.Generator().manual_seed(3)
    for _ in range(5):
        lengths = torch.randint(1, 300, (int(torch.randint(1, 6, (1,), generator=g)),), generator=g).tolist()
        pack = make_pack(lengths, max(lengths), "cpu", multiple=256, attention="flex")
        assert pack.total % 256 == 0 and pack.total >= sum(lengths) + len(lengths)
        assert pack.frame_dst.numel() == sum(lengths) and pack.time_start % 128 == 0
        assert pack.time_dst.tolist() == list(range(pack.time_start, pack.time_start + len(lengths)))
        assert pack.doc[pack.time_dst].tolist() == list(range(len(lengths)))  # each time token in its utterance
        doc = pack.doc.long()
        same = doc[:, None] == doc[None, :]
        bm = pack.block_mask
        nb = pack.total // 128
        allowed = torch.zeros(nb, nb, dtype=torch.bool)
        for kind_num, kind_idx in ((bm.kv_num_blocks, bm.kv_indices), (bm.full_kv_num_blocks, bm.full_kv_indices)):
            for q in range(nb):
                allowed[q, kind_idx[0, 0, q, : kind_num[0, 0, q]].long()] = True
        # every same-utterance pair lies in a visited block ...
        blocks_needed = same.view(nb, 128, nb, 128).any(dim=3).any(dim=1)
        assert torch.equal(allowed | blocks_needed, allowed)
        # ... and a "full" block holds only same-utterance pairs
        for q in range(nb):
            for k in bm.full_kv_indices[0, 0, q, : bm.full_kv_num_blocks[0, 0, q]].tolist():
                assert same[q * 128:(q + 1) * 128, k * 128:(k + 1) * 128].all()


def test_padded_rows_layout_round_trips_and_its_block_mask_covers_each_row():
    lengths = [127, 1, 300, 255]  # rows of 128 tokens exactly (no partial block), 2, 301, 256
    pack = make_pack(lengths, 300, "cpu", attention="flex_padded")
    assert pack.pad_len == 384 and pack.gather is None
    x = torch.randn(pack.total, 5)
    rows = to_padded_rows(x, pack, len(lengths))  # (B, Lp, C)
    for b, n in enumerate(lengths):
        start = sum(lengths[:b])
        assert torch.equal(rows[b, 0], x[pack.time_start + b])  # the flow-step token first
        assert torch.equal(rows[b, 1:1 + n], x[start:start + n])
    back = from_padded_rows(rows, pack)
    real = torch.cat([pack.frame_dst, pack.time_dst])
    assert torch.equal(back[real], x[real])
    # padding columns and filler tokens are spread out (no index repeated more than needed)
    assert torch.bincount(pack.row_src).max() <= -(-pack.row_src.numel() // pack.total) + 1
    assert pack.row_src.shape == (4 * 384,) and pack.token_row.shape == (pack.total,)
    bm = pack.block_mask
    for b, n in enumerate(lengths):
        span, nb = 1 + n, pack.pad_len // 128
        for q in range(nb):
            full = bm.full_kv_indices[b, 0, q, : bm.full_kv_num_blocks[b, 0, q]].tolist()
            partial = bm.kv_indices[b, 0, q, : bm.kv_num_blocks[b, 0, q]].tolist()
            if q * 128 >= span:
                assert full == [] and partial == []  # queries past the row's end: nothing
            else:
                assert full == list(range(span // 128))
                assert partial == ([span // 128] if span % 128 else [])


@pytest.mark.parametrize("layout", ["flex", "flex_padded"])
def test_flex_attention_paths_equal_per_utterance_sdpa(layout):
    """The GPU paths (FlexAttention, block masks, ALiBi score_mod) computed on the CPU
    (forward only: FlexAttention has no CPU backward; tests/models/test_models_gpu.py
    compares the gradients on CUDA)."""
    model = small_model()
    flex = small_model(f"model.attention={layout}", "model.pack_multiple=128")
    flex.load_state_dict(model.state_dict())
    for lengths in ([150, 37, 90], [130], [127, 1]):
        x, c, ph, t, lens = inputs(lengths, T=150)
        with torch.no_grad():
            torch.testing.assert_close(flex(x, c, ph, t, lens), model(x, c, ph, t, lens), rtol=1e-4, atol=1e-5)
    for heads in (2, 3):  # slopes by formula (power of two) and from the table
        exact = small_model(f"model.heads={heads}", "model.dim=48", "model.conv_pos_groups=3")
        fast = small_model(f"model.heads={heads}", "model.dim=48", "model.conv_pos_groups=3",
                           f"model.attention={layout}", "model.pack_multiple=128")
        fast.load_state_dict(exact.state_dict())
        x, c, ph, t, lens = inputs([70, 20])
        with torch.no_grad():
            torch.testing.assert_close(fast(x, c, ph, t, lens), exact(x, c, ph, t, lens), rtol=1e-4, atol=1e-5)


def test_attention_layout_by_device_and_unknown_mode():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert attention_layout("auto", cpu) == "sdpa" and attention_layout("auto", cuda) == "flex"
    assert attention_layout("flex_padded", cpu) == "flex_padded"
    model = small_model("model.attention=flash")
    x, c, ph, t, lens = inputs([5])
    with pytest.raises(ValueError, match="model.attention must be auto, sdpa, flex, flex_padded; got 'flash'"):
        model(x, c, ph, t, lens)
