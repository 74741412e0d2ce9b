"""One table comparing trained models (paths, couplings) and samplers on the same held-out spans.

For every checkpoint and every sampler, the masked-region L1 (as in
:mod:`voiceflow.infer.scoring`: normalised mels, the span's frames, items weighted equally)
at each NFE; per checkpoint the training steps and wall time (``trainer.json``), the path
and coupling it was trained with, and the masked-region negative log-likelihood
(:mod:`voiceflow.infer.likelihood`). The spans are drawn once with the seed, so every cell
sees the same items::

    result = ablation(["exp/ot_independent", "exp/icfm_ot"], "data/test.jsonl", nfes=(4, 8, 16, 32))
    print(to_markdown(result))

Samplers (names of ``SAMPLERS``): ``euler``, ``midpoint``, ``stochastic_euler`` (with
``noise_scale``), ``euler_sway`` (Euler on the F5-TTS sway grid, coefficient -1).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from voiceflow.errors import VoiceflowError
from voiceflow.infer.loading import experiment_dir_of
from voiceflow.infer.scoring import masked_l1_values
from voiceflow.infer.synthesizer import Synthesizer
from voiceflow.train.checkpoint import load_trainer_state, resolve_checkpoint

# name -> (solver, options of Synthesizer.infill_items); stochastic_euler's scale is filled in
SAMPLERS: dict[str, tuple[str, dict]] = {
    "euler": ("euler", {}),
    "midpoint": ("midpoint", {}),
    "stochastic_euler": ("stochastic_euler", {}),
    "euler_sway": ("euler", {"schedule": "sway", "sway": -1.0}),
}


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var / n)


def _training(synth: Synthesizer) -> dict:
    ckpt = synth.loaded.checkpoint
    state = load_trainer_state(ckpt) if (ckpt / "trainer.json").is_file() else {}
    flow = synth.cfg.flow
    return {"path": flow.path, "coupling": flow.coupling, "step": state.get("step"),
            "train_seconds": state.get("train_seconds"), "checkpoint": str(ckpt)}


def _labels(checkpoints: Sequence[Path]) -> list[str]:
    """The experiment's name per checkpoint; where two share it (two checkpoints of one
    experiment, or experiments of one name in different folders), the checkpoint's folder
    name is added, and the whole path where even that repeats."""
    names = [experiment_dir_of(c).name for c in checkpoints]
    labels = [f"{n} ({c.name})" if names.count(n) > 1 and c != experiment_dir_of(c) else n
              for n, c in zip(names, checkpoints)]
    return [str(c) if labels.count(label) > 1 else label for label, c in zip(labels, checkpoints)]


def ablation(checkpoints: Sequence[str | Path], manifest: str | Path, nfes: Sequence[int] = (4, 8, 16, 32),
             samplers: Sequence[str] = tuple(SAMPLERS), noise_scale: float = 0.5,
             span_seconds: tuple[float, float] = (1.0, 2.0), seed: int = 0, device: str | None = None,
             max_frames: int = 20000, likelihood: dict | None = None, max_items: int | None = None) -> dict:
    """Evaluate every checkpoint; ``likelihood`` (None: skip) holds the keyword arguments of
    :func:`voiceflow.infer.likelihood.masked_likelihood` (steps, method, estimator, probes, ...).
    ``max_items`` keeps that many items evenly spread over the manifest (its speakers stay
    balanced when the manifest lists them in equal blocks)."""
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        raise VoiceflowError(f"unknown sampler(s) {', '.join(unknown)}; known: {', '.join(SAMPLERS)}")
    if not checkpoints:
        raise VoiceflowError("no checkpoints to compare")
    models = []
    labels = _labels([resolve_checkpoint(path) for path in checkpoints])
    skipped = sorted({str(n) for n in nfes if n % 2} if "midpoint" in samplers else set(), key=int)
    for path, label in zip(checkpoints, labels):
        synth = Synthesizer(path, device=device)
        items = synth.items_from_manifest(manifest, span_seconds, seed)
        if max_items is not None and max_items < len(items):
            items = [items[i * len(items) // max_items] for i in range(max_items)]
        row = {"name": label, **_training(synth), "masked_l1": {}}
        for name in samplers:
            solver, options = SAMPLERS[name]
            if solver == "stochastic_euler":
                options = {"noise_scale": noise_scale}
            for nfe in nfes:
                if nfe % (2 if solver == "midpoint" else 1):
                    continue
                mean, se = _mean_se(masked_l1_values(synth, items, nfe, solver, 0.0, seed, max_frames, **options))
                row["masked_l1"].setdefault(name, {})[str(nfe)] = {"mean": mean, "se": se}
        if likelihood is not None:
            from voiceflow.infer.likelihood import masked_likelihood

            rows = masked_likelihood(synth.loaded, items, seed=seed, max_frames=max_frames, **likelihood)
            n = len(rows)

            def probe_se(key: str) -> float | None:  # of the mean over items, from the probes' errors
                errors = [r[key] for r in rows]
                return None if None in errors else math.sqrt(sum(e ** 2 for e in errors)) / n

            row["nll"] = {
                "nats_per_dim": sum(r["nll_nats_per_dim"] for r in rows) / n,
                "nats_per_dim_se": probe_se("nll_nats_per_dim_se"),
                "bits_per_frame": sum(r["nll_bits_per_frame"] for r in rows) / n,
                "bits_per_frame_se": probe_se("nll_bits_per_frame_se"),
                **{k: likelihood[k] for k in sorted(likelihood)},
            }
        models.append(row)
    return {"models": models, "items": len(items), "nfes": list(nfes), "samplers": list(samplers),
            "midpoint_skipped_nfes": skipped,
            "noise_scale": noise_scale, "span_seconds": list(span_seconds), "seed": seed,
            "manifest": str(manifest)}


def _with_se(value: float, se: float | None, digits: int) -> str:
    return f"{value:.{digits}f}" + ("" if se is None else f" ± {se:.{digits}f}")


def to_markdown(result: dict) -> str:
    """Two tables: masked L1 per (model, sampler) and NFE; training and likelihood per model."""
    nfes = [str(n) for n in result["nfes"]]
    lines = [f"Masked-region L1 (normalised mels; {result['items']} held-out items, spans of "
             f"{result['span_seconds'][0]:g}-{result['span_seconds'][1]:g} s, seed {result['seed']}, "
             f"no guidance" + (f"; stochastic_euler noise scale {result['noise_scale']:g})"
                               if "stochastic_euler" in result["samplers"] else ")"), "",
             "| model | path | coupling | sampler | " + " | ".join(f"NFE {n}" for n in nfes) + " |",
             "|---|---|---|---|" + "---:|" * len(nfes)]
    for m in result["models"]:
        for sampler, cells in m["masked_l1"].items():
            values = [f"{cells[n]['mean']:.3f}" if n in cells else "-" for n in nfes]
            lines.append(f"| {m['name']} | {m['path']} | {m['coupling']} | {sampler} | " + " | ".join(values) + " |")
    if result.get("midpoint_skipped_nfes"):
        lines += ["", f"midpoint takes two evaluations per step: no cell at odd NFE "
                      f"({', '.join(result['midpoint_skipped_nfes'])})"]
    lines += ["", "| model | steps | training time | NLL nats/dim | NLL bits/frame |", "|---|---:|---:|---:|---:|"]
    for m in result["models"]:
        secs = m.get("train_seconds")
        nll = m.get("nll")
        nats = _with_se(nll["nats_per_dim"], nll["nats_per_dim_se"], 3) if nll else "-"
        bits = _with_se(nll["bits_per_frame"], nll["bits_per_frame_se"], 1) if nll else "-"
        lines.append(f"| {m['name']} | {m['step']} | {f'{secs / 60:.1f} min' if secs else '-'} | {nats} | {bits} |")
    if any(m.get("nll") for m in result["models"]):
        lines += ["", "NLL: the mean over the items; ± is the Hutchinson probes' standard error of that mean "
                      "(not the spread over items; none with a single probe)"]
    return "\n".join(lines) + "\n"
