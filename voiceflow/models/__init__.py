"""Plain ``nn.Module``s: no I/O, no losses. See :mod:`voiceflow.models.audio_model`."""

from voiceflow.models.audio_model import VoiceboxAudioModel
from voiceflow.models.duration_model import DurationModel
from voiceflow.models.packing import Pack, make_pack

__all__ = ["VoiceboxAudioModel", "DurationModel", "Pack", "make_pack"]
