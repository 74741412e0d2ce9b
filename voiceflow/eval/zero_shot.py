"""Zero-shot TTS report of a ``voiceflow synth`` directory: intelligibility and speaker identity.

For the tts items of a synth output directory (``meta.jsonl`` with ``text``, ``prompt_wav``,
``speaker`` and, for the comparison, ``reference``: a ground-truth recording of the same
text by the same speaker):

- **WER** of the generated speech and of the ground truth, by the same ASR (pocketsphinx
  offline) with the same text normalisation (:mod:`voiceflow.eval.texts`), as corpus rates
  with bootstrap intervals;
- **speaker similarity**: each output's mean cosine (speaker embeddings, resemblyzer
  offline) to the prompts of its own speaker and to those of every other speaker; an output
  is *closer to its own speaker* when the first exceeds the mean of the others. SIM-o (to its
  own prompt) is reported too::

    report = zero_shot_report("exp/demo/tts/nfe16_euler_cfg0.7_seed0")
    report["wer_generated"]["value"], report["closer_to_own_share"]
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import torch

from voiceflow.audio import load_audio
from voiceflow.errors import VoiceflowError
from voiceflow.eval.asr import load_asr
from voiceflow.eval.file_work import transcribe_files
from voiceflow.eval.speaker import load_speaker
from voiceflow.eval.stats import mean_ci, ratio_ci
from voiceflow.eval.texts import normalise, word_errors
from voiceflow.fileio import read_jsonl


def _tts_rows(out_dir: Path) -> list[dict]:
    rows = [r for r in read_jsonl(out_dir / "meta.jsonl") if r.get("task") == "tts"]
    if not rows:
        raise VoiceflowError(f"{out_dir}/meta.jsonl: no tts items")
    for r in rows:
        for key in ("text", "prompt_wav", "speaker"):
            if key not in r:
                raise VoiceflowError(f"{out_dir}/meta.jsonl: item {r.get('id')}: no {key!r}")
    return rows


def zero_shot_report(out_dir: str | Path, asr: str = "pocketsphinx", speaker: str = "resemblyzer",
                     device: str = "cpu", jobs: int = 1) -> dict:
    """The report of a synth directory; ``jobs`` processes share the pocketsphinx decoding."""
    out_dir = Path(out_dir)
    rows = _tts_rows(out_dir)
    recogniser = load_asr(asr, device)
    encoder = load_speaker(speaker, device)
    sr_spk = encoder.sample_rate

    generated = [out_dir / f"{r['id']}.wav" for r in rows]
    references = [r["reference"] for r in rows if r.get("reference")]
    texts = transcribe_files(recogniser, generated + references, jobs)
    hyp_generated, hyp_reference = iter(texts[:len(rows)]), iter(texts[len(rows):])
    gen_err, gt_err, totals, items = [], [], [], []
    for r in rows:
        ref = " ".join(normalise(r["text"]).split())
        errors, n = word_errors(ref, next(hyp_generated))
        gen_err.append(errors)
        totals.append(n)
        if r.get("reference"):
            gt_err.append(word_errors(ref, next(hyp_reference))[0])
        items.append({"id": r["id"], "speaker": r["speaker"], "wer": errors / max(n, 1)})

    prompts: dict[str, dict[str, torch.Tensor]] = defaultdict(dict)  # speaker -> prompt -> embedding
    for r in rows:
        if r["prompt_wav"] not in prompts[r["speaker"]]:
            prompts[r["speaker"]][r["prompt_wav"]] = encoder.embed(load_audio(r["prompt_wav"], sr_spk))
    speakers = sorted(prompts)
    own_all, other_all, sim_o, closer = [], [], [], []
    for r, item in zip(rows, items):
        e = encoder.embed(load_audio(out_dir / f"{r['id']}.wav", sr_spk))
        mean_cos = {s: float(torch.stack([e @ p for p in prompts[s].values()]).mean()) for s in speakers}
        own = mean_cos[r["speaker"]]
        others = [v for s, v in mean_cos.items() if s != r["speaker"]]
        other = sum(others) / len(others) if others else float("nan")
        item.update(sim_own=round(own, 4), sim_other=round(other, 4), sim_o=round(float(e @ prompts[r["speaker"]][r["prompt_wav"]]), 4))
        own_all.append(own)
        other_all.append(other)
        sim_o.append(item["sim_o"])
        closer.append(bool(others) and own > other)

    report = {
        "items": len(rows), "speakers": speakers, "asr": recogniser.name, "speaker_model": encoder.name,
        "wer_generated": ratio_ci(gen_err, totals),
        "wer_ground_truth": ratio_ci(gt_err, totals) if len(gt_err) == len(rows) else None,
        "sim_own_speaker": mean_cos_summary(own_all), "sim_other_speakers": mean_cos_summary(other_all),
        "sim_o": mean_cos_summary(sim_o),
        "closer_to_own_share": sum(closer) / len(closer),
        "per_item": items,
    }
    return report


def mean_cos_summary(values: list[float]) -> dict:
    return mean_ci(values, bounds=(-1.0, 1.0))
