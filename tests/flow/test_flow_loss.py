"""masked_mse / masked_l1 count exactly the masked, valid frames."""

import torch

from voiceflow.flow import masked_l1, masked_mse, padding_mask


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(3, 6, 4, generator=g)
    target = torch.randn(3, 6, 4, generator=g)
    mask = torch.zeros(3, 6, dtype=torch.bool)
    mask[0, 1:4] = True
    mask[1, 0] = True
    mask[2, 2:6] = True
    return pred, target, mask


def test_equals_hand_computation():
    pred, target, mask = _data()
    sq, ab, n = 0.0, 0.0, 0
    for b in range(3):
        for i in range(6):
            if mask[b, i]:
                for d in range(4):
                    diff = float(pred[b, i, d] - target[b, i, d])
                    sq, ab, n = sq + diff * diff, ab + abs(diff), n + 1
    loss = masked_mse(pred, target, mask)
    assert loss.dim() == 0
    assert abs(loss.item() - sq / n) < 1e-5
    assert abs(masked_l1(pred, target, mask).item() - ab / n) < 1e-5


def test_outside_frames_do_not_matter_inside_frames_do():
    pred, target, mask = _data()
    base = masked_mse(pred, target, mask)
    other = pred.clone()
    other[~mask] = torch.randn(int((~mask).sum()), 4) * 100
    other[0, 5] = float("nan")  # e.g. garbage on padding
    other[1, 3] = float("inf")
    other.requires_grad_(True)
    loss = masked_mse(other, target, mask)
    assert loss.item() == base.item()
    loss.backward()
    assert torch.isfinite(other.grad).all()
    assert (other.grad[~mask] == 0).all() and (other.grad[mask] != 0).any()
    inside = pred.clone()
    inside[2, 3, 1] += 1.0
    assert masked_mse(inside, target, mask).item() != base.item()
    assert masked_l1(inside, target, mask).item() != masked_l1(pred, target, mask).item()


def test_valid_excludes_padding():
    pred, target, _ = _data()
    lengths = torch.tensor([6, 2, 4])
    everything = torch.ones(3, 6, dtype=torch.bool)
    valid = padding_mask(lengths, 6)
    a = masked_mse(pred, target, everything, valid=valid)
    b = masked_mse(pred, target, valid)
    assert a.item() == b.item()
    diff = (pred - target)[valid]
    assert abs(a.item() - diff.pow(2).mean().item()) < 1e-6


def test_empty_mask_is_zero_and_keeps_graph():
    pred, target, mask = _data()
    pred.requires_grad_(True)
    loss = masked_mse(pred, target, torch.zeros_like(mask))
    assert loss.dim() == 0 and loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_low_precision_is_summed_in_float32():
    pred, target, mask = _data()
    loss = masked_mse(pred.bfloat16(), target.bfloat16(), mask)
    assert loss.dtype == torch.float32
    ref = masked_mse(pred.bfloat16().float(), target.bfloat16().float(), mask)
    assert abs(loss.item() - ref.item()) < 1e-6
