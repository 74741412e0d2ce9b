"""Couplings of noise and data: which noise sample each utterance is trained against.

``independent`` (the default, and Voicebox's): each utterance keeps its own fresh noise.

``ot``: minibatch optimal-transport pairing (Tong et al., 2024, "Improving and generalizing
flow-based generative models with minibatch optimal transport", sec. 3.3; Pooladian et al.,
2023). Within a batch the B noise samples are permuted among the B utterances so that the
total squared distance between paired noise and data is the smallest possible; the
assignment problem is solved exactly (``scipy.optimize.linear_sum_assignment``). Straighter
conditional paths are easier to integrate with few steps.

The distance counts only the frames the loss sees: the masked, non-padded frames of the
utterance, ``C[i, j] = sum_{f in mask_i} ||x1_i[f] - x0_j[f]||^2``. Only the noise moves, so
each utterance keeps its own context, phones and mask; the data marginal is untouched, and
the noise marginal is too (the same B draws, reordered).

One assignment per batch costs a (B, B) cost matrix on the device and one copy of it to the
host (a synchronisation; B is small, the solver takes microseconds).

Shapes:
    x0, x1  (B, T, D) noise and data     mask  (B, T) bool, frames the loss counts
    result  (B,) long permutation ``perm``: utterance i is paired with noise ``x0[perm[i]]``
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["COUPLINGS", "couple", "ot_pairing", "pairing_cost"]

COUPLINGS = ("independent", "ot")


def pairing_cost(x0: Tensor, x1: Tensor, mask: Tensor) -> Tensor:
    """(B, B) squared distances ``C[i, j]`` between data i and noise j over i's masked frames."""
    if x0.shape != x1.shape or mask.shape != x1.shape[:2]:
        raise ValueError(f"shapes differ: x0 {tuple(x0.shape)}, x1 {tuple(x1.shape)}, mask {tuple(mask.shape)}")
    m = mask.to(x1.dtype)  # (B, T)
    x0, x1 = x0.to(x1.dtype), x1
    data_sq = (m * x1.pow(2).sum(-1)).sum(-1)  # (B,)
    cross = torch.einsum("ifd,jfd->ij", x1 * m[..., None], x0)  # (B, B)
    noise_sq = m @ x0.pow(2).sum(-1).T  # (B, B): sum over i's masked frames of |x0_j|^2
    return data_sq[:, None] - 2 * cross + noise_sq


def ot_pairing(x0: Tensor, x1: Tensor, mask: Tensor) -> Tensor:
    """The permutation of the noise that minimises the total masked squared distance."""
    from scipy.optimize import linear_sum_assignment

    cost = pairing_cost(x0.float(), x1.float(), mask).double().cpu().numpy()
    rows, cols = linear_sum_assignment(cost)
    perm = torch.empty(len(rows), dtype=torch.long)
    perm[torch.as_tensor(rows)] = torch.as_tensor(cols)
    return perm.to(x0.device)


def couple(x0: Tensor, x1: Tensor, mask: Tensor, kind: str = "independent") -> Tensor:
    """The noise paired with each utterance of ``x1``: ``x0`` itself, or reordered by OT."""
    if kind == "independent":
        return x0
    if kind == "ot":
        return x0[ot_pairing(x0, x1, mask)]
    raise ValueError(f"unknown coupling {kind!r}; known couplings: {', '.join(COUPLINGS)}")
