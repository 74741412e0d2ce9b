"""The training loop: one HuggingFace accelerate loop for the CPU, one GPU, many GPUs and nodes.

Everything that defines a run is in the :class:`~voiceflow.config.Config`; the loop adds
nothing implicit. Per optimizer step: ``grad_accum`` micro-batches (frame-budget batches,
gradient sync only on the last), gradient clipping (Voicebox: 0.2), a skip of the update
when the loss or the gradient norm is not finite (counted, never averaged in), Adam with
warm-up and linear decay, and an EMA update. Logs go to TensorBoard under
``<exp_dir>/tb``: loss, gradient norm, learning rate, real frames/s, skipped steps, and a
periodic validation loss with fixed noise and masks. Checkpoints (see
:mod:`voiceflow.train.checkpoint`) hold the full state; a restarted run resumes from the
newest one and continues exactly where it stopped.

``cfg.task`` picks what the loop trains: "audio" (the audio model on log-mel features,
:func:`~voiceflow.train.objective.flow_matching_loss`) or "duration" (the duration model on
per-phone durations, :func:`~voiceflow.train.duration_objective.duration_loss`, batched by
a phone budget ``duration.max_phones``; "frames" in logs and stats then counts phones).
For either model, ``data.train_manifest`` / ``data.valid_manifest`` may name a shard set
directory (``voiceflow shards``): it is streamed by :class:`~voiceflow.data.shard_sampler.ShardBatchSampler`
(the duration model reads only its phone runs, :class:`~voiceflow.data.shard_durations.ShardDurationDataset`).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from voiceflow.audio.stats import MelStats
from voiceflow.config import Config, save_config
from voiceflow.data.batching import FrameBudgetBatchSampler
from voiceflow.data.dataset import FeatureDataset, collate
from voiceflow.data.durations import DurationDataset, collate_durations
from voiceflow.data.shard_durations import ShardDurationDataset
from voiceflow.data.shard_sampler import ShardBatchSampler
from voiceflow.data.shards import ShardDataset, is_shard_set
from voiceflow.errors import VoiceflowError
from voiceflow.models import VoiceboxAudioModel
from voiceflow.models.duration_model import DurationModel
from voiceflow.text import PhoneInventory
from voiceflow.train import checkpoint as ckpt
from voiceflow.train.duration_objective import duration_loss
from voiceflow.train.ema import EMA
from voiceflow.train.objective import flow_matching_loss
from voiceflow.train.schedule import make_scheduler


class Trainer:
    def __init__(self, cfg: Config, accelerator: Accelerator | None = None):
        self.cfg = cfg
        self.exp_dir = Path(cfg.train.exp_dir)
        if self.exp_dir.exists() and not self.exp_dir.is_dir():
            raise VoiceflowError(f"train.exp_dir {self.exp_dir}: exists and is not a directory")
        if cfg.train.mixed_precision not in ("no", "bf16", "fp16"):
            raise VoiceflowError(f"train.mixed_precision must be no, bf16 or fp16, got {cfg.train.mixed_precision!r}")
        self.acc = accelerator or Accelerator(mixed_precision=cfg.train.mixed_precision,
                                              log_with="tensorboard", project_dir=str(self.exp_dir))
        self.device = self.acc.device
        set_seed(cfg.train.seed + self.acc.process_index, device_specific=False)

        self.task = cfg.task
        needed = ("phones", "train_manifest") + (("stats",) if self.task == "audio" else ())
        unset = [f"data.{name}" for name in needed if not getattr(cfg.data, name)]
        if unset:
            raise VoiceflowError(f"{', '.join(unset)} not set (give them in the config or as key=value)")
        self.inventory = PhoneInventory.load(cfg.data.phones)
        self.stats = MelStats.load(cfg.data.stats) if self.task == "audio" else None  # durations need none
        cfg.model.n_phones = len(self.inventory)

        self.train_set = self._dataset(cfg.data.train_manifest)
        self.valid_set = self._dataset(cfg.data.valid_manifest) if cfg.data.valid_manifest else None
        self.loss_fn = make_loss_fn(cfg)
        model = build_model(cfg, len(self.inventory), self.train_set).to(self.device)
        self.ema = EMA(model, cfg.train.ema_decay, cfg.train.ema_warmup)  # float32 copy, on the device
        if cfg.model.compile and self.device.type == "cuda":
            model.compile_blocks()
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, betas=tuple(cfg.train.betas),
                                      weight_decay=cfg.train.weight_decay, fused=self.device.type == "cuda")
        self.model, self.optimizer = self.acc.prepare(model, optimizer)
        self.scheduler = make_scheduler(optimizer, cfg.train.warmup_steps, cfg.train.max_steps,
                                        cfg.train.final_lr_ratio)

        self.sampler = self._sampler(self.train_set, shuffle=True)
        self.step, self.epoch, self.position, self.skipped, self.frames_seen = 0, 0, 0, 0, 0
        self.train_seconds = 0.0  # wall time inside fit(), summed over resumed runs
        self._fit_start: float | None = None
        self._skipped_pending = torch.zeros((), dtype=torch.int64, device=self.device)
        self._resume()
        # only now: a run that fails to start (a bad manifest, a checkpoint of another config)
        # leaves the experiment directory as it was
        self._write_experiment_files()

    # ----------------------------------------------------------------------------- setup
    def _write_experiment_files(self) -> None:
        """Resolved config, phone inventory and statistics: all inference needs besides weights."""
        if self.acc.is_main_process:
            self.exp_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.cfg, self.exp_dir / "config.yaml")
            self.inventory.save(self.exp_dir / "phones.txt")
            if self.stats is not None:
                self.stats.save(self.exp_dir / "stats.json")
        self.acc.wait_for_everyone()

    def _dataset(self, manifest: str) -> FeatureDataset | DurationDataset | ShardDataset | ShardDurationDataset:
        """A features (or, for durations, aligned) manifest, or a shard set directory (streamed by
        :class:`ShardBatchSampler`)."""
        shards = is_shard_set(manifest)
        if self.task == "duration":
            if shards:
                return ShardDurationDataset(manifest, self.inventory, self.cfg.mel, phones_name=self.cfg.data.phones)
            return DurationDataset(manifest, self.inventory, self.cfg.mel)
        if shards:
            return ShardDataset(manifest, self.inventory, self.stats, self.cfg.mel, phones_name=self.cfg.data.phones)
        return FeatureDataset(manifest, self.inventory, self.stats, self.cfg.mel)

    def _sampler(self, dataset, shuffle: bool) -> FrameBudgetBatchSampler | ShardBatchSampler:
        d, dur = self.cfg.data, self.cfg.duration
        # durations: lengths in phones, buckets a tenth of data.bucket_width (frames) wide
        budget, longest, bucket = ((dur.max_phones, dur.max_utt_phones, max(1, d.bucket_width // 10))
                                   if self.task == "duration" else (d.max_frames, d.max_utt_frames, d.bucket_width))
        common = dict(seed=self.cfg.train.seed, shuffle=shuffle, rank=self.acc.process_index,
                      world=self.acc.num_processes)
        if isinstance(dataset, (ShardDataset, ShardDurationDataset)):
            return ShardBatchSampler(dataset.shard_lengths(), budget, longest, bucket, group=d.shard_group, **common)
        return FrameBudgetBatchSampler(dataset.frames, budget, longest, bucket, **common)

    def _loader(self, dataset, sampler) -> DataLoader:
        # A private generator keeps worker seeding off the global RNG, so resuming is exact.
        workers = self.cfg.data.num_workers
        return DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                          collate_fn=collate_durations if self.task == "duration" else collate,
                          pin_memory=self.device.type == "cuda", persistent_workers=False,
                          generator=torch.Generator().manual_seed(self.cfg.train.seed))

    def _batches(self):
        """Endless stream of training batches; tracks (epoch, position) of consumed batches."""
        while True:
            self.sampler.set_epoch(self.epoch, self.position)
            for batch in self._loader(self.train_set, self.sampler):
                self.position += 1
                yield batch
            self.epoch, self.position = self.epoch + 1, 0

    def _resume(self) -> None:
        found = ckpt.latest_checkpoint(self.exp_dir)
        if found is None:
            return
        state = ckpt.load_trainer_state(found)
        unwrapped = self.acc.unwrap_model(self.model)
        try:
            unwrapped.load_state_dict(ckpt.load_file(found, "model"))
        except RuntimeError as e:
            detail = (str(e).splitlines()[1:] or [str(e)])[0].strip().rstrip(".")
            raise VoiceflowError(f"{found}: this checkpoint does not fit the model of the given config ({detail}); "
                                 "train into a new train.exp_dir or use the experiment's own config.yaml") from None
        self.ema.load_state_dict(ckpt.load_file(found, "ema"))
        self.optimizer.optimizer.load_state_dict(ckpt.load_file(found, "optimizer"))
        self.scheduler.load_state_dict(ckpt.load_file(found, "scheduler"))
        if self.acc.scaler is not None and (found / "scaler.pt").is_file():
            self.acc.scaler.load_state_dict(ckpt.load_file(found, "scaler"))
        for key in ("step", "epoch", "position", "skipped", "frames_seen"):
            setattr(self, key, int(state[key]))
        self.train_seconds = float(state.get("train_seconds", 0.0))
        ckpt.restore_rng(self.acc, found, state)
        self.acc.print(f"resumed from {found} at step {self.step}")

    # ----------------------------------------------------------------------------- loop
    def fit(self, stop_at: int | None = None) -> dict:
        """Train to ``train.max_steps``; with ``stop_at``, save and return at that step instead
        (as a preempted job would), leaving the schedule of the full run unchanged."""
        cfg = self.cfg.train
        last = min(cfg.max_steps, stop_at) if stop_at else cfg.max_steps
        self.acc.init_trackers("tb")
        stream = self._batches()
        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not self.acc.is_main_process,
                   desc="train", dynamic_ncols=True)
        # per-window sums of (loss, grad norm, finite steps) stay on the device: no sync per step
        window = torch.zeros(3, dtype=torch.float64, device=self.device)
        frames, t0 = 0, time.perf_counter()
        self._fit_start = t0
        last_valid = None
        while self.step < last:
            loss, grad_norm, n_frames, stepped = self.train_step(stream)
            self.step += 1
            bar.update(1)
            ok = stepped.to(torch.float64)
            window += torch.stack([loss.double() * ok, grad_norm.double() * ok, ok]).nan_to_num(0.0)
            frames += n_frames
            if self.step % cfg.log_every == 0 or self.step == last:
                logs = self._log_window(window, frames, time.perf_counter() - t0)
                bar.set_postfix(loss=f"{logs['train/loss']:.4f}", lr=f"{logs['train/lr']:.2e}")
                window.zero_()
                frames, t0 = 0, time.perf_counter()
            if self.valid_set is not None and (self.step % cfg.valid_every == 0 or self.step == last):
                last_valid = self.validate()
            if self.step % cfg.save_every == 0 or self.step == last:
                self.save()
        bar.close()
        self.train_seconds += time.perf_counter() - self._fit_start
        self._fit_start = None
        self.acc.end_training()
        return {"step": self.step, "skipped": self._count_skipped(), "valid": last_valid}

    def train_step(self, stream):
        """One optimizer step over ``grad_accum`` micro-batches (see :func:`optimization_step`)."""
        batches = [next(stream) for _ in range(self.cfg.train.grad_accum)]
        loss, grad_norm, frames, stepped = optimization_step(
            self.acc, self.model, self.optimizer, self.scheduler, self.ema, batches, self.cfg, self.loss_fn)
        self._skipped_pending += (~stepped).to(torch.int64)
        self.frames_seen += frames
        return loss, grad_norm, frames, stepped

    def _count_skipped(self) -> int:
        self.skipped += int(self._skipped_pending.item())
        self._skipped_pending.zero_()
        return self.skipped

    def _log_window(self, window: torch.Tensor, frames: int, elapsed: float) -> dict:
        stats = torch.cat([window, torch.tensor([frames], dtype=torch.float64, device=self.device)])
        stats = self.acc.reduce(stats, reduction="sum").tolist()
        n = max(stats[2], 1.0)
        logs = {"train/loss": stats[0] / n if stats[2] else float("nan"), "train/grad_norm": stats[1] / n,
                "train/lr": self.scheduler.get_last_lr()[0], "train/frames_per_s": stats[3] / max(elapsed, 1e-9),
                "train/skipped_steps": self._count_skipped()}
        self.acc.log(logs, step=self.step)
        return logs

    @torch.no_grad()
    def validate(self) -> dict:
        """Validation loss of the live and the EMA weights, with fixed masks, noise and t."""
        sampler = self._sampler(self.valid_set, shuffle=False)
        model = self.acc.unwrap_model(self.model)
        results = {}
        live = {k: v.detach().clone() for k, v in model.state_dict().items()}
        for name, weights in (("loss", None), ("loss_ema", self.ema.model_state_dict(model))):
            if weights is not None:
                model.load_state_dict(weights)
            model.eval()
            cpu_gen = torch.Generator().manual_seed(self.cfg.train.seed)
            dev_gen = torch.Generator(device=self.device).manual_seed(self.cfg.train.seed)
            total = torch.zeros(2, dtype=torch.float64, device=self.device)
            for i, batch in enumerate(self._loader(self.valid_set, sampler)):
                if i >= self.cfg.data.valid_batches:
                    break
                with self.acc.autocast():
                    loss, _ = self.loss_fn(model, batch, self.device, cpu_gen, dev_gen, guidance_dropout=False)
                total += torch.stack([loss.double(), torch.ones((), dtype=torch.float64, device=self.device)])
            total = self.acc.reduce(total, reduction="sum")
            results[f"valid/{name}"] = (total[0] / total[1].clamp(min=1)).item()
        model.load_state_dict(live)
        self.acc.log(results, step=self.step)
        self.acc.print(f"step {self.step}: " + ", ".join(f"{k} {v:.4f}" for k, v in results.items()))
        return results

    def save(self) -> Path:
        model = self.acc.unwrap_model(self.model)
        tensors = {"model": {k: v.detach().float().cpu() for k, v in model.state_dict().items()},
                   "ema": self.ema.state_dict(), "optimizer": self.optimizer.optimizer.state_dict(),
                   "scheduler": self.scheduler.state_dict()}
        if self.acc.scaler is not None:
            tensors["scaler"] = self.acc.scaler.state_dict()
        state = {"step": self.step, "epoch": self.epoch, "position": self.position, "skipped": self._count_skipped(),
                 "frames_seen": self.frames_seen, "world": self.acc.num_processes,
                 "train_seconds": round(self.train_seconds + (time.perf_counter() - self._fit_start
                                                              if self._fit_start is not None else 0.0), 3)}
        return ckpt.save_checkpoint(self.acc, self.exp_dir, self.step, tensors, state,
                                    self.cfg.train.keep_checkpoints)


def build_model(cfg: Config, n_phones: int, train_set=None) -> torch.nn.Module:
    """The model ``cfg.task`` trains, freshly initialised from the current RNG state. For the
    duration model, the log-duration normalisation is taken from ``train_set``."""
    if cfg.task == "duration":
        model = DurationModel(cfg.duration, n_phones)
        if train_set is not None:
            model.set_normalisation(*train_set.log_duration_stats())
        return model
    return VoiceboxAudioModel(cfg.model, cfg.mel.n_mels)


LossFn = Callable[..., tuple[torch.Tensor, dict]]


def make_loss_fn(cfg: Config) -> LossFn:
    """``loss_fn(model, batch, device, cpu_generator=None, device_generator=None, guidance_dropout=True)``
    -> (scalar loss, {"frames": real frames, or phones for durations}) for ``cfg.task``."""
    if cfg.task == "duration":
        return lambda model, batch, device, *args, **kw: duration_loss(model, batch, cfg.duration, cfg.flow,
                                                                       device, *args, **kw)
    return lambda model, batch, device, *args, **kw: flow_matching_loss(model, batch, cfg.flow, device, *args, **kw)


def optimization_step(acc: Accelerator, model, optimizer, scheduler, ema: EMA | None, batches: list[dict],
                      cfg: Config, loss_fn: LossFn | None = None) -> tuple[float, float, int, bool]:
    """Forward/backward over the micro-batches (sync on the last), clip, step or skip, EMA.

    Returns device tensors (mean loss, gradient norm), the real frame count, and a device
    bool telling whether the weights were updated. A non-finite loss or gradient norm skips
    the update: with the fused CUDA optimizer on the device through its ``found_inf`` input
    (no host sync in the step), under fp16 through the grad scaler (which also adapts its
    scale), otherwise after a host check. The scheduler advances either way. ``loss_fn`` (see
    :func:`make_loss_fn`) defaults to the task's.
    """
    loss_fn = loss_fn or make_loss_fn(cfg)
    model.train()
    losses, frames = [], 0
    for i, batch in enumerate(batches):
        sync = i == len(batches) - 1
        with (nullcontext() if sync else acc.no_sync(model)), acc.autocast():
            loss, stats = loss_fn(model, batch, acc.device)
            acc.backward(loss / len(batches))
        losses.append(loss.detach())
        frames += stats["frames"]
    grad_norm = acc.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
    mean_loss = torch.stack(losses).mean()
    finite = torch.isfinite(grad_norm) & torch.isfinite(mean_loss)
    inner = optimizer.optimizer if hasattr(optimizer, "optimizer") else optimizer
    if acc.scaler is not None:  # fp16: the grad scaler skips inf/nan steps and adapts its scale
        optimizer.step()
        stepped = torch.tensor(not optimizer.step_was_skipped, device=acc.device)
    elif inner.defaults.get("fused"):  # skip on the device, without waiting for it
        inner.found_inf = (~finite).float()
        optimizer.step()
        del inner.found_inf
        stepped = finite
    else:
        if bool(finite):
            optimizer.step()
        stepped = finite
    optimizer.zero_grad(set_to_none=True)
    scheduler.step()
    if ema is not None:  # a skipped step left the weights as they were, so this stays finite
        ema.update(acc.unwrap_model(model))
    return mean_loss.detach(), grad_norm.detach(), frames, stepped
