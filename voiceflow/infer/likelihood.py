"""Masked-region negative log-likelihood of the audio model, one number per utterance.

Each item's masked frames (its span) are the variables of a continuous normalising flow: the
model's velocity, conditioned on the context (the normalised mel with the span zeroed) and
the frame-level phones, moves them, and :func:`voiceflow.flow.likelihood.log_likelihood`
integrates it backwards from the recording (t = 1) to noise (t = 0) while accumulating the
divergence. The frames outside the span are not variables: at every time they sit on their
training path, ``path.sample(x0, x1, t, eps)`` of ``make_path(cfg.flow)``, with ``x0`` the
item's sampling noise (``item_noise(seed, id)``) and ``eps`` a second fixed draw (read by the
``icfm`` path only), which is what the model saw there in training. The number is therefore
``-log p(span | context, phones, the outside frames' path)`` of this masked-region CNF, with
base ``N(0, I)`` (the sampler's starting noise) over the span's dims.

Values are in the model's own space, the log-mel normalised by the global statistics
(docs/DESIGN.md, the mel contract): in raw log-mel units each dim would add ``log(std)`` nats.
For the ``icfm`` path the flow's t = 1 marginal is the data blurred by ``N(0, sigma^2)``
(``flow.icfm_sigma``), so its NLL is that of a smoothed density and is not comparable with
the ``ot`` path's (blurred by ``sigma_min`` only).

Every random draw (path noise, probes) depends only on (seed, item id), and the model is
padding-invariant, so the numbers do not depend on how items are batched. Per item row:
id, speaker, span (s), masked_frames, dims (= masked_frames * n_mels), nll_nats_per_dim,
nll_bits_per_frame and their standard errors over the probes (0 for ``exact``; null for a
single Hutchinson probe, whose error cannot be measured), and the
estimator, probes, probe, steps, solver, guidance and seed.
"""

from __future__ import annotations

import math

import torch

from voiceflow.errors import VoiceflowError
from voiceflow.flow import make_path
from voiceflow.flow.likelihood import log_likelihood
from voiceflow.infer.loading import LoadedModel
from voiceflow.infer.sampler import frame_budget_batches, model_field
from voiceflow.infer.synthesizer import InfillItem, item_noise


def _batch_rows(loaded: LoadedModel, items: list[InfillItem], steps: int, method: str, estimator: str,
                probes: int, probe: str, seed: int, guidance: float) -> list[dict]:
    device = next(loaded.model.parameters()).device
    B, M = len(items), items[0].mel.shape[1]
    lengths = [it.mel.shape[0] for it in items]
    T = max(lengths)
    K = probes if estimator == "hutchinson" else 0
    x1, x0, eps = torch.zeros(B, T, M), torch.zeros(B, T, M), torch.zeros(B, T, M)
    phones, mask = torch.zeros(B, T, dtype=torch.long), torch.zeros(B, T, dtype=torch.bool)
    probe_noise = torch.zeros(K, B, T, M)
    for b, it in enumerate(items):
        n = lengths[b]
        x1[b, :n], phones[b, :n], mask[b, :n] = it.mel, it.phones, it.mask
        x0[b, :n] = item_noise(seed, it.id, (n, M))
        eps[b, :n] = item_noise(seed, it.id + "/path", (n, M))
        probe_noise[:, b, :n] = item_noise(seed, it.id + "/probes", (K, n, M))
    x1, x0, eps, phones, mask = (a.to(device) for a in (x1, x0, eps, phones, mask))
    path = make_path(loaded.cfg.flow)
    field = model_field(loaded.model, x1 * (~mask)[..., None], phones, lengths, guidance)
    result = log_likelihood(field, x1, mask, lambda t: path.sample(x0, x1, t, eps)[0], steps, method, estimator,
                            probe=probe, probe_noise=probe_noise.to(device) if K else None)
    nll, nll_se = (-result.mean).cpu().tolist(), result.stderr.cpu().tolist()
    measured = not (estimator == "hutchinson" and K < 2)  # one probe: its error exists but cannot be measured
    rows = []
    for b, it in enumerate(items):
        frames, dims = int(it.mask.sum()), int(result.dims[b])
        per_frame = 1 / (frames * math.log(2))
        rows.append({
            "id": it.id, "speaker": it.meta.get("speaker", ""), "span": it.meta.get("span"),
            "masked_frames": frames, "dims": dims,
            "nll_nats_per_dim": nll[b] / dims, "nll_nats_per_dim_se": nll_se[b] / dims if measured else None,
            "nll_bits_per_frame": nll[b] * per_frame,
            "nll_bits_per_frame_se": nll_se[b] * per_frame if measured else None,
            "estimator": estimator, "probes": K or None, "probe": probe if K else None, "steps": steps,
            "solver": method, "guidance": guidance, "seed": seed,
        })
    return rows


def masked_likelihood(loaded: LoadedModel, items: list[InfillItem], steps: int = 32, method: str = "midpoint",
                      estimator: str = "hutchinson", probes: int = 4, probe: str = "rademacher", seed: int = 0,
                      max_frames: int = 20000, guidance: float = 0.0) -> list[dict]:
    """One row per item (in item order) with its masked-region NLL; see the module docstring.

    Items are batched by ``max_frames`` (padded frames per batch); ``guidance`` evaluates the
    classifier-free guided field instead of the conditional one.
    """
    for it in items:
        if not it.mask.any():
            raise VoiceflowError(f"{it.id}: the masked span is empty")
    rows: list[dict | None] = [None] * len(items)
    for batch in frame_budget_batches([it.mel.shape[0] for it in items], max_frames):
        out = _batch_rows(loaded, [items[i] for i in batch], steps, method, estimator, probes, probe, seed, guidance)
        for i, row in zip(batch, out):
            rows[i] = row
    return rows
