"""The duration model and its objective: padding invariance, the phone mask, the loss mask,
and the dequantisation / decoding round trip."""

import pytest
import torch
from torch import nn

from voiceflow.config import DurationConfig, FlowConfig
from voiceflow.models.duration_model import DurationModel, decode_durations, encode_durations
from voiceflow.train.duration_objective import duration_loss, phone_span_mask

SMALL = dict(dim=32, depth=3, heads=2, ff_dim=64, phone_dim=16, conv_pos_kernel=7, conv_pos_groups=4)


def small_model(kind: str, seed: int = 0) -> DurationModel:
    torch.manual_seed(seed)
    model = DurationModel(DurationConfig(kind=kind, **SMALL), n_phones=12).eval()
    model.set_normalisation(1.8, 0.6)
    return model


@pytest.mark.parametrize("kind", ["regression", "flow"])
def test_padding_never_changes_an_items_output(kind):
    model = small_model(kind)
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([7, 4, 1])
    B, L = 3, 9  # padded beyond the longest item too
    phones = torch.randint(1, 12, (B, L), generator=g)
    ctx, flag = torch.randn(B, L, generator=g), (torch.rand(B, L, generator=g) < 0.5).float()
    x_t, t = torch.randn(B, L, generator=g), torch.rand(B, generator=g)
    extra = dict(x_t=x_t, t=t) if kind == "flow" else {}
    with torch.no_grad():
        out = model(phones, ctx, flag, lengths, **extra)
        garbage = torch.randn(B, L, generator=g) * 100  # anything on padding
        pad = torch.arange(L) >= lengths[:, None]
        out2 = model(torch.where(pad, 5, phones), torch.where(pad, garbage, ctx), torch.where(pad, 1.0, flag),
                     lengths, **({**extra, "x_t": torch.where(pad, garbage, x_t)} if extra else {}))
        assert out.shape == (B, L)
        assert torch.equal(out[pad], torch.zeros_like(out[pad]))
        assert torch.allclose(out, out2, atol=1e-5)
        for b, n in enumerate(lengths.tolist()):  # each item alone, unpadded
            one = {k: (v[b:b + 1, :n] if k == "x_t" else v[b:b + 1]) for k, v in extra.items()}
            alone = model(phones[b:b + 1, :n], ctx[b:b + 1, :n], flag[b:b + 1, :n], None, **one)
            assert torch.allclose(alone[0], out[b, :n], atol=1e-5), b


@pytest.mark.parametrize("layout", ["flex", "flex_padded"])
def test_flex_layouts_equal_the_exact_path(layout):
    """The GPU attention layouts computed on the CPU (forward; FlexAttention has no CPU backward)."""
    exact = small_model("flow")
    torch.manual_seed(0)
    fast = DurationModel(DurationConfig(kind="flow", attention=layout, **SMALL), n_phones=12).eval()
    fast.load_state_dict(exact.state_dict())
    fast.set_normalisation(1.8, 0.6)
    g = torch.Generator().manual_seed(2)
    lengths = torch.tensor([40, 129, 3])
    B, L = 3, 129
    phones = torch.randint(1, 12, (B, L), generator=g)
    ctx, flag = torch.randn(B, L, generator=g), (torch.rand(B, L, generator=g) < 0.5).float()
    args = dict(x_t=torch.randn(B, L, generator=g), t=torch.rand(B, generator=g))
    with torch.no_grad():
        torch.testing.assert_close(fast(phones, ctx, flag, lengths, **args), exact(phones, ctx, flag, lengths, **args),
                                   rtol=1e-4, atol=1e-5)


def test_dequantisation_round_trip_and_rate():
    d = torch.arange(0, 300).repeat(20)
    u = torch.rand(d.shape, generator=torch.Generator().manual_seed(0))
    assert torch.equal(decode_durations(encode_durations(d, u)), d)  # any dequantisation noise
    assert torch.equal(decode_durations(encode_durations(d)), d)  # the context encoding (u = 0.5)
    half = decode_durations(encode_durations(d), rate=2.0)
    assert ((half - d / 2).abs() <= 0.5).all()  # rounded after dividing (ties may go either way)
    assert torch.equal(half[d % 2 == 0], d[d % 2 == 0] // 2)
    assert decode_durations(torch.tensor([-5.0, 0.0])).tolist() == [0, 0]  # clamped at 0


def test_phone_span_mask():
    lengths = torch.tensor([1, 5, 30, 12])
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        m = phone_span_mask(lengths, 30, 0.2, 0.1, 1.0, generator=g)
        assert not (m & (torch.arange(30) >= lengths[:, None])).any()  # never padding
        assert (m.sum(1) >= 1).all()  # never empty
        for row in m:  # one contiguous span
            idx = torch.nonzero(row).squeeze(1)
            assert idx[-1] - idx[0] + 1 == len(idx)
    full = phone_span_mask(lengths, 30, 1.0, 0.1, 1.0)
    assert torch.equal(full, torch.arange(30) < lengths[:, None])


class ConstantModel(nn.Module):
    """Ignores its inputs: isolates the loss's mask from the model's use of the context."""

    def __init__(self):
        super().__init__()
        self.register_buffer("log_mean", torch.tensor(1.5))
        self.register_buffer("log_std", torch.tensor(0.7))
        self.bias = nn.Parameter(torch.tensor(0.3))

    def normalise(self, x):
        return (x - self.log_mean) / self.log_std

    def forward(self, phones, ctx, flag, lengths=None, x_t=None, t=None, pack=None):
        return torch.zeros(phones.shape) + self.bias


@pytest.mark.parametrize("kind", ["regression", "flow"])
def test_loss_counts_masked_non_padded_phones_only(kind):
    dcfg = DurationConfig(kind=kind, p_full_mask=0.0, span_min=0.3, span_max=0.5, p_uncond=0.0)
    lengths = torch.tensor([10, 6])
    durations = torch.randint(0, 20, (2, 12), generator=torch.Generator().manual_seed(3))
    durations[torch.arange(12) >= lengths[:, None]] = 0
    batch = {"phones": torch.ones(2, 12, dtype=torch.long), "durations": durations, "lengths": lengths}
    model = ConstantModel()

    def loss(durs):
        cpu, dev = torch.Generator().manual_seed(7), torch.Generator().manual_seed(8)
        value, stats = duration_loss(model, {**batch, "durations": durs}, dcfg, FlowConfig(), torch.device("cpu"),
                                     cpu, dev)
        assert stats["frames"] == 16
        return value

    mask = phone_span_mask(lengths, 12, 0.0, 0.3, 0.5, generator=torch.Generator().manual_seed(7))
    base = loss(durations)
    masked, unmasked = torch.nonzero(mask[0]).squeeze(1), torch.nonzero(~mask[0, :10]).squeeze(1)
    assert len(masked) and len(unmasked)
    for i, expect_change in ((unmasked[0], False), (masked[0], True), (11, False)):  # 11: padding
        changed = durations.clone()
        changed[0, i] += 17
        assert (loss(changed) != base) == expect_change, int(i)
