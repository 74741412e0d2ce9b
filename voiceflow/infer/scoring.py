"""Masked-region L1: does a trained model infill better than its initialisation and a mean?

For held-out utterances with a masked span, in the normalised mel space (the model's own):

* ``trained``: the span sampled by the trained model (EMA weights);
* ``untrained``: the same sampling with the model as training initialised it;
* ``mean_fill``: the span filled with the mean of the utterance's unmasked frames.

Each is the mean absolute error over the span's frames and mel bins, averaged over
utterances (each utterance weighs the same), overall and per speaker. The trained
model is also reported with the given guidance strength.

The trained model's samples need not be drawn twice: a ``voiceflow generate`` directory of
the same items, checkpoint and sampling settings already holds each span's L1 in its
``meta.jsonl`` (``generated=``). Every item and setting is checked against the report's;
any difference is an error, never a silent mix.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import torch

from voiceflow.errors import VoiceflowError
from voiceflow.flow import masked_l1
from voiceflow.fileio import read_jsonl
from voiceflow.infer.synthesizer import InfillItem, Synthesizer, solver_options

# What "the model learned" means for the demo recipe (issue 2): the trained model's masked L1
# is at most 0.8 x the mean fill's and at most 0.5 x the untrained model's.
MAX_RATIO_TO_MEAN_FILL = 0.8
MAX_RATIO_TO_UNTRAINED = 0.5


def span_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean |pred - target| over the frames where ``mask`` (T,) is True; pred/target (T, M)."""
    return masked_l1(pred, target, mask).item()


def mean_fill(item: InfillItem) -> torch.Tensor:
    fill = item.mel[~item.mask].mean(dim=0) if (~item.mask).any() else torch.zeros(item.mel.shape[1])
    return torch.where(item.mask[:, None], fill[None, :], item.mel)


def _summarise(values: dict[str, list[float]], speakers: list[str]) -> dict:
    out = {name: sum(v) / len(v) for name, v in values.items()}
    per_speaker: dict[str, dict[str, float]] = defaultdict(dict)
    for name, v in values.items():
        groups = defaultdict(list)
        for spk, x in zip(speakers, v):
            groups[spk].append(x)
        for spk, xs in groups.items():
            per_speaker[spk][name] = sum(xs) / len(xs)
    out["per_speaker"] = dict(per_speaker)
    return out


def masked_l1_values(synth: Synthesizer, items: list[InfillItem], nfe: int, solver: str, guidance: float,
                     seed: int, max_frames: int = 20000, **options) -> list[float]:
    """The masked-region L1 of every item, sampled by ``synth`` (``options``: see
    :meth:`Synthesizer.infill_items`)."""
    mels = synth.infill_items(items, nfe, solver, guidance, seed, max_frames, **options)
    return [span_l1(m, it.mel, it.mask) for m, it in zip(mels, items)]


def generated_l1_values(out_dir: str | Path, synth: Synthesizer, items: list[InfillItem], nfe: int, solver: str,
                        guidance: float, seed: int, **options) -> list[float]:
    """The masked-region L1 of every item as recorded by ``voiceflow generate`` in ``out_dir``.

    Raises a VoiceflowError naming the directory unless it holds every item with the same
    span, sampled from the same checkpoint and weights with the same solver settings.
    """
    meta = Path(out_dir) / "meta.jsonl"
    if not meta.is_file():
        raise VoiceflowError(f"{meta}: no such file (not a voiceflow generate directory)")
    rows = {r["id"]: r for r in read_jsonl(meta)}
    expected = {"checkpoint": str(Path(synth.loaded.checkpoint).resolve()), "step": synth.loaded.step,
                "weights": synth.loaded.weights, "dtype": synth.dtype, "solver": solver, "nfe": nfe,
                "guidance": guidance, "seed": seed, **solver_options(solver, options)}
    values = []
    for it in items:
        row = rows.get(it.id)
        if row is None:
            raise VoiceflowError(f"{meta}: item {it.id} was not generated")
        wanted = {**expected, "span_frames": it.meta["span_frames"]}
        for key, value in wanted.items():
            got = row.get(key, "fp32" if key == "dtype" else None)  # meta.jsonl before dtype: fp32
            if got != value:
                raise VoiceflowError(f"{meta}: item {it.id}: {key} {got!r}, but the report samples with {value!r}")
        if "masked_l1" not in row:
            raise VoiceflowError(f"{meta}: item {it.id}: no masked_l1 (written by an older voiceflow generate)")
        values.append(float(row["masked_l1"]))
    return values


def generated_by_guidance(dirs: list[str | Path]) -> dict[float, Path]:
    """Generate directories keyed by the guidance strength their meta.jsonl records."""
    out: dict[float, Path] = {}
    for d in dirs:
        meta = Path(d) / "meta.jsonl"
        if not meta.is_file():
            raise VoiceflowError(f"{meta}: no such file (not a voiceflow generate directory)")
        rows = read_jsonl(meta)
        if not rows or "guidance" not in rows[0]:
            raise VoiceflowError(f"{meta}: no generated items with a guidance strength")
        g = float(rows[0]["guidance"])
        if g in out:
            raise VoiceflowError(f"{d}: a second directory sampled with guidance {g:g} (first: {out[g]})")
        out[g] = Path(d)
    return out


def masked_l1_report(trained: Synthesizer, untrained: Synthesizer, items: list[InfillItem], nfe: int,
                     solver: str, guidance: float, seed: int, max_frames: int = 20000,
                     generated: dict[float, str | Path] | None = None, **options) -> dict:
    """``generated``: guidance strength -> a generate directory of the trained model's samples
    at that strength, read instead of sampling again."""
    values: dict[str, list[float]] = {}
    runs = [("masked_l1_trained", trained, 0.0), ("masked_l1_untrained", untrained, 0.0)]
    if guidance:
        runs.append(("masked_l1_trained_guided", trained, guidance))
    generated = {float(g): d for g, d in (generated or {}).items()}
    unused = set(generated) - {g for name, synth, g in runs if synth is trained}
    if unused:
        g = min(unused)
        uses = f"0 and {guidance:g}" if guidance else "0 only"
        hint = f" (pass --guidance {g:g} to report it)" if not guidance else ""
        raise VoiceflowError(f"{generated[g]}: sampled with guidance {g:g}, which the report does not use "
                             f"({uses}){hint}")
    reused = {}
    for name, synth, g in runs:
        if synth is trained and g in generated:
            values[name] = generated_l1_values(generated[g], trained, items, nfe, solver, g, seed, **options)
            reused[name] = str(generated[g])
        else:
            values[name] = masked_l1_values(synth, items, nfe, solver, g, seed, max_frames, **options)
    values["masked_l1_mean_fill"] = [span_l1(mean_fill(it), it.mel, it.mask) for it in items]
    report = _summarise(values, [it.meta.get("speaker", "") for it in items])
    trained_l1 = report["masked_l1_trained"]
    report["ratio_trained_to_mean_fill"] = trained_l1 / report["masked_l1_mean_fill"]
    report["ratio_trained_to_untrained"] = trained_l1 / report["masked_l1_untrained"]
    report["items"] = len(items)
    report["masked_seconds_mean"] = sum(
        it.mask.sum().item() for it in items) / len(items) * trained.cfg.mel.hop_length / trained.cfg.mel.sample_rate
    report["sampling"] = {"solver": solver, "nfe": nfe, "guidance": guidance, "seed": seed, **options}
    if reused:
        report["read_from_generated"] = reused
    return report


def check_report(report: dict) -> None:
    """Raise a VoiceflowError unless the trained model beats both baselines by the margins."""
    failures = []
    if report["ratio_trained_to_mean_fill"] > MAX_RATIO_TO_MEAN_FILL:
        failures.append(f"trained/mean-fill {report['ratio_trained_to_mean_fill']:.3f} > {MAX_RATIO_TO_MEAN_FILL}")
    if report["ratio_trained_to_untrained"] > MAX_RATIO_TO_UNTRAINED:
        failures.append(f"trained/untrained {report['ratio_trained_to_untrained']:.3f} > {MAX_RATIO_TO_UNTRAINED}")
    if failures:
        raise VoiceflowError("the trained model did not learn enough: " + "; ".join(failures))
