"""voiceflow: Voicebox-style speech generation with flow matching.

The package is organised by job (docs/DESIGN.md): ``audio`` (I/O and the mel definition),
``align`` (alignments and frame-level phones), ``text`` (phone inventory), ``data``
(manifests, datasets, batching), ``models`` (plain ``nn.Module``s), ``flow`` (OT-CFM,
masking, solvers, guidance), ``train`` (the accelerate loop), ``infer`` (sampling into wav
directories), ``vocoder`` (vocos and Griffin-Lim) and ``bin`` (command-line entry points).
"""

__version__ = "0.1.0"
__all__ = ["Synthesizer"]


def __getattr__(name: str):
    """``voiceflow.Synthesizer`` without importing torch at ``import voiceflow``."""
    if name == "Synthesizer":
        from voiceflow.infer.synthesizer import Synthesizer

        return Synthesizer
    raise AttributeError(f"module 'voiceflow' has no attribute {name!r}")
