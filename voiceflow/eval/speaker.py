"""Speaker-verification backends for SIM-o / SIM-r: 16 kHz waveform in, unit-norm embedding out.

Specs (``--speaker``):

- ``resemblyzer`` (default, offline): the GE2E d-vector encoder whose weights ship inside the
  resemblyzer 0.1.4 wheel (its own preprocessing: loudness normalisation, webrtcvad silence
  trimming).
- ``wavlm:<folder or hub id>``: transformers ``WavLMForXVector`` (for example
  ``microsoft/wavlm-base-plus-sv``) with its feature extractor. The Voicebox paper's SIM
  uses a WavLM-large ECAPA-TDNN verifier that transformers does not provide; this is the
  closest model transformers loads, so values are comparable between systems scored here,
  not with the paper's.

Similarity is the cosine of the two embeddings. If the requested backend cannot be loaded,
one line says so and resemblyzer is used.
"""

from __future__ import annotations

from typing import Callable

import torch

from voiceflow.eval.backend import Unavailable, from_folder_or_hub, load_with_fallback, local_or_hub

__all__ = ["FALLBACK", "ResemblyzerSpeaker", "WavLMSpeaker", "load_speaker", "cosine"]

FALLBACK = "resemblyzer"
SAMPLE_RATE = 16000


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.flatten().double(), b.flatten().double(), dim=0))


class ResemblyzerSpeaker:
    sample_rate = SAMPLE_RATE

    def __init__(self, device: str | torch.device = "cpu"):
        try:
            from resemblyzer import VoiceEncoder, preprocess_wav
        except ImportError as e:
            raise Unavailable(f"resemblyzer not installed ({e.name or e}); pip install webrtcvad-wheels, "
                              "then pip install --no-deps resemblyzer==0.1.4") from None
        self._preprocess = preprocess_wav
        self.encoder = VoiceEncoder(device=torch.device(device), verbose=False)
        self.name = "resemblyzer"

    def embed(self, wav: torch.Tensor) -> torch.Tensor:
        """Unit-norm d-vector of a (samples,) float waveform at 16 kHz."""
        audio = self._preprocess(wav.numpy(), source_sr=SAMPLE_RATE)
        if audio.size < SAMPLE_RATE // 10:  # all trimmed as silence: embed the raw signal
            audio = wav.numpy()
        return torch.from_numpy(self.encoder.embed_utterance(audio)).float()


class WavLMSpeaker:
    def __init__(self, source: str, device: str | torch.device = "cpu"):
        source = local_or_hub(source)
        from transformers import AutoFeatureExtractor, WavLMForXVector

        def load(src, **kwargs):
            return AutoFeatureExtractor.from_pretrained(src, **kwargs), WavLMForXVector.from_pretrained(src, **kwargs)

        self.extractor, model = from_folder_or_hub(load, source)
        self.model = model.to(device).eval()
        self.sample_rate = int(getattr(self.extractor, "sampling_rate", SAMPLE_RATE))
        self.device = torch.device(device)
        self.name = f"wavlm:{source}"

    @torch.inference_mode()
    def embed(self, wav: torch.Tensor) -> torch.Tensor:
        """Unit-norm x-vector of a (samples,) float waveform at :attr:`sample_rate`."""
        inputs = self.extractor(wav.numpy(), sampling_rate=self.sample_rate, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items() if isinstance(v, torch.Tensor)}
        emb = self.model(**inputs).embeddings[0].float().cpu()
        return torch.nn.functional.normalize(emb, dim=0)


def load_speaker(spec: str = "resemblyzer", device: str | torch.device = "cpu",
                 notice: Callable[[str], object] | None = print):
    """A speaker backend for ``spec`` (see the module docstring), falling back to resemblyzer."""
    loaders = {"resemblyzer": lambda source: ResemblyzerSpeaker(device),
               "wavlm": lambda source: WavLMSpeaker(source, device)}
    return load_with_fallback(spec, loaders, FALLBACK, notice)
