"""The ``voiceflow`` console script: ``voiceflow <command> [args]``.

Each command is a thin module in :mod:`voiceflow.bin` that can also be run as
``python -m voiceflow.bin.<module>`` (and ``accelerate launch -m voiceflow.bin.train``).

Commands::

    voiceflow download  fetch a public corpus (resumable, checksums verified where published)
    voiceflow prepare   manifests of a corpus in its own layout (LJSpeech, LibriTTS(-R), VCTK, LibriHeavy, LibriSpeech)
    voiceflow phonemize normalise transcripts and check that the G2P can say them
    voiceflow align     force-align a manifest (pocketsphinx en-us, the G2P's phones) or import MFA TextGrids
    voiceflow phones    build the phone inventory from aligned manifests
    voiceflow features  log-mel features (+ global statistics) for a manifest, one .npy per utterance
    voiceflow shards    log-mels, phone ids and durations in streaming shards (+ global statistics)
    voiceflow train     train the audio or duration model (accelerate; resumes automatically)
    voiceflow train-vocoder  train or fine-tune vocos on a corpus (accelerate; resumes automatically)
    voiceflow evalset   the Voicebox LibriSpeech test-clean sets (cross-sentence, continuation) as synth items
    voiceflow tts       zero-shot TTS: new text in the voice of a prompt recording
    voiceflow edit      regenerate the words that changed between a recording's transcript and a new text
    voiceflow denoise   regenerate a span of a recording from its transcript
    voiceflow continue  speak the rest of a text in the voice of a recording that begins it
    voiceflow synth     run a manifest of tts / edit / denoise / continue items into one directory
    voiceflow infill    regenerate a time span of one recording (given its alignment)
    voiceflow generate  infill a manifest of items into a self-describing wav directory
    voiceflow score     masked-region L1 of a checkpoint on held-out spans (report.json)
    voiceflow likelihood  masked-region negative log-likelihood per item (nats/dim, bits/frame)
    voiceflow ablation  masked L1 (per sampler and NFE) and NLL of several checkpoints, one table
    voiceflow eval      WER/CER, SIM-o/SIM-r, MCD, F0 error, predicted MOS of wav dirs (metrics.json)
    voiceflow listen    listening tests: build a static MOS/SMOS/CMOS/AB/MUSHRA page; analyze results
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "download": "voiceflow.bin.download",
    "prepare": "voiceflow.bin.prepare",
    "phonemize": "voiceflow.bin.phonemize",
    "phones": "voiceflow.bin.phones",
    "features": "voiceflow.bin.features",
    "shards": "voiceflow.bin.shards",
    "train": "voiceflow.bin.train",
    "train-vocoder": "voiceflow.bin.train_vocoder",
    "evalset": "voiceflow.bin.evalset",
    "tts": "voiceflow.bin.tts",
    "edit": "voiceflow.bin.edit",
    "denoise": "voiceflow.bin.denoise",
    "continue": "voiceflow.bin.continuation",
    "synth": "voiceflow.bin.synth",
    "infill": "voiceflow.bin.infill",
    "generate": "voiceflow.bin.generate",
    "score": "voiceflow.bin.score",
    "likelihood": "voiceflow.bin.likelihood",
    "ablation": "voiceflow.bin.ablation",
    "eval": "voiceflow.bin.evaluate",
    "listen": "voiceflow.bin.listen",
    "align": "voiceflow.bin.align",
}


def help_text() -> str:
    """The module docstring as plain text (:func:`voiceflow.bin.common.plain_text`)."""
    from voiceflow.bin.common import plain_text

    return plain_text(__doc__.strip()) + "\n\nRun 'voiceflow <command> --help' for a command's options."


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(help_text())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r} (one of: {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name])
    return module.main(rest) or 0


if __name__ == "__main__":
    raise SystemExit(main())
