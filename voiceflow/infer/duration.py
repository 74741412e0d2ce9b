"""Predict per-phone frame durations with a trained duration model.

``path`` is a duration experiment directory (its newest checkpoint) or one checkpoint
directory; the experiment holds ``config.yaml`` (``task: duration``) and ``phones.txt``::

    predictor = DurationPredictor.load("exp/duration", device="cpu")      # EMA weights
    phones = ["sil", "hh_B", "ah_I", "l_I", "ow_E", "sil"]
    frames = predictor.predict(phones, [12, None, None, None, None, 20])  # known ones kept
    faster = predictor.predict(phones, [None] * 6, rate=1.25)             # 25 % faster

Known context durations are returned unchanged; predicted ones are decoded from the
model's log(1 + d) (see :func:`voiceflow.models.duration_model.decode_durations`), divided
by ``rate`` before rounding. The regression model is deterministic; the flow model draws
its noise from ``seed`` (per call, so a call is reproducible; in a batch the draw covers the
whole batch) and integrates with ``duration.solver`` / ``nfe``, optionally with
classifier-free guidance ``(1 + a) v_cond - a v_uncond``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from voiceflow.config import Config, load_config
from voiceflow.errors import VoiceflowError
from voiceflow.flow import guided_field, odeint, padding_mask, time_grid
from voiceflow.infer.loading import experiment_dir_of, pack_for_inference
from voiceflow.models.duration_model import DurationModel, decode_durations
from voiceflow.text import PhoneInventory
from voiceflow.train.checkpoint import load_file, load_trainer_state, resolve_checkpoint
from voiceflow.train.duration_objective import duration_inputs

Item = tuple[list[str], list["int | None"]]


class DurationPredictor:
    def __init__(self, model: DurationModel, cfg: Config, inventory: PhoneInventory, checkpoint: Path | None = None,
                 step: int = -1, weights: str = "ema"):
        self.model, self.cfg, self.inventory = model.eval().requires_grad_(False), cfg, inventory
        self.checkpoint, self.step, self.weights = checkpoint, step, weights

    @property
    def device(self) -> torch.device:
        return self.model.log_mean.device

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu", weights: str = "ema") -> "DurationPredictor":
        """``weights``: "ema" (default) or "model" (the live weights)."""
        if weights not in ("ema", "model"):
            raise ValueError(f"weights must be ema or model, got {weights!r}")
        ckpt = resolve_checkpoint(path)
        exp = experiment_dir_of(ckpt)
        cfg = load_config(exp / "config.yaml")
        if cfg.task != "duration":
            raise VoiceflowError(f"{exp / 'config.yaml'}: not a duration model (task: {cfg.task})")
        inventory = PhoneInventory.load(exp / "phones.txt")
        model = DurationModel(cfg.duration, len(inventory))
        try:
            model.load_state_dict(load_file(ckpt, "model"))
            if weights == "ema":
                model.load_state_dict(load_file(ckpt, "ema")["params"], strict=False)
        except RuntimeError as e:
            raise VoiceflowError(f"{ckpt}: weights do not match {exp / 'config.yaml'} "
                                 f"({str(e).splitlines()[0]})") from None
        step = int(load_trainer_state(ckpt)["step"]) if (ckpt / "trainer.json").is_file() else -1
        pack_for_inference(model)
        return cls(model.to(device), cfg, inventory, ckpt, step, weights)

    # ------------------------------------------------------------------ prediction
    def predict(self, phones: list[str], context: list[int | None], rate: float = 1.0, seed: int = 0,
                nfe: int | None = None, guidance: float = 0.0) -> list[int]:
        """Integer frame durations of one utterance's tagged phones (see the module docstring)."""
        return self.predict_batch([(phones, context)], rate, seed, nfe, guidance)[0]

    @torch.no_grad()
    def predict_batch(self, items: list[Item], rate: float = 1.0, seed: int = 0, nfe: int | None = None,
                      guidance: float = 0.0) -> list[list[int]]:
        """:meth:`predict` for several utterances in one padded batch."""
        if not rate > 0:
            raise VoiceflowError(f"rate must be > 0, got {rate}")
        if not items:
            return []
        ids, known, durs, lengths = self._batch(items)  # (B, L) x3, (B,)
        valid = padding_mask(lengths, ids.shape[1])
        mask = valid & ~known
        if not bool(mask.any()):
            return [[int(c) for c in ctx] for _, ctx in items]
        ctx, flag = duration_inputs(self.model, durs, mask, valid)
        if self.model.kind == "regression":
            z = self.model(ids, ctx, flag, lengths)
        else:
            z = self._sample(ids, ctx, flag, lengths, seed, nfe, guidance)
        pred = decode_durations(self.model.denormalise(z), rate)
        out = torch.where(known, durs, pred).cpu()
        return [out[b, :n].tolist() for b, n in enumerate(lengths.tolist())]

    def _batch(self, items: list[Item]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        B, L = len(items), max(len(p) for p, _ in items)
        if L == 0:
            raise VoiceflowError("duration prediction: an utterance has no phones")
        ids = torch.zeros(B, L, dtype=torch.long)
        known = torch.zeros(B, L, dtype=torch.bool)
        durs = torch.zeros(B, L, dtype=torch.long)
        for b, (phones, context) in enumerate(items):
            if len(phones) != len(context):
                raise VoiceflowError(f"duration prediction: {len(phones)} phones but {len(context)} context entries")
            if not phones:
                raise VoiceflowError("duration prediction: an utterance has no phones")
            ids[b, :len(phones)] = torch.tensor(self.inventory.ids(phones))
            for i, c in enumerate(context):
                if c is not None:
                    if int(c) < 0:
                        raise VoiceflowError(f"duration prediction: negative context duration {c} at phone {i}")
                    known[b, i], durs[b, i] = True, int(c)
        lengths = torch.tensor([len(p) for p, _ in items], dtype=torch.long)
        dev = self.device
        return ids.to(dev), known.to(dev), durs.to(dev), lengths.to(dev)

    def _sample(self, ids, ctx, flag, lengths, seed: int, nfe: int | None, guidance: float) -> torch.Tensor:
        """Integrate the flow model from noise (t = 0) to normalised log-durations (t = 1): (B, L)."""
        dcfg = self.cfg.duration
        B, L = ids.shape
        packs = {}

        def velocity(x, t, phones, ctx, flag):
            n = x.shape[0]
            if n not in packs:
                packs[n] = self.model.make_pack(lengths.repeat(n // B), L)
            return self.model(phones, ctx, flag, x_t=x, t=t, pack=packs[n])

        cond = dict(phones=ids, ctx=ctx, flag=flag)
        # the training dropout: no phones, no context, every phone to predict
        uncond = dict(phones=torch.zeros_like(ids), ctx=torch.zeros_like(ctx), flag=torch.ones_like(flag))
        field = guided_field(velocity, cond, uncond, guidance)
        gen = torch.Generator(device=self.device).manual_seed(seed)
        x0 = torch.randn(B, L, generator=gen, device=self.device)
        grid = time_grid(nfe or dcfg.nfe, dcfg.solver, device=self.device)
        return odeint(field, x0, grid, dcfg.solver, final_only=True, generator=gen)
