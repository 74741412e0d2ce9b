"""voiceflow.audio.io: reading any wav/flac as mono float32 at a chosen rate, atomic 16-bit writes."""

import numpy as np
import pytest
import soundfile
import torch

from voiceflow.audio import load_audio, save_wav
from voiceflow.audio.io import audio_duration
from voiceflow.errors import VoiceflowError


def sine(freq, seconds, sr, amp=0.5):
    t = np.arange(int(round(seconds * sr))) / sr
    return amp * np.sin(2 * np.pi * freq * t)


def peak_hz(wav: torch.Tensor, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wav.numpy() * np.hanning(len(wav))))
    return float(np.fft.rfftfreq(len(wav), 1 / sr)[spectrum.argmax()])


def test_stereo_flac_44k1_becomes_mono_24k(tmp_path):
    left, right = sine(440, 1.0, 44100, 0.6), sine(440, 1.0, 44100, 0.2)
    path = tmp_path / "stereo.flac"
    soundfile.write(path, np.stack([left, right], axis=1), 44100, subtype="PCM_16")

    wav = load_audio(path, 24000)

    assert wav.dtype == torch.float32 and wav.dim() == 1
    assert len(wav) == 24000
    assert peak_hz(wav, 24000) == pytest.approx(440, abs=1)
    # channels are averaged: amplitude (0.6 + 0.2) / 2, away from the resampler's edges
    assert wav[1000:-1000].abs().max().item() == pytest.approx(0.4, abs=0.01)


def test_int16_wav_8k_becomes_24k(tmp_path):
    path = tmp_path / "narrow.wav"
    soundfile.write(path, sine(1000, 0.5, 8000), 8000, subtype="PCM_16")

    wav = load_audio(path, 24000)

    assert soundfile.info(path).subtype == "PCM_16"
    assert len(wav) == 12000
    assert peak_hz(wav, 24000) == pytest.approx(1000, abs=2)
    assert wav[500:-500].abs().max().item() == pytest.approx(0.5, abs=0.01)
    # upsampling a band-limited sine reproduces it
    expected = torch.from_numpy(sine(1000, 0.5, 24000)).float()
    assert torch.allclose(wav[500:-500], expected[500:-500], atol=0.01)


def test_same_rate_reads_exact_samples_and_averages_channels(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.uniform(-0.9, 0.9, size=(1000, 3)).astype(np.float32)
    path = tmp_path / "three.wav"
    soundfile.write(path, data, 24000, subtype="FLOAT")

    wav = load_audio(path, 24000)

    assert torch.allclose(wav, torch.from_numpy(data.mean(axis=1)), atol=1e-7)
    assert wav.is_contiguous()


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(VoiceflowError, match="nope.wav: audio file not found"):
        load_audio(path, 24000)
    with pytest.raises(VoiceflowError, match="nope.wav"):
        audio_duration(path)


def test_corrupt_file(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk-not-audio")
    with pytest.raises(VoiceflowError, match=r"broken.wav: cannot read audio \(.+\)"):
        load_audio(path, 24000)
    with pytest.raises(VoiceflowError, match="broken.wav"):
        audio_duration(path)


def test_truncated_flac(tmp_path):
    path = tmp_path / "cut.flac"
    soundfile.write(path, sine(300, 0.2, 16000), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VoiceflowError, match="cut.flac"):
        load_audio(path, 24000)


def test_empty_files(tmp_path):
    zero_bytes = tmp_path / "zero.wav"
    zero_bytes.write_bytes(b"")
    with pytest.raises(VoiceflowError, match="zero.wav: audio file is empty"):
        load_audio(zero_bytes, 24000)

    no_samples = tmp_path / "nosamples.wav"
    soundfile.write(no_samples, np.zeros(0, dtype=np.float32), 24000)
    with pytest.raises(VoiceflowError, match=r"nosamples.wav: audio is empty \(0 samples\)"):
        load_audio(no_samples, 24000)
    with pytest.raises(VoiceflowError, match=r"nosamples.wav: audio is empty \(0 samples\)"):
        audio_duration(no_samples)  # from the header alone


def test_nan_or_inf_samples_are_refused_when_read(tmp_path):
    for bad in (np.nan, np.inf):
        data = np.zeros(2400, dtype=np.float32)
        data[100] = bad
        path = tmp_path / "bad.wav"
        soundfile.write(path, data, 24000, subtype="FLOAT")
        with pytest.raises(VoiceflowError, match="bad.wav: audio contains NaN or infinite samples"):
            load_audio(path, 16000)


def test_audio_duration_from_header(tmp_path):
    path = tmp_path / "a.flac"
    soundfile.write(path, np.zeros(24000 + 12000), 24000)
    assert audio_duration(path) == pytest.approx(1.5)


def test_save_wav_round_trip_and_leaves_no_temp_files(tmp_path):
    wav = torch.from_numpy(sine(220, 0.25, 24000, 0.8)).float()
    path = tmp_path / "out" / "deep" / "x.wav"  # parents are created

    save_wav(path, wav, 24000)

    info = soundfile.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (24000, 1, "PCM_16", "WAV")
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.wav"]
    back = load_audio(path, 24000)
    assert back.shape == wav.shape
    assert (back - wav).abs().max().item() <= 1 / 32768 + 1e-7


def test_save_wav_accepts_numpy_and_clips_with_a_notice(tmp_path, capsys):
    path = tmp_path / "loud.wav"
    save_wav(path, np.array([2.0, -3.0, 0.5, 0.0]), 16000)
    data, sr = soundfile.read(path, dtype="int16")
    assert sr == 16000
    assert data.tolist() == [32767, -32768, 16384, 0]
    assert f"notice: {path}: 50.0 % of the samples were beyond full scale and are clipped (peak 3.00)" in \
        capsys.readouterr().err
    save_wav(path, np.full(2000, 0.5), 16000)  # nothing clipped: nothing said
    assert capsys.readouterr().err == ""


def test_save_wav_writes_flac_for_a_flac_name(tmp_path):
    save_wav(tmp_path / "x.flac", torch.zeros(480), 24000)
    assert soundfile.info(tmp_path / "x.flac").format == "FLAC"


def test_save_wav_from_grad_tensor(tmp_path):
    wav = torch.zeros(100, requires_grad=True)
    save_wav(tmp_path / "g.wav", wav * 1, 24000)
    assert soundfile.info(tmp_path / "g.wav").frames == 100


def test_save_wav_rejects_bad_input_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="1-D"):
        save_wav(tmp_path / "two.wav", torch.zeros(2, 100), 24000)
    with pytest.raises(ValueError, match="NaN"):
        save_wav(tmp_path / "nan.wav", torch.tensor([0.0, float("nan")]), 24000)
    assert list(tmp_path.iterdir()) == []


def test_save_wav_replaces_existing_file(tmp_path):
    path = tmp_path / "x.wav"
    save_wav(path, np.zeros(10), 24000)
    save_wav(path, np.full(20, 0.25), 24000)
    assert soundfile.info(path).frames == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]


def test_segment_of_a_long_recording(tmp_path):
    """offset/duration read only [offset, offset + duration) (LibriHeavy cuts of LibriLight books)."""
    import numpy as np
    import soundfile

    from voiceflow.audio import load_audio
    from voiceflow.errors import VoiceflowError

    ramp = (np.arange(16000 * 3) % 1000 / 1000.0).astype(np.float32) * 0.5
    path = tmp_path / "book.flac"
    soundfile.write(path, ramp, 16000, subtype="PCM_24")
    seg = load_audio(path, 16000, offset=1.25, duration=0.5)
    assert seg.shape == (8000,)
    np.testing.assert_allclose(seg.numpy(), ramp[20000:28000], atol=1e-6)
    assert load_audio(path, 24000, offset=2.0, duration=0.5).shape == (12000,)
    assert load_audio(path, 16000, offset=2.5).shape == (8000,)  # to the end
    with pytest.raises(VoiceflowError, match="book.flac: segment at 3.500 s lies outside the audio"):
        load_audio(path, 16000, offset=3.5, duration=1.0)
