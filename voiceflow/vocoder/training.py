"""Train or fine-tune a vocos vocoder (Siuzdak, 2023) on a corpus's own audio, with accelerate.

One loop serves the CPU, one GPU and many GPUs (``accelerate launch``). The generator is a
``vocos.Vocos`` built from vocos's own modules: ``MelSpectrogramFeatures`` computing the
project's mel contract, ``VocosBackbone`` and ``ISTFTHead``. Discriminators and losses are
vocos's: ``MultiPeriodDiscriminator`` + ``MultiResolutionDiscriminator``, hinge
``DiscriminatorLoss`` / ``GeneratorLoss``, ``FeatureMatchingLoss`` and the mel L1
``MelSpecReconstructionLoss``. The objective, its weights and the optimiser settings are
those of vocos/experiment.py (see :mod:`voiceflow.vocoder.train_config`); this module holds
our own loop in place of its pytorch-lightning one.

One step (the order of experiment.py: discriminators, then generator)::

    y_hat = G(y)                                     the generator sees the mel of y
    L_D = D_mpd(y, y_hat) + mrd_coeff * D_mrd(...)   hinge, each averaged over its sub-discriminators
    L_G = adv_mpd + fm_mpd + mrd_coeff * (adv_mrd + fm_mrd) + mel_coeff * mel_L1(y_hat, y)

During the first ``optim.pretrain_mel_steps`` steps only ``mel_coeff * mel_L1`` trains the
generator. A loss or gradient norm that is not finite skips that network's update (counted,
logged). Mixed precision follows ``train.mixed_precision``; the mel front end, the ISTFT and
the mel loss always run in float32.

Outputs under ``train.exp_dir``: the resolved ``config.yaml``; ``checkpoints/step-*``
(generator, discriminators, both optimisers and schedulers, grad scaler, step, data position,
RNG states; atomic, the newest ``train.keep_checkpoints`` kept; a rerun resumes exactly);
TensorBoard logs in ``tb/``; and ``vocos/``, re-exported at every checkpoint in the layout of
``charactr/vocos-mel-24khz`` (``config.yaml`` + ``pytorch_model.bin``), which
``load_vocoder(exp_dir / "vocos")`` and ``voiceflow generate --vocoder`` read.

Shapes: B batch, S samples per segment, M mel bands, F = S // hop + 1 frames, D backbone dim.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import defaultdict
from pathlib import Path

import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from voiceflow.audio import LogMel
from voiceflow.config import save_config
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path
from voiceflow.train import checkpoint as ckpt
from voiceflow.vocoder.segments import SegmentBatchSampler, SegmentDataset, one_line_errors
from voiceflow.vocoder.train_config import VocoderTrainingConfig
from voiceflow.vocoder.vocos_backend import CONFIG_NAME, MEL_FEATURES, WEIGHTS_NAME

EXPORT_DIR = "vocos"


def vocos_hparams(cfg: VocoderTrainingConfig) -> dict:
    """The vocos ``config.yaml`` of the generator (the layout ``Vocos.from_hparams`` reads)."""
    mel, m = cfg.mel, cfg.model
    backbone = dict(input_channels=mel.n_mels, dim=m.dim, intermediate_dim=m.intermediate_dim,
                    num_layers=m.num_layers)
    if m.layer_scale_init_value > 0:
        backbone["layer_scale_init_value"] = m.layer_scale_init_value
    return {
        "feature_extractor": {"class_path": MEL_FEATURES, "init_args": dict(
            sample_rate=mel.sample_rate, n_fft=mel.n_fft, hop_length=mel.hop_length, n_mels=mel.n_mels,
            padding="center")},
        "backbone": {"class_path": "vocos.models.VocosBackbone", "init_args": backbone},
        "head": {"class_path": "vocos.heads.ISTFTHead", "init_args": dict(
            dim=m.dim, n_fft=m.head_n_fft or mel.n_fft, hop_length=mel.hop_length, padding="center")},
    }


def build_vocos(hparams: dict):
    """A freshly initialised ``vocos.Vocos`` from :func:`vocos_hparams` (current RNG state)."""
    from vocos import Vocos
    from vocos.feature_extractors import MelSpectrogramFeatures
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    return Vocos(MelSpectrogramFeatures(**hparams["feature_extractor"]["init_args"]),
                 VocosBackbone(**hparams["backbone"]["init_args"]), ISTFTHead(**hparams["head"]["init_args"]))


def export_vocos(model, hparams: dict, folder: str | Path) -> Path:
    """Write ``folder`` = config.yaml + pytorch_model.bin (float32 state_dict), atomically."""
    state = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    with atomic_path(folder, is_dir=True) as tmp:
        (tmp / CONFIG_NAME).write_text(yaml.safe_dump(hparams, sort_keys=False), encoding="utf-8")
        torch.save(state, tmp / WEIGHTS_NAME)
    return Path(folder)


def _sizes(model) -> dict:
    b, h = model.backbone, model.head
    return {"dim": b.embed.out_channels, "intermediate_dim": b.convnext[0].pwconv1.out_features,
            "num_layers": len(b.convnext), "head_n_fft": h.out.out_features - 2, "padding": h.istft.padding}


def load_init_weights(spec: str, cfg: VocoderTrainingConfig) -> dict:
    """The state_dict of the vocos at ``spec`` (folder or hub id), checked against the config."""
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    from voiceflow.vocoder import VocosVocoder, load_vocoder

    vocoder = load_vocoder(spec, cfg.mel, notice=None)  # checks that its mel features are ours
    if not isinstance(vocoder, VocosVocoder):
        raise VoiceflowError(f"init_from {spec}: not a vocos model (give a vocos folder or hub id)")
    model = vocoder.model
    if not isinstance(model.backbone, VocosBackbone) or not isinstance(model.head, ISTFTHead):
        raise VoiceflowError(f"init_from {spec}: only VocosBackbone + ISTFTHead models can be fine-tuned")
    have = _sizes(model)
    want = {"dim": cfg.model.dim, "intermediate_dim": cfg.model.intermediate_dim,
            "num_layers": cfg.model.num_layers, "head_n_fft": cfg.model.head_n_fft or cfg.mel.n_fft,
            "padding": "center"}
    diffs = [f"{k} {have[k]} vs {want[k]}" for k in want if have[k] != want[k]]
    if diffs:
        raise VoiceflowError(f"init_from {spec}: its sizes differ from the config's model section "
                             f"({'; '.join(diffs)}); set model.* to the pretrained sizes")
    return model.state_dict()


class Generator(nn.Module):
    """A ``vocos.Vocos`` as a waveform-to-waveform module: audio (B, S) -> audio (B, S).

    The mel front end and the ISTFT head run in float32 even under autocast; only the
    backbone (B, M, F) -> (B, F, D) follows the mixed-precision setting.
    """

    def __init__(self, vocos):
        super().__init__()
        self.vocos = vocos

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        kind = audio.device.type
        with torch.autocast(kind, enabled=False):
            mel = self.vocos.feature_extractor(audio.float())  # (B, M, F)
        x = self.vocos.backbone(mel)  # (B, F, D)
        with torch.autocast(kind, enabled=False):
            return self.vocos.head(x.float())  # (B, (F - 1) * hop) = (B, S)


class Discriminators(nn.Module):
    """vocos's MPD and MRD: forward(y, y_hat) -> {"mpd"|"mrd": (real scores, fake scores,
    real feature maps, fake feature maps)}, lists over sub-discriminators."""

    def __init__(self, periods: list, fft_sizes: list):
        super().__init__()
        from vocos.discriminators import MultiPeriodDiscriminator, MultiResolutionDiscriminator

        self.mpd = MultiPeriodDiscriminator(periods=tuple(int(p) for p in periods))
        self.mrd = MultiResolutionDiscriminator(fft_sizes=tuple(int(n) for n in fft_sizes))

    def forward(self, y: torch.Tensor, y_hat: torch.Tensor) -> dict:
        return {"mpd": self.mpd(y=y, y_hat=y_hat), "mrd": self.mrd(y=y, y_hat=y_hat)}


def cosine_factor(step: int, warmup: int, total: int) -> float:
    """Multiplier at 0-based ``step`` of ``transformers.get_cosine_schedule_with_warmup`` (half a
    cosine from 1 to 0 over ``total`` steps after a linear warm-up), the schedule of experiment.py."""
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


class VocoderTrainer:
    """The GAN loop; ``VocoderTrainer(cfg).fit()`` trains (or resumes) ``cfg.train.exp_dir``."""

    def __init__(self, cfg: VocoderTrainingConfig, accelerator: Accelerator | None = None):
        from vocos.loss import DiscriminatorLoss, FeatureMatchingLoss, GeneratorLoss, MelSpecReconstructionLoss

        self.cfg, self.exp_dir = cfg, Path(cfg.train.exp_dir)
        self.acc = accelerator or Accelerator(mixed_precision=cfg.train.mixed_precision,
                                              log_with="tensorboard", project_dir=str(self.exp_dir))
        self.device = self.acc.device
        d, mel = cfg.data, cfg.mel
        # datasets first: a missing or malformed manifest fails before anything is written
        self.train_set = SegmentDataset(d.train_manifest, mel.sample_rate, d.segment_samples, cfg.train.seed,
                                        peak_db=tuple(d.train_peak_db) if d.peak_normalise else None)
        self.sampler = SegmentBatchSampler(len(self.train_set), d.batch_size, cfg.train.seed,
                                           rank=self.acc.process_index, world=self.acc.num_processes)
        if not self.sampler.batches_for_epoch(0):
            raise VoiceflowError(f"{d.train_manifest}: {len(self.train_set)} utterance(s), fewer than "
                                 f"data.batch_size {d.batch_size} x {self.acc.num_processes} process(es)")
        self.valid_set = None
        if d.valid_manifest:
            level = d.valid_peak_db if d.peak_normalise else None
            self.valid_set = SegmentDataset(d.valid_manifest, mel.sample_rate, d.valid_segment_samples,
                                            cfg.train.seed, random_crop=False, limit=d.valid_items,
                                            peak_db=None if level is None else (level, level))
        self.hparams = vocos_hparams(cfg)
        resuming = ckpt.latest_checkpoint(self.exp_dir) is not None  # then init_from is not fetched
        init_state = load_init_weights(cfg.init_from, cfg) if cfg.init_from and not resuming else None

        set_seed(cfg.train.seed, device_specific=False)  # the same initial weights on every process
        vocos = build_vocos(self.hparams)
        if init_state is not None:
            vocos.load_state_dict(init_state)
        disc = Discriminators(cfg.model.mpd_periods, cfg.model.mrd_fft_sizes)
        set_seed(cfg.train.seed + self.acc.process_index, device_specific=False)
        o = cfg.optim
        opt_g = torch.optim.AdamW(vocos.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay)
        opt_d = torch.optim.AdamW(disc.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay)
        self.gen, self.disc, self.opt_g, self.opt_d = self.acc.prepare(Generator(vocos), disc, opt_g, opt_d)
        # a plain function, so that LambdaLR's state_dict holds no lambda state
        self.sched_g, self.sched_d = (torch.optim.lr_scheduler.LambdaLR(opt, lambda step: self._lr_factor(step))
                                      for opt in (opt_g, opt_d))

        self.loss_d, self.loss_adv, self.loss_fm = DiscriminatorLoss(), GeneratorLoss(), FeatureMatchingLoss()
        self.loss_mel = MelSpecReconstructionLoss(mel.sample_rate, mel.n_fft, mel.hop_length, mel.n_mels).to(self.device)
        self.log_mel = LogMel(mel).to(self.device)

        self.step, self.epoch, self.position, self.segments_seen = 0, 0, 0, 0
        self.skipped = {"generator": 0, "discriminator": 0}
        self.train_seconds, self._fit_start = 0.0, None
        if self.acc.is_main_process:
            save_config(cfg, self.exp_dir / "config.yaml")
        self.acc.wait_for_everyone()
        self._resume()

    def _lr_factor(self, step: int) -> float:
        o = self.cfg.optim
        return cosine_factor(step, o.warmup_steps, self.cfg.train.max_steps) if o.schedule == "cosine" else 1.0

    # ----------------------------------------------------------------------------- data
    def _loader(self, dataset: SegmentDataset, sampler) -> DataLoader:
        return DataLoader(dataset, batch_sampler=sampler, num_workers=self.cfg.data.num_workers,
                          pin_memory=self.device.type == "cuda", persistent_workers=False,
                          generator=torch.Generator().manual_seed(self.cfg.train.seed))

    def _batches(self):
        """Endless stream of (B, S) training batches; tracks (epoch, position) of consumed batches."""
        while True:
            self.sampler.set_epoch(self.epoch, self.position)
            for batch in one_line_errors(self._loader(self.train_set, self.sampler)):
                self.position += 1
                yield batch
            self.epoch, self.position = self.epoch + 1, 0

    # ----------------------------------------------------------------------------- checkpoints
    def _resume(self) -> None:
        found = ckpt.latest_checkpoint(self.exp_dir)
        if found is None:
            return
        state = ckpt.load_trainer_state(found)
        self.acc.unwrap_model(self.gen).load_state_dict(ckpt.load_file(found, "generator"))
        self.acc.unwrap_model(self.disc).load_state_dict(ckpt.load_file(found, "discriminators"))
        for stem, obj in (("opt_g", self.opt_g.optimizer), ("opt_d", self.opt_d.optimizer),
                          ("sched_g", self.sched_g), ("sched_d", self.sched_d)):
            obj.load_state_dict(ckpt.load_file(found, stem))
        if self.acc.scaler is not None and (found / "scaler.pt").is_file():
            self.acc.scaler.load_state_dict(ckpt.load_file(found, "scaler"))
        for key in ("step", "epoch", "position", "segments_seen"):
            setattr(self, key, int(state[key]))
        self.skipped = {k: int(v) for k, v in state["skipped"].items()}
        self.train_seconds = float(state.get("train_seconds", 0.0))
        ckpt.restore_rng(self.acc, found, state)
        note = f" (init_from {self.cfg.init_from} is ignored when resuming)" if self.cfg.init_from else ""
        self.acc.print(f"resumed from {found} at step {self.step}{note}")

    def save(self) -> Path:
        """Write a checkpoint (collective) and re-export ``<exp_dir>/vocos`` from it."""
        gen, disc = self.acc.unwrap_model(self.gen), self.acc.unwrap_model(self.disc)
        tensors = {"generator": {k: v.detach().float().cpu() for k, v in gen.state_dict().items()},
                   "discriminators": {k: v.detach().float().cpu() for k, v in disc.state_dict().items()},
                   "opt_g": self.opt_g.optimizer.state_dict(), "opt_d": self.opt_d.optimizer.state_dict(),
                   "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict()}
        if self.acc.scaler is not None:
            tensors["scaler"] = self.acc.scaler.state_dict()
        running = time.perf_counter() - self._fit_start if self._fit_start is not None else 0.0
        state = {"step": self.step, "epoch": self.epoch, "position": self.position,
                 "segments_seen": self.segments_seen, "skipped": dict(self.skipped),
                 "world": self.acc.num_processes, "train_seconds": round(self.train_seconds + running, 3)}
        path = ckpt.save_checkpoint(self.acc, self.exp_dir, self.step, tensors, state,
                                    self.cfg.train.keep_checkpoints)
        if self.acc.is_main_process:
            export_vocos(gen.vocos, self.hparams, self.exp_dir / EXPORT_DIR)
        self.acc.wait_for_everyone()
        return path

    # ----------------------------------------------------------------------------- loop
    def fit(self, stop_at: int | None = None) -> dict:
        """Train to ``train.max_steps``; with ``stop_at``, save and return at that step instead
        (as a preempted job would), leaving the schedule of the full run unchanged."""
        t = self.cfg.train
        last = min(t.max_steps, stop_at) if stop_at else t.max_steps
        self.acc.init_trackers("tb")
        stream = self._batches()
        bar = tqdm(total=t.max_steps, initial=self.step, disable=not self.acc.is_main_process,
                   desc="train-vocoder", dynamic_ncols=True)
        window: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # key -> [sum, count]
        segments, t0 = 0, time.perf_counter()
        self._fit_start, last_valid = t0, None
        try:  # the bar is closed also on an error, so the error starts its own line
            while self.step < last:
                audio = next(stream).to(self.device, non_blocking=True)  # (B, S)
                for key, value in self.train_step(audio).items():
                    if math.isfinite(value):
                        window[key][0] += value
                        window[key][1] += 1
                self.step += 1
                segments += audio.shape[0]
                self.segments_seen += audio.shape[0] * self.acc.num_processes
                bar.update(1)
                if self.step % t.log_every == 0 or self.step == last:
                    logs = self._log_window(window, segments, time.perf_counter() - t0)
                    bar.set_postfix(mel=f"{logs.get('train/mel_loss', float('nan')):.3f}")
                    window.clear()
                    segments, t0 = 0, time.perf_counter()
                if self.valid_set is not None and (self.step % t.valid_every == 0 or self.step == last):
                    last_valid = self.validate()
                if self.step % t.save_every == 0 or self.step == last:
                    self.save()
        finally:
            bar.close()
        self.train_seconds += time.perf_counter() - self._fit_start
        self._fit_start = None
        self.acc.end_training()
        return {"step": self.step, "skipped": dict(self.skipped), "valid": last_valid,
                "vocos": str(self.exp_dir / EXPORT_DIR)}

    def _update(self, name: str, optimizer, params, loss: torch.Tensor) -> float:
        """Backward ``loss``, clip, and step ``optimizer`` unless the loss or gradient norm is
        not finite (then the update is skipped and counted). Returns the gradient norm."""
        self.acc.backward(loss)
        self.acc.unscale_gradients(optimizer=optimizer)
        clip = self.cfg.optim.grad_clip
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))
        if self.acc.scaler is not None:  # fp16: the grad scaler skips inf/nan steps and adapts its scale
            optimizer.step()
            skipped = optimizer.step_was_skipped or not bool(torch.isfinite(loss))
        else:
            skipped = not bool(torch.isfinite(loss) & torch.isfinite(norm))
            if not skipped:
                optimizer.step()
        self.skipped[name] += int(skipped)
        optimizer.zero_grad(set_to_none=True)
        return float(norm)

    def _mel_l1(self, audio_hat: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device.type, enabled=False):
            return self.loss_mel(audio_hat.float(), audio.float())

    def train_step(self, audio: torch.Tensor) -> dict[str, float]:
        """One update of the discriminators (after ``pretrain_mel_steps``) and of the generator
        on real audio (B, S). Returns the step's losses, gradient norms and learning rate."""
        o, gen_params = self.cfg.optim, self.acc.unwrap_model(self.gen).parameters()
        gan = self.step >= o.pretrain_mel_steps
        self.gen.train()
        self.disc.train()
        stats: dict[str, float] = {"lr": self.sched_g.get_last_lr()[0]}
        with self.acc.autocast():
            audio_hat = self.gen(audio)  # (B, S)
        if audio_hat.shape != audio.shape:
            raise RuntimeError(f"generator returned {tuple(audio_hat.shape)} for input {tuple(audio.shape)}")
        if gan:
            with self.acc.autocast():
                parts = {}
                for name, (real, fake, _, _) in self.disc(audio, audio_hat.detach()).items():
                    loss, per_disc, _ = self.loss_d(disc_real_outputs=real, disc_generated_outputs=fake)
                    parts[name] = loss.sum() / len(per_disc)
                loss_d = parts["mpd"] + o.mrd_loss_coeff * parts["mrd"]
            stats["grad_norm_d"] = self._update("discriminator", self.opt_d, self.disc.parameters(), loss_d)
            stats.update(d_loss=loss_d.item(), d_mpd=parts["mpd"].item(), d_mrd=parts["mrd"].item())
        mel_coeff = o.mel_loss_coeff * (cosine_factor(self.step, o.warmup_steps, self.cfg.train.max_steps)
                                        if o.decay_mel_coeff else 1.0)
        mel_loss = self._mel_l1(audio_hat, audio)
        loss_g = mel_coeff * mel_loss
        if gan:
            with self.acc.autocast():
                for name, (_, fake, fmap_real, fmap_fake) in self.disc(audio, audio_hat).items():
                    adv, per_disc = self.loss_adv(disc_outputs=fake)
                    fm = self.loss_fm(fmap_r=fmap_real, fmap_g=fmap_fake) / len(fmap_real)
                    coeff = o.mrd_loss_coeff if name == "mrd" else 1.0
                    adv = adv.sum() / len(per_disc)
                    loss_g = loss_g + coeff * (adv + fm.sum())
                    stats.update({f"g_adv_{name}": adv.item(), f"g_fm_{name}": fm.item()})
        stats["grad_norm_g"] = self._update("generator", self.opt_g, gen_params, loss_g)
        self.opt_d.zero_grad(set_to_none=True)  # the generator's backward went through the discriminators
        self.sched_g.step()
        with warnings.catch_warnings():  # both schedules follow the step, also while D rests (mel-only steps)
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
            self.sched_d.step()
        stats.update(g_loss=loss_g.item(), mel_loss=mel_loss.item(), mel_coeff=mel_coeff)
        return stats

    def _log_window(self, window: dict, segments: int, elapsed: float) -> dict:
        keys = sorted(window)
        flat = [v for k in keys for v in window[k]] + [float(segments)]
        total = self.acc.reduce(torch.tensor(flat, dtype=torch.float64, device=self.device), reduction="sum").tolist()
        logs = {f"train/{k}": total[2 * i] / total[2 * i + 1] for i, k in enumerate(keys) if total[2 * i + 1]}
        seconds = max(elapsed, 1e-9)
        logs["train/segments_per_s"] = total[-1] / seconds
        logs["train/audio_seconds_per_s"] = total[-1] * self.cfg.data.segment_samples / self.cfg.mel.sample_rate / seconds
        logs.update({f"train/skipped_{k}": v for k, v in self.skipped.items()})
        self.acc.log(logs, step=self.step)
        return logs

    @torch.no_grad()
    def validate(self) -> dict:
        """Mean L1 between the log-mels (the mel contract) of vocoded and real validation audio."""
        gen = self.acc.unwrap_model(self.gen).eval()
        sampler = SegmentBatchSampler(len(self.valid_set), self.cfg.data.batch_size, self.cfg.train.seed,
                                      shuffle=False, rank=self.acc.process_index,
                                      world=self.acc.num_processes, drop_last=False)
        total, example = torch.zeros(2, dtype=torch.float64, device=self.device), None
        for batch in one_line_errors(self._loader(self.valid_set, sampler)):
            audio = batch.to(self.device)  # (B, S)
            with self.acc.autocast():
                audio_hat = gen(audio)
            l1 = (self.log_mel(audio_hat.float()) - self.log_mel(audio)).abs().mean(dim=(1, 2))  # (B,)
            total += torch.stack([l1.double().sum(), torch.tensor(float(len(l1)), device=self.device).double()])
            example = audio_hat[0] if example is None else example
        total = self.acc.reduce(total, reduction="sum")
        results = {"valid/mel_l1": (total[0] / total[1].clamp(min=1)).item()}
        self.acc.log(results, step=self.step)
        if self.acc.is_main_process and example is not None:
            writer = self.acc.get_tracker("tensorboard", unwrap=True)
            writer.add_audio("valid/vocoded", example.float().cpu().clamp(-1, 1), self.step,
                             sample_rate=self.cfg.mel.sample_rate)
        self.acc.print(f"step {self.step}: valid/mel_l1 {results['valid/mel_l1']:.4f}")
        return results
