"""The Python API of inference: every Voicebox task, and self-describing output directories.

Usage::

    from voiceflow import Synthesizer
    synth = Synthesizer("exp/demo", device="cuda", vocoder=None)   # Griffin-Lim fallback
    wav = synth.infill("a.wav", alignment, start_s=1.2, end_s=2.4, nfe=32, guidance=0.7)
    out_dir = synth.generate("data/test.jsonl", "exp/demo/infer", nfe=32, seed=0)
    wav, info = synth.tts("prompt.wav", "Its transcript.", "Something new to say.")
    wav, info = synth.edit("in.wav", "I saw the cat.", "I saw the big dog.")
    wav, info = synth.denoise("in.wav", "Its transcript.", start=1.2, end=2.0)
    wav, info = synth.continue_("in.wav", "The whole sentence the recording begins.")
    out_dir = synth.synth("items.jsonl", "exp/demo/synth/run1")   # any mix of tasks

The text tasks (:mod:`voiceflow.infer.tasks`) spell text in the model's phone set
(``text.g2p`` of its config), align recordings with the built-in aligner and predict new
durations with the duration model in ``<experiment>/duration`` (or ``duration=DIR``).

Any solver of :mod:`voiceflow.flow.solvers` works (``solver="stochastic_euler"`` with
``noise_scale=0.5``; ``schedule="sway"`` with ``sway=-1``); every random draw (initial noise,
the stochastic sampler's per-step noise) depends only on (seed, item id), never on batching.
So an item's mel is the same in any batch up to float rounding (~1e-6: batched matmuls sum
in another order). Vocos keeps such differences that small; Griffin-Lim's momentum
iterations can turn them into other phases, so its wav bytes may differ between batchings
(sample differences up to ~0.2 measured) while the magnitude spectrum stays the same.

``generate`` writes ``<out_root>/nfe<N>_<solver>_cfg<a>_seed<s>/`` holding one ``<id>.wav``
per item and ``meta.jsonl`` (text, prompt, masked span, checkpoint, solver, NFE, guidance,
seed, the span's L1 to the recording in normalised mel units (``masked_l1``), timings). Each item's span is its manifest's ``span`` ([start_s, end_s]) or, with
``span_seconds=(lo, hi)``, a run of whole words of that length drawn with the seed. The
whole directory is assembled under a temporary name and renamed when complete.
"""

from __future__ import annotations

import random
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from voiceflow.audio import load_audio, log_mel, save_wav
from voiceflow.audio.stats import denormalise, normalise
from voiceflow.align import frame_phone_ids, validate_alignment
from voiceflow.data.manifest import load_manifest, resolve
from voiceflow.devices import resolve_device
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path, check_output_path, write_jsonl
from voiceflow.flow import masked_l1
from voiceflow.infer.loading import DTYPES, LoadedModel, dtype_name, experiment_dir_of, load_audio_model
from voiceflow.infer.sampler import InfillSampler, compose, frame_budget_batches
from voiceflow.infer.spans import choose_word_span, snap_span
from voiceflow.vocoder import load_vocoder


@dataclass
class InfillItem:
    """One utterance ready to infill: normalised mel (T, M), phones (T,), mask (T,)."""

    id: str
    mel: torch.Tensor
    phones: torch.Tensor
    mask: torch.Tensor
    meta: dict = field(default_factory=dict)


def item_noise(seed: int, item_id: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Initial noise that depends only on (seed, item id), not on batching or device."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(item_id.encode()))
    return torch.randn(shape, generator=g)


def solver_label(solver: str, schedule: str = "uniform", sway: float = -1.0, noise_scale: float = 0.0) -> str:
    """``euler``, ``stochastic_euler-s0.5``, ``midpoint_sway-1``: the solver and its options."""
    label = solver
    if solver == "stochastic_euler":
        label += f"-s{noise_scale:g}"
    if schedule != "uniform":
        label += f"_{schedule}{sway:g}" if schedule == "sway" else f"_{schedule}"
    return label


def output_dir_name(nfe: int, solver: str, guidance: float, seed: int, dtype: str = "fp32", **options) -> str:
    """``nfe<N>_<solver label>_cfg<a>_seed<s>``, with ``_<dtype>`` unless the weights are fp32;
    ``options``: schedule, sway, noise_scale."""
    name = f"nfe{nfe}_{solver_label(solver, **options)}_cfg{guidance:g}_seed{seed}"
    return name if dtype == "fp32" else f"{name}_{dtype}"


def solver_options(solver: str, options: dict) -> dict:
    """The options that shaped the sampling, for meta.jsonl."""
    out = {"schedule": options.get("schedule", "uniform")}
    if out["schedule"] == "sway":
        out["sway"] = options.get("sway", -1.0)
    if solver == "stochastic_euler":
        out["noise_scale"] = options.get("noise_scale", 0.0)
    return out


class Synthesizer:
    """``dtype``: the weights' type for sampling ("fp32", "bf16" or "fp16"; the ODE state stays
    fp32); ``compile``: torch.compile each transformer block; ``cuda_graph``: replay the
    sampling loop as one CUDA graph. The last three are for speed on a GPU."""

    def __init__(self, checkpoint: str | Path | LoadedModel, device: str | None = None,
                 vocoder: str | None = None, weights: str = "ema", cuda_graph: bool = False,
                 duration: str | Path | None = None, dtype: str = "fp32", compile: bool = False):
        device = str(resolve_device(device))
        if cuda_graph and not device.startswith("cuda"):
            print(f"notice: cuda_graph needs a CUDA device; on {device} the ODE runs step by step",
                  file=sys.stderr)
        if dtype not in DTYPES:
            raise VoiceflowError(f"dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
        self.loaded = checkpoint if isinstance(checkpoint, LoadedModel) else load_audio_model(
            checkpoint, device, weights=weights, dtype=DTYPES[dtype], compile_blocks=compile)
        self.dtype = dtype_name(next(self.loaded.model.parameters()).dtype)
        self.device = torch.device(device)
        self.cfg = self.loaded.cfg
        self.sampler = InfillSampler(self.loaded.model, cuda_graph=cuda_graph)
        self._vocoder_spec = vocoder
        self._vocoder = None
        self._duration_spec = duration
        self._tasks = None

    @property
    def vocoder(self):
        if self._vocoder is None:
            self._vocoder = load_vocoder(self._vocoder_spec, self.cfg.mel, device=str(self.device))
        return self._vocoder

    @property
    def tasks(self):
        """The text-driven tasks (built on first use: G2P, aligner, duration model)."""
        if self._tasks is None:
            from voiceflow.infer.frontend import TextFrontEnd
            from voiceflow.infer.tasks import SpeechTasks

            exp = experiment_dir_of(self.loaded.checkpoint)
            front = TextFrontEnd(self.cfg.text, self.loaded.inventory, source=str(exp))
            self._tasks = SpeechTasks(self, self._load_durations(exp), front)
        return self._tasks

    def _load_durations(self, exp: Path):
        spec = self._duration_spec
        path = Path(spec) if spec is not None else exp / "duration"
        if spec is None and not path.is_dir():
            return None  # tasks that need durations say so
        from voiceflow.infer.duration import DurationPredictor

        predictor = DurationPredictor.load(path, device=str(self.device))
        if predictor.inventory != self.loaded.inventory:
            raise VoiceflowError(f"{path}: the duration model's phones.txt differs from the audio model's ({exp})")
        return predictor

    def tts(self, prompt_wav, prompt_text: str, text: str, **options):
        """Zero-shot TTS: (waveform, info); see :meth:`voiceflow.infer.tasks.SpeechTasks.tts`."""
        return self.tasks.tts(str(prompt_wav), prompt_text, text, **options)

    def edit(self, wav, text: str, new_text: str, **options):
        """Word-level editing: (waveform, info); see :meth:`voiceflow.infer.tasks.SpeechTasks.edit`."""
        return self.tasks.edit(str(wav), text, new_text, **options)

    def denoise(self, wav, text: str, start: float, end: float, **options):
        """Regenerate a span with its transcript: (waveform, info)."""
        return self.tasks.denoise(str(wav), text, start, end, **options)

    def continue_(self, wav, text: str, prompt_text: str | None = None, **options):
        """Continue a recording to the end of ``text``: (waveform, info)."""
        return self.tasks.continue_(str(wav), text, prompt_text, **options)

    def synth(self, manifest, out_dir, on_error: str = "stop", **options) -> Path:
        """Run a manifest of task items into ``out_dir``; see :mod:`voiceflow.infer.batch`."""
        from voiceflow.infer.batch import run_batch

        return run_batch(self, manifest, out_dir, on_error=on_error, **options)

    # ------------------------------------------------------------------ items
    def prepare(self, item_id: str, audio: str | Path, alignment: list, start_s: float, end_s: float,
                meta: dict | None = None, alignment_name: str | None = None) -> InfillItem:
        """``alignment_name``: the file the alignment came from, named in its errors."""
        mel_cfg = self.cfg.mel
        wav = load_audio(audio, mel_cfg.sample_rate)
        mel = log_mel(wav, mel_cfg)  # (M, T)
        T = mel.shape[1]
        where = f"{alignment_name} (the alignment of {audio})" if alignment_name else f"{audio}: alignment"
        validate_alignment(alignment, wav.numel() / mel_cfg.sample_rate, name=alignment_name or str(audio))
        try:
            phones = frame_phone_ids(alignment, self.loaded.inventory, T, mel_cfg.sample_rate, mel_cfg.hop_length)
        except VoiceflowError as e:
            raise VoiceflowError(f"{where}: {e}") from None
        try:
            f0, f1 = snap_span(alignment, start_s, end_s, T, mel_cfg.sample_rate, mel_cfg.hop_length)
        except VoiceflowError as e:
            raise VoiceflowError(f"{audio}: {e}") from None
        mask = torch.zeros(T, dtype=torch.bool)
        mask[f0:f1] = True
        hop_s = mel_cfg.hop_length / mel_cfg.sample_rate
        info = {"prompt": str(audio), "span": [round(f0 * hop_s, 4), round(f1 * hop_s, 4)], "span_frames": [f0, f1]}
        return InfillItem(item_id, normalise(mel.T, self.loaded.stats), phones, mask, {**(meta or {}), **info})

    def items_from_manifest(self, manifest: str | Path, span_seconds: tuple[float, float] | None = None,
                            seed: int = 0) -> list[InfillItem]:
        rows = load_manifest(manifest, require=("id", "audio", "alignment"))
        rng = random.Random(seed)
        items = []
        for row in rows:
            if "span" in row:
                start, end = (float(x) for x in row["span"])
                masked_text = row.get("span_text", "")
            elif span_seconds is not None:
                if not row.get("words"):
                    raise VoiceflowError(f"{manifest}: {row['id']}: no 'words' to choose a span from")
                start, end, masked_text = choose_word_span(row["words"], rng, *span_seconds)
            else:
                raise VoiceflowError(f"{manifest}: {row['id']}: no 'span' given (or pass span_seconds)")
            meta = {"text": row.get("text", ""), "speaker": row.get("speaker", ""), "masked_text": masked_text}
            items.append(self.prepare(row["id"], resolve(row["audio"], manifest), row["alignment"], start, end, meta))
        return items

    # ------------------------------------------------------------------ sampling
    def infill_items(self, items: list[InfillItem], nfe: int = 32, solver: str = "euler", guidance: float = 0.0,
                     seed: int = 0, max_frames: int = 20000, **options) -> list[torch.Tensor]:
        """Normalised mels (T, M) with each item's masked frames regenerated (in item order).

        ``options``: ``schedule``, ``sway``, ``noise_scale`` of :meth:`InfillSampler.sample`.
        """
        results: list[torch.Tensor | None] = [None] * len(items)
        for batch in frame_budget_batches([it.mel.shape[0] for it in items], max_frames):
            t0 = time.perf_counter()
            outs = self._infill_batch([items[j] for j in batch], nfe, solver, guidance, seed, options)
            elapsed = time.perf_counter() - t0
            frames = sum(items[j].mel.shape[0] for j in batch)
            for j, out in zip(batch, outs):
                results[j] = out
                items[j].meta["sample_s"] = round(elapsed * items[j].mel.shape[0] / frames, 4)
        return results

    def _infill_batch(self, items: list[InfillItem], nfe, solver, guidance, seed, options) -> list[torch.Tensor]:
        B, M = len(items), items[0].mel.shape[1]
        lengths = [it.mel.shape[0] for it in items]
        T = max(lengths)
        x1 = torch.zeros(B, T, M)
        phones = torch.zeros(B, T, dtype=torch.long)
        mask = torch.zeros(B, T, dtype=torch.bool)
        x0 = torch.zeros(B, T, M)
        stochastic = solver == "stochastic_euler" and options.get("noise_scale", 0.0) != 0
        noise = torch.zeros(nfe, B, T, M) if stochastic else None  # stochastic_euler: 1 NFE per step
        for b, it in enumerate(items):
            n = lengths[b]
            x1[b, :n], phones[b, :n], mask[b, :n] = it.mel, it.phones, it.mask
            x0[b, :n] = item_noise(seed, it.id, (n, M))
            if noise is not None:
                noise[:, b, :n] = item_noise(seed, it.id + "/steps", (nfe, n, M))
        x_ctx = x1 * (~mask)[..., None]
        out = self.sampler.sample(x_ctx, phones, lengths, x0, nfe, solver, guidance, noise=noise, **options).cpu()
        out = compose(out, x1, mask)
        return [out[b, :n] for b, n in enumerate(lengths)]

    # ------------------------------------------------------------------ audio out
    def to_wave(self, mel_normalised: torch.Tensor) -> torch.Tensor:
        mel = denormalise(mel_normalised, self.loaded.stats).T[None].to(self.device)  # (1, M, T)
        with torch.inference_mode():
            return self.vocoder(mel)[0].float().cpu()

    def infill(self, audio: str | Path, alignment: list, start_s: float, end_s: float, nfe: int = 32,
               solver: str = "euler", guidance: float = 0.0, seed: int = 0, alignment_name: str | None = None,
               **options) -> torch.Tensor:
        """Regenerate [start_s, end_s] (snapped to phone boundaries); returns the waveform."""
        item = self.prepare(Path(audio).stem, audio, alignment, start_s, end_s, alignment_name=alignment_name)
        return self.to_wave(self.infill_items([item], nfe, solver, guidance, seed, **options)[0])

    def generate(self, manifest: str | Path, out_root: str | Path, nfe: int = 32, solver: str = "euler",
                 guidance: float = 0.0, seed: int = 0, span_seconds: tuple[float, float] | None = None,
                 max_frames: int = 20000, **options) -> Path:
        out_dir = Path(out_root) / output_dir_name(nfe, solver, guidance, seed, self.dtype, **options)
        check_output_path(out_dir, is_dir=True, replaces="meta.jsonl")
        # the vocoder loads here, before the sampling: a bad --vocoder fails at once
        common = {"checkpoint": str(Path(self.loaded.checkpoint).resolve()), "step": self.loaded.step,
                  "weights": self.loaded.weights, "dtype": self.dtype, "solver": solver, "nfe": nfe,
                  "guidance": guidance, "seed": seed, **solver_options(solver, options), "vocoder": self.vocoder.name}
        items = self.items_from_manifest(manifest, span_seconds, seed)
        mels = self.infill_items(items, nfe, solver, guidance, seed, max_frames, **options)
        rows = []
        with atomic_path(out_dir, is_dir=True, replaces="meta.jsonl") as tmp:
            for item, mel in zip(items, mels):
                t0 = time.perf_counter()
                wav = self.to_wave(mel)
                vocode_s = time.perf_counter() - t0
                save_wav(Path(tmp) / f"{item.id}.wav", wav, self.cfg.mel.sample_rate, name=out_dir / f"{item.id}.wav")
                audio_s = wav.numel() / self.cfg.mel.sample_rate
                sample_s = item.meta.pop("sample_s", None)
                rows.append({"id": item.id, **item.meta, **common,
                             "masked_l1": round(masked_l1(mel, item.mel, item.mask).item(), 6),
                             "timings": {"sample_s": sample_s, "vocode_s": round(vocode_s, 4),
                                         "audio_s": round(audio_s, 4)}})
            write_jsonl(Path(tmp) / "meta.jsonl", rows)
        return out_dir
