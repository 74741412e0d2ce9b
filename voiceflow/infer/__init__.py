"""Inference: load a checkpoint, sample with the ODE solvers, vocode, write wav directories."""

from voiceflow.infer.loading import LoadedModel, load_audio_model
from voiceflow.infer.sampler import InfillSampler, compose
from voiceflow.infer.synthesizer import InfillItem, Synthesizer

__all__ = ["LoadedModel", "load_audio_model", "InfillSampler", "compose", "InfillItem", "Synthesizer"]
