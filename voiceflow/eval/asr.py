"""ASR backends for WER / CER: 16 kHz mono waveform in, text out.

Specs (``--asr``):

- ``pocketsphinx`` (default, offline): CMU PocketSphinx 5 with the US English model that
  ships inside its wheel. Weak (WER 0.2-0.4 on clean read speech), so its numbers rank
  systems by intelligibility; they are not comparable with papers.
- ``transformers:<folder or hub id>``: any transformers speech recogniser. An
  encoder-decoder config (Whisper, Speech2Text) loads with ``AutoModelForSpeechSeq2Seq`` and
  decodes with ``generate``; anything else with ``AutoModelForCTC`` (wav2vec 2.0, HuBERT,
  WavLM fine-tuned for CTC) and greedy CTC decoding. The processor (``AutoProcessor``) gives
  the input rate and the tokenizer. A folder is used when it exists; a hub id only when the
  hub or its local cache has it.

If the requested backend cannot be loaded, one line says so and pocketsphinx is used
(:func:`voiceflow.eval.backend.load_with_fallback`).

Every transcription depends on its own audio only: pocketsphinx's feature state (its live
cepstral mean, carried from one utterance to the next by default) is reset before each one,
so a WER does not depend on which recordings were transcribed before, and
:func:`voiceflow.eval.file_work.transcribe_files` can spread pocketsphinx over processes
with identical results.

Usage::

    asr = load_asr("transformers:openai/whisper-large-v3", device="cuda")
    text = asr.transcribe(load_audio("a.wav", 16000))
"""

from __future__ import annotations

from typing import Callable

import torch

from voiceflow.eval.backend import Unavailable, from_folder_or_hub, load_with_fallback, local_or_hub

__all__ = ["FALLBACK", "PocketsphinxASR", "TransformersASR", "load_asr"]

FALLBACK = "pocketsphinx"
SAMPLE_RATE = 16000


class PocketsphinxASR:
    """PocketSphinx 5 with its bundled en-us acoustic model, dictionary and language model."""

    sample_rate = SAMPLE_RATE

    def __init__(self):
        try:
            from pocketsphinx import Decoder
        except ImportError as e:
            raise Unavailable(f"pocketsphinx not installed ({e.name or e}); pip install pocketsphinx==5.1.1") from None
        self.name = "pocketsphinx"
        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def transcribe(self, wav: torch.Tensor) -> str:
        """Text of a (samples,) float waveform at 16 kHz."""
        return self.transcribe_pcm(to_pcm16(wav))

    def transcribe_pcm(self, pcm: bytes) -> str:
        """Text of 16-bit little-endian mono PCM at 16 kHz."""
        # Without this reset the cepstral mean adapted on the previous utterance shapes the
        # next one's features: the same recording got different words depending on what was
        # decoded before it (measured on demo outputs: 2 of 8 hypotheses changed).
        self.decoder.reinit_feat()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def to_pcm16(wav: torch.Tensor) -> bytes:
    """(samples,) float waveform in [-1, 1] -> 16-bit PCM bytes (clipped)."""
    return (wav.clamp(-1, 1) * 32767).round().to(torch.int16).numpy().tobytes()


class TransformersASR:
    """A transformers recogniser from a folder or a hub id (CTC or sequence-to-sequence)."""

    def __init__(self, source: str, device: str | torch.device = "cpu"):
        source = local_or_hub(source)
        from transformers import AutoConfig, AutoModelForCTC, AutoModelForSpeechSeq2Seq, AutoProcessor

        def load(src, **kwargs):
            config = AutoConfig.from_pretrained(src, **kwargs)
            seq2seq = bool(getattr(config, "is_encoder_decoder", False))
            auto = AutoModelForSpeechSeq2Seq if seq2seq else AutoModelForCTC
            return AutoProcessor.from_pretrained(src, **kwargs), auto.from_pretrained(src, **kwargs), seq2seq

        self.processor, model, self.seq2seq = from_folder_or_hub(load, source)
        self.model = model.to(device).eval()
        self.extractor = extractor = getattr(self.processor, "feature_extractor", self.processor)
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.sample_rate = int(getattr(extractor, "sampling_rate", SAMPLE_RATE))
        self.device = torch.device(device)
        self.name = f"transformers:{source}"

    @torch.inference_mode()
    def transcribe(self, wav: torch.Tensor) -> str:
        """Text of a (samples,) float waveform at :attr:`sample_rate`."""
        inputs = self.extractor(wav.numpy(), sampling_rate=self.sample_rate, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items() if isinstance(v, torch.Tensor)}
        if self.seq2seq:
            ids = self.model.generate(**inputs)
            return self.tokenizer.batch_decode(ids, skip_special_tokens=True)[0].strip()
        ids = self.model(**inputs).logits.argmax(-1)
        # CTC: repeats merged, blanks dropped; <unk> and other special tokens are not words
        return self.tokenizer.batch_decode(ids, skip_special_tokens=True)[0].strip()


def load_asr(spec: str = "pocketsphinx", device: str | torch.device = "cpu",
             notice: Callable[[str], object] | None = print):
    """An ASR backend for ``spec`` (see the module docstring), falling back to pocketsphinx."""
    loaders = {"pocketsphinx": lambda source: PocketsphinxASR(),
               "transformers": lambda source: TransformersASR(source, device)}
    return load_with_fallback(spec, loaders, FALLBACK, notice)
