"""Audio: waveform I/O (soundfile), resampling, THE mel definition and global mel statistics.

Public API::

    from voiceflow import audio

    wav = audio.load_audio("a.flac", 24000)   # (samples,) float32 mono
    mel = audio.log_mel(wav)                  # (n_mels, frames), the vocos-mel-24khz contract
    audio.save_wav("out.wav", wav, 24000)     # 16-bit PCM, atomic
    x = audio.normalise(mel, audio.MelStats.load("stats.json"))
"""

from voiceflow.audio.io import audio_duration, load_audio, save_wav
from voiceflow.audio.mel import LogMel, log_mel, num_frames
from voiceflow.audio.stats import MelStats, StatsAccumulator, denormalise, normalise

__all__ = [
    "load_audio",
    "save_wav",
    "audio_duration",
    "log_mel",
    "LogMel",
    "num_frames",
    "MelStats",
    "StatsAccumulator",
    "normalise",
    "denormalise",
]
