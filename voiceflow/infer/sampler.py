"""Sampling the audio model: integrate the velocity from noise (t=0) to mel (t=1).

The context (normalised mel with the frames to generate zeroed) and the frame-level phones
condition every step; classifier-free guidance evaluates the conditional and unconditional
halves in one batched forward (``voiceflow.flow.guided_field``). The packed layout is built
once per batch and reused by every step. On CUDA the whole integration (all NFE steps) can
be captured in one CUDA graph and replayed, which removes the launch overhead that
dominates small batches::

    sampler = InfillSampler(model, cuda_graph=True)
    x1 = sampler.sample(x_ctx, phones, lengths, x0, nfe=32, method="euler", guidance=0.7)
    x1 = sampler.sample(x_ctx, phones, lengths, x0, nfe=16, method="stochastic_euler",
                        noise_scale=0.5, noise=noise, schedule="sway", sway=-1.0)

Every solver of :mod:`voiceflow.flow.solvers` works, with any time schedule and with
guidance. ``stochastic_euler`` takes its per-step noise ``(steps, B, T, M)`` pre-drawn (so
that it depends on each item alone, not on batching; the synthesizer draws it per item).

Shape legend: B items, T padded frames, M mel bins. ``x0`` is the initial noise (B, T, M);
the result (B, T, M) is in the normalised mel space, with frames outside the mask *not*
replaced by the context (see :func:`compose`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from voiceflow.flow import guided_field, odeint, time_grid
from voiceflow.models import VoiceboxAudioModel


def compose(generated: Tensor, context: Tensor, mask: Tensor) -> Tensor:
    """Generated frames where ``mask`` (B, T) is True, the original context elsewhere."""
    return torch.where(mask[..., None], generated, context)


def model_field(model: VoiceboxAudioModel, x_ctx: Tensor, phones: Tensor, lengths: list[int], guidance: float):
    """The ODE field ``f(t, x) -> v`` (B, T, M) of the model given the conditions, guided when
    ``guidance != 0`` (both halves in one forward); the packed layouts are built once here."""
    dtype = next(model.parameters()).dtype
    B, T, _ = x_ctx.shape
    packs = {B: model.make_pack(lengths, T)}
    if guidance != 0:
        packs[2 * B] = model.make_pack(lengths + lengths, T)

    def velocity(x: Tensor, t: Tensor, x_ctx: Tensor, phones: Tensor) -> Tensor:
        return model(x.to(dtype), x_ctx, phones, t, pack=packs[x.shape[0]]).float()

    cond = {"x_ctx": x_ctx.to(dtype), "phones": phones}
    uncond = {"x_ctx": torch.zeros_like(cond["x_ctx"]), "phones": torch.zeros_like(phones)}
    return guided_field(velocity, cond, uncond, guidance)


def frame_budget_batches(lengths: list[int], max_frames: int) -> list[list[int]]:
    """Indices grouped, shortest first, so that a batch padded to its longest item has at
    most ``max_frames`` frames (an item longer than the budget goes alone)."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        if batches and (len(batches[-1]) + 1) * lengths[i] <= max_frames:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class InfillSampler:
    def __init__(self, model: VoiceboxAudioModel, cuda_graph: bool = False):
        self.model = model
        self.dtype = next(model.parameters()).dtype
        self.cuda_graph = cuda_graph
        self._graphs: dict[tuple, tuple] = {}

    def _field(self, x_ctx: Tensor, phones: Tensor, lengths: list[int], guidance: float):
        return model_field(self.model, x_ctx, phones, lengths, guidance)

    @torch.inference_mode()
    def sample(self, x_ctx: Tensor, phones: Tensor, lengths: Tensor | list[int], x0: Tensor,
               nfe: int = 32, method: str = "euler", guidance: float = 0.0, *, schedule: str = "uniform",
               sway: float = -1.0, noise_scale: float = 0.0, noise: Tensor | None = None) -> Tensor:
        lengths = [int(n) for n in (lengths.tolist() if isinstance(lengths, Tensor) else lengths)]
        device = next(self.model.parameters()).device
        x_ctx, phones, x0 = x_ctx.to(device), phones.to(device), x0.to(device, torch.float32)
        grid = time_grid(nfe, method, device=device, schedule=schedule, sway_coef=sway)
        stochastic = method == "stochastic_euler" and noise_scale != 0
        if stochastic and noise is None:
            raise ValueError("stochastic_euler with noise_scale > 0 needs its per-step noise")
        noise = noise.to(device, torch.float32) if stochastic else None
        if not (self.cuda_graph and device.type == "cuda"):
            field = self._field(x_ctx, phones, lengths, guidance)
            return odeint(field, x0, grid, method, final_only=True, noise_scale=noise_scale, noise=noise)
        return self._graphed(x_ctx, phones, lengths, x0, grid, method, guidance, noise_scale, noise)

    def _graphed(self, x_ctx, phones, lengths, x0, grid, method, guidance, noise_scale, noise) -> Tensor:
        """Capture the whole integration once per (lengths, T, NFE, method, guidance); replay.

        Everything the captured kernels read (inputs, time grid, packed-layout indices, the
        unconditional inputs) is kept alive in the cache entry: a replay reads those exact
        addresses, so a freed and reused buffer would feed it garbage.
        """
        key = (tuple(lengths), x0.shape, tuple(grid.tolist()), method, float(guidance), float(noise_scale))
        if key not in self._graphs:
            static = {"x_ctx": x_ctx.to(self.dtype).clone(), "phones": phones.clone(), "x0": x0.clone(),
                      "grid": grid.clone(), "noise": None if noise is None else noise.clone()}
            static["field"] = self._field(static["x_ctx"], static["phones"], lengths, guidance)
            run = lambda: odeint(static["field"], static["x0"], static["grid"], method, final_only=True,  # noqa
                                 noise_scale=noise_scale, noise=static["noise"])
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):  # warm-up (compilation, autotuning) outside the capture
                for _ in range(2):
                    run()
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static["out"] = run()
            self._graphs[key] = (graph, static)
        graph, static = self._graphs[key]
        static["x_ctx"].copy_(x_ctx)
        static["phones"].copy_(phones)
        static["x0"].copy_(x0)
        if noise is not None:
            static["noise"].copy_(noise)
        graph.replay()
        return static["out"].clone()
