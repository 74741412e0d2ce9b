"""Score systems of generated speech: per-item values, system values with 95 % intervals.

Usage::

    from voiceflow.eval import evaluate
    report = evaluate({"A": "exp/a/nfe32_euler_cfg0.7_seed0", "B": "exp/b/nfe32_euler_cfg0.7_seed0"},
                      "exp/eval", reference="data/test_wavs", metrics=["wer", "sim_o", "mcd"])

Metrics (``metrics``; default: every one whose inputs exist, the others skipped with one line):

=========  ====================================================  ============  ==========
name       per item                                              needs         system
=========  ====================================================  ============  ==========
wer, cer   word / character errors of the ASR transcript          text          corpus rate
sim_o      cosine(speaker(generated), speaker(prompt))            prompt        mean
sim_r      cosine(speaker(generated), speaker(vocoded prompt))    prompt        mean
mcd        mel-cepstral distortion on DTW-aligned frames (dB)     reference     mean
f0         F0 RMSE in cents and voicing error (``vde``)           reference     mean
mos        predicted MOS                                          -             mean
=========  ====================================================  ============  ==========

The vocoded prompt of SIM-r is the prompt's log-mel (the mel contract) through ``vocoder``
(a vocos folder or hub id; Griffin-Lim when none is given), so SIM-r separates what the
model loses from what the vocoder loses. Outputs: ``metrics.json`` (per system, each
metric's value, ``ci_low``, ``ci_high``, ``n``; see :mod:`.stats`) and ``items.csv`` (one
row per system x item), both written atomically.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Callable

import torch

from voiceflow.devices import resolve_device
from voiceflow.errors import VoiceflowError
from voiceflow.eval.asr import PocketsphinxASR
from voiceflow.eval.backend import Unavailable
from voiceflow.eval.file_work import file_results
from voiceflow.eval.items import Item, build_items, check_audio, discover_system, read_texts, show_ids
from voiceflow.eval.stats import mean_ci, ratio_ci
from voiceflow.eval.texts import NORMALISATION, char_errors, word_errors
from voiceflow.fileio import atomic_path, check_output_path, write_json

__all__ = ["METRICS", "evaluate", "markdown_table"]

METRICS = ("wer", "cer", "sim_o", "sim_r", "mcd", "f0", "mos")
_NEEDS = {"wer": "text", "cer": "text", "sim_o": "prompt", "sim_r": "prompt", "mcd": "reference",
          "f0": "reference", "mos": None}
_HINTS = {"text": "give --texts or meta.jsonl texts", "prompt": "give --prompt DIR or meta.jsonl prompts",
          "reference": "give --reference DIR"}
# summary key, column header, scale, decimals
_COLUMNS = [("wer", "WER %", 100, 1), ("cer", "CER %", 100, 1), ("sim_o", "SIM-o", 1, 3), ("sim_r", "SIM-r", 1, 3),
            ("mcd", "MCD dB", 1, 2), ("f0_rmse_cents", "F0 RMSE cents", 1, 1), ("vde", "VDE %", 100, 1),
            ("mos", "MOS", 1, 2)]
# the range of each mean metric: its confidence interval is clipped to it
_RANGES = {"sim_o": (-1.0, 1.0), "sim_r": (-1.0, 1.0), "mcd": (0.0, None), "f0_rmse_cents": (0.0, None),
           "vde": (0.0, 1.0), "mos": (1.0, 5.0)}
_CSV = ["system", "id", "wav", "duration_s", "text", "hypothesis", "word_errors", "ref_words", "wer", "char_errors",
        "ref_chars", "cer", "sim_o", "sim_r", "mcd", "f0_rmse_cents", "vde", "mos"]


def _choose_metrics(requested, items: list[Item], notice) -> list[str]:
    explicit = requested is not None
    wanted = list(requested) if explicit else list(METRICS)
    unknown = [m for m in wanted if m not in METRICS]
    if unknown:
        raise VoiceflowError(f"unknown metric(s) {', '.join(unknown)} (choose from {', '.join(METRICS)})")
    chosen, skipped = [], {}
    for m in wanted:
        need = _NEEDS[m]
        lacking = [] if need is None else [i.id for i in items if getattr(i, need) is None]
        if not lacking:
            chosen.append(m)
        elif explicit or len(lacking) < len(items):
            raise VoiceflowError(f"{m} needs a {need} for every item; {len(lacking)} of {len(items)} have none "
                                 f"({show_ids(lacking)}; {_HINTS[need]})")
        else:
            skipped.setdefault(need, []).append(m)
    for need, ms in skipped.items():
        notice(f"eval: skipping {', '.join(ms)} (no {need}s: {_HINTS[need]})")
    return chosen


def _load_backends(metrics, asr, speaker, mos, vocoder, device, explicit, notice) -> tuple[dict, list[str]]:
    from voiceflow.eval.asr import load_asr
    from voiceflow.eval.mos import load_mos
    from voiceflow.eval.speaker import load_speaker

    groups = [("asr", ("wer", "cer"), lambda: load_asr(asr, device, notice)),
              ("speaker", ("sim_o", "sim_r"), lambda: load_speaker(speaker, device, notice)),
              ("mos", ("mos",), lambda: load_mos(mos, device, notice))]
    loaded = {}
    for key, names, load in groups:
        if not any(m in metrics for m in names):
            continue
        try:
            loaded[key] = load()
        except ValueError as e:
            raise VoiceflowError(str(e)) from None
        except Unavailable as e:
            if explicit:
                raise VoiceflowError(f"cannot compute {', '.join(m for m in names if m in metrics)}: {e}") from None
            notice(f"eval: skipping {', '.join(m for m in names if m in metrics)} ({e})")
            metrics = [m for m in metrics if m not in names]
    if "sim_r" in metrics:
        from voiceflow.vocoder import load_vocoder

        loaded["vocoder"] = load_vocoder(vocoder, device=device, notice=notice)
    return loaded, metrics


class _Scorer:
    """Per-item scoring with the loaded backends; prompt embeddings and reference features
    (shared by every system) are computed once per path."""

    def __init__(self, metrics, backends, precomputed: dict | None = None):
        self.metrics, self.b = metrics, backends
        self._prompt, self._vocoded, self._reference = {}, {}, {}
        self.pre = precomputed or {}  # {(kind, path): result} of voiceflow.eval.file_work

    def _f0(self, path: Path, wav: torch.Tensor):
        from voiceflow.eval.signal import f0_track

        found = self.pre.get(("f0", path))
        return f0_track(wav) if found is None else found

    def _embed_prompt(self, path: Path, vocoded: bool) -> torch.Tensor:
        from voiceflow.audio import load_audio, log_mel
        import torchaudio.functional as AF

        cache = self._vocoded if vocoded else self._prompt
        if path not in cache:
            speaker = self.b["speaker"]
            if vocoded:
                voc = self.b["vocoder"]
                mel = log_mel(load_audio(path, voc.sample_rate), voc.mel_cfg)
                wav = voc(mel[None].to(voc.device))[0].float().cpu()
                wav = AF.resample(wav, voc.sample_rate, speaker.sample_rate)
            else:
                wav = load_audio(path, speaker.sample_rate)
            cache[path] = speaker.embed(wav)
        return cache[path]

    def score(self, item: Item, path: Path) -> dict:
        from voiceflow.audio import load_audio
        from voiceflow.eval.speaker import cosine

        m, b = self.metrics, self.b
        row: dict = {}
        wavs: dict[int, torch.Tensor] = {}

        def at(rate: int) -> torch.Tensor:
            if rate not in wavs:
                wavs[rate] = load_audio(path, rate)
            return wavs[rate]

        row["duration_s"] = round(at(16000).numel() / 16000, 3)
        silent = float(at(16000).abs().max()) == 0.0  # digital silence: no voice to compare or rate
        if "wer" in m or "cer" in m:
            hyp = self.pre.get(("asr", path))
            if hyp is None:
                hyp = b["asr"].transcribe(at(b["asr"].sample_rate))
            row.update(text=item.text, hypothesis=hyp)
            if "wer" in m:
                row["word_errors"], row["ref_words"] = word_errors(item.text, hyp)
                row["wer"] = row["word_errors"] / row["ref_words"] if row["ref_words"] else math.nan
            if "cer" in m:
                row["char_errors"], row["ref_chars"] = char_errors(item.text, hyp)
                row["cer"] = row["char_errors"] / row["ref_chars"] if row["ref_chars"] else math.nan
        if "sim_o" in m or "sim_r" in m:
            emb = None if silent else b["speaker"].embed(at(b["speaker"].sample_rate))
            if "sim_o" in m:
                row["sim_o"] = math.nan if silent else cosine(emb, self._embed_prompt(item.prompt, vocoded=False))
            if "sim_r" in m:
                row["sim_r"] = math.nan if silent else cosine(emb, self._embed_prompt(item.prompt, vocoded=True))
        if "mcd" in m or "f0" in m:
            from voiceflow.eval.signal import SAMPLE_RATE, mel_cepstrum, signal_metrics

            if item.reference not in self._reference:
                ref = load_audio(item.reference, SAMPLE_RATE)
                self._reference[item.reference] = (mel_cepstrum(ref),
                                                   self._f0(item.reference, ref) if "f0" in m else None)
            track = self._f0(path, at(SAMPLE_RATE)) if "f0" in m else None
            row.update(signal_metrics(at(SAMPLE_RATE), self._reference[item.reference], mcd="mcd" in m,
                                      f0="f0" in m, generated_f0=track))
        if "mos" in m:
            row["mos"] = math.nan if silent else b["mos"].score(at(b["mos"].sample_rate), path)
        if silent:
            row["silent"] = True
        return row


def _file_tasks(found, items: list[Item], metrics: list[str], backends: dict) -> list[tuple[str, Path]]:
    """The per-file work :mod:`voiceflow.eval.file_work` can do in other processes: PocketSphinx
    transcripts (another ASR backend stays here) and F0 tracks of generated and reference wavs."""
    tasks = []
    if ("wer" in metrics or "cer" in metrics) and isinstance(backends.get("asr"), PocketsphinxASR):
        tasks += [("asr", item.wavs[s.name]) for s in found for item in items]
    if "f0" in metrics:
        tasks += [("f0", item.wavs[s.name]) for s in found for item in items]
        tasks += [("f0", item.reference) for item in items]
    return list(dict.fromkeys(tasks))


def _summarise(rows: list[dict], metrics: list[str], seed: int, n_boot: int) -> dict:
    out = {}
    for name, (err, tot) in (("wer", ("word_errors", "ref_words")), ("cer", ("char_errors", "ref_chars"))):
        if name in metrics:
            out[name] = ratio_ci([r[err] for r in rows], [r[tot] for r in rows], n_boot=n_boot, seed=seed)
    keys = [k for k in ("sim_o", "sim_r", "mcd") if k in metrics]
    keys += ["f0_rmse_cents", "vde"] if "f0" in metrics else []
    keys += ["mos"] if "mos" in metrics else []
    for k in keys:
        out[k] = mean_ci((r[k] for r in rows), bounds=_RANGES[k])
    return out


def markdown_table(report: dict) -> str:
    """The system table of a metrics.json report: ``value [ci_low, ci_high]`` per cell."""
    present = [c for c in _COLUMNS if any(c[0] in s["metrics"] for s in report["systems"].values())]
    lines = ["| system | n | " + " | ".join(c[1] for c in present) + " |",
             "|---|---:|" + "---:|" * len(present)]

    def cell(v: dict | None, scale: float, dec: int) -> str:
        if not v or v["value"] is None:
            return "-"
        text = f"{v['value'] * scale:.{dec}f}"
        if v["ci_low"] is not None:
            text += f" [{v['ci_low'] * scale:.{dec}f}, {v['ci_high'] * scale:.{dec}f}]"
        return text

    for name, s in report["systems"].items():
        cells = [cell(s["metrics"].get(key), scale, dec) for key, _, scale, dec in present]
        lines.append(f"| {name} | {s['n_items']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_csv(path: Path, rows: list[dict]) -> None:
    columns = [c for c in _CSV if any(c in r for r in rows)]

    def fmt(v):
        return f"{v:.6g}" if isinstance(v, float) else v

    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for r in rows:
                writer.writerow({k: fmt(v) for k, v in r.items()})


def evaluate(systems: dict[str, str | Path], out_dir: str | Path, reference: str | Path | None = None,
             prompt: str | Path | None = None, texts: str | Path | None = None, metrics: list[str] | None = None,
             asr: str = "pocketsphinx", speaker: str = "resemblyzer", mos: str = "distillmos",
             vocoder: str | None = None, device: str | None = None, seed: int = 0, n_boot: int = 1000,
             allow_missing: bool = False, resample: bool = False, jobs: int = 1,
             notice: Callable[[str], object] = print, progress: bool | None = None) -> dict:
    """Score ``systems`` (name -> directory) and write ``out_dir``/{metrics.json, items.csv}.

    Everything is validated (ids, files, rates, channels, inputs of each metric) before a
    model loads. With ``jobs`` > 1, PocketSphinx transcripts and F0 tracks of every file are
    computed first in that many processes (:mod:`voiceflow.eval.file_work`; same results).
    Returns the metrics.json content. ``progress=None`` shows the bars on a terminal only.
    """
    from tqdm import tqdm

    if not systems:
        raise VoiceflowError("no system to evaluate (give --system NAME=DIR)")
    if jobs < 1:
        raise VoiceflowError(f"--jobs must be at least 1, got {jobs}")
    if n_boot < 1:
        raise VoiceflowError(f"--bootstrap must be at least 1, got {n_boot}")
    check_output_path(out_dir, is_dir=True)  # before any model loads or item is scored
    device = str(resolve_device(device))
    torch.manual_seed(seed)
    found = [discover_system(name, d) for name, d in systems.items()]
    items, excluded = build_items(found, reference, prompt, read_texts(texts) if texts else None, allow_missing, notice)
    rate = check_audio(items, resample)
    chosen = _choose_metrics(metrics, items, notice)
    backends, chosen = _load_backends(chosen, asr, speaker, mos, vocoder, device, metrics is not None, notice)
    if not chosen:
        raise VoiceflowError("no metric left to compute")
    disable = None if progress is None else not progress  # None: shown on a terminal only
    precomputed = {}
    if jobs > 1:
        tasks = _file_tasks(found, items, chosen, backends)
        with tqdm(total=len(tasks), desc=f"eval: transcripts and F0 ({jobs} processes)", unit="task",
                  disable=disable) as bar:
            precomputed = file_results(tasks, jobs, on_result=bar.update)
    scorer = _Scorer(chosen, backends, precomputed)
    rows: dict[str, list[dict]] = {s.name: [] for s in found}
    bar = tqdm(total=len(found) * len(items), desc="eval", unit="wav", disable=disable)
    with bar:
        for s in found:
            for item in items:
                path = item.wavs[s.name]
                rows[s.name].append({"system": s.name, "id": item.id, "wav": str(path), **scorer.score(item, path)})
                bar.update()
    silent = [r["wav"] for s in found for r in rows[s.name] if r.pop("silent", False)]
    if silent and notice is not None:
        notice(f"eval: {len(silent)} file(s) are digital silence (SIM and MOS undefined for them): "
               f"{', '.join(silent[:5])}{' and more' if len(silent) > 5 else ''}")
    report = {
        "systems": {s.name: {"dir": str(s.dir), "n_items": len(items),
                             "metrics": _summarise(rows[s.name], chosen, seed, n_boot)} for s in found},
        "metrics": chosen,
        "excluded_items": excluded,
        "backends": {k: getattr(v, "name", str(v)) for k, v in backends.items()},
        "sample_rate": rate,
        "confidence": 0.95,
        "text_normalisation": NORMALISATION,
        "reference": str(reference) if reference else None,
        "prompt": str(prompt) if prompt else None,
        "texts": str(texts) if texts else None,
        "device": str(device),
        "seed": seed,
    }
    out_dir = Path(out_dir)
    _write_csv(out_dir / "items.csv", [r for s in found for r in rows[s.name]])
    write_json(out_dir / "metrics.json", report)
    return report
