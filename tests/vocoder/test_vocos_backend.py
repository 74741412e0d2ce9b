"""VocosVocoder from a local folder: same output as vocos itself, exact lengths, clear errors."""

from __future__ import annotations

import pytest
import torch
import yaml

from voiceflow.config import MelConfig
from voiceflow.errors import VoiceflowError
from voiceflow.vocoder import VocosVocoder, load_vocoder

HOP = 256


def test_local_folder_decodes_like_vocos(tiny_vocos, sweep, log_mel):
    folder, model = tiny_vocos
    voc = load_vocoder(str(folder), MelConfig())
    assert isinstance(voc, VocosVocoder) and voc.name == "vocos" and voc.sample_rate == 24000
    mel = log_mel(torch.stack([sweep, 0.5 * sweep]))  # (2, 100, T)
    frames = mel.shape[-1]
    wav = voc(mel)
    assert wav.shape == (2, (frames - 1) * HOP) == (2, sweep.numel())
    # the public mel-24khz head (padding "center") already returns (T - 1) * hop samples
    expected = model.decode(mel)
    assert expected.shape == wav.shape
    torch.testing.assert_close(wav, expected, rtol=0, atol=0)
    # an unbatched mel gives an unbatched waveform, the same samples
    torch.testing.assert_close(voc(mel[1]), expected[1], rtol=0, atol=1e-6)
    assert not voc.training and not any(p.requires_grad for p in voc.parameters())


def test_same_padding_head_is_trimmed_to_the_analysis_alignment(make_vocos, tmp_path, sweep, log_mel):
    model = make_vocos(tmp_path / "same", head_padding="same")
    voc = load_vocoder(str(tmp_path / "same"))
    mel = log_mel(sweep[None])
    frames = mel.shape[-1]
    raw = model.decode(mel)
    assert raw.shape[-1] == frames * HOP  # "same" returns one hop more...
    wav = voc(mel)
    assert wav.shape[-1] == (frames - 1) * HOP  # ...centred half a hop late
    torch.testing.assert_close(wav, raw[:, HOP // 2 : HOP // 2 + (frames - 1) * HOP], rtol=0, atol=0)


@pytest.mark.parametrize(
    "config_kw, mel_cfg, needle",
    [
        (dict(n_mels=80), MelConfig(), "n_mels 80 (vocos) vs 100 (config)"),
        (dict(padding="same"), MelConfig(), "padding same (vocos) vs center (config)"),
        (dict(), MelConfig(hop_length=240), "hop_length 256 (vocos) vs 240 (config)"),
        (dict(), MelConfig(f_max=8000.0), "f_max 12000.0 (vocos) vs 8000.0 (config)"),
        (dict(), MelConfig(log_floor=1e-5), "log_floor"),
    ],
)
def test_mel_config_mismatch_is_refused(make_vocos, tmp_path, config_kw, mel_cfg, needle):
    make_vocos(tmp_path / "v", **config_kw)
    with pytest.raises(VoiceflowError, match="trained on other mel features") as err:
        VocosVocoder.from_local(tmp_path / "v", mel_cfg)
    message = str(err.value)
    assert needle in message and str(tmp_path / "v") in message and "\n" not in message


def test_missing_weights_file(make_vocos, tmp_path):
    make_vocos(tmp_path / "v")
    (tmp_path / "v" / "pytorch_model.bin").unlink()
    with pytest.raises(VoiceflowError, match="no pytorch_model.bin"):
        load_vocoder(str(tmp_path / "v"))


def test_weights_of_another_model_are_refused(make_vocos, tmp_path):
    make_vocos(tmp_path / "v")
    make_vocos(tmp_path / "other")
    cfg = yaml.safe_load((tmp_path / "v" / "config.yaml").read_text())
    cfg["backbone"]["init_args"]["num_layers"] = 3  # one layer more than the weights hold
    (tmp_path / "v" / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(VoiceflowError, match="weights do not fit config.yaml.*missing"):
        load_vocoder(str(tmp_path / "v"))
    cfg["backbone"]["init_args"].update(num_layers=2, dim=32)  # same keys, other shapes
    cfg["head"]["init_args"]["dim"] = 32
    (tmp_path / "v" / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(VoiceflowError, match="weights do not fit config.yaml"):
        load_vocoder(str(tmp_path / "v"))


def test_corrupt_weights_and_config(make_vocos, tmp_path):
    make_vocos(tmp_path / "v")
    (tmp_path / "v" / "pytorch_model.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(VoiceflowError, match="pytorch_model.bin: cannot read vocos weights"):
        load_vocoder(str(tmp_path / "v"))
    (tmp_path / "v" / "config.yaml").write_text("backbone: [unclosed")
    with pytest.raises(VoiceflowError, match="config.yaml: not a readable vocos config"):
        load_vocoder(str(tmp_path / "v"))


def test_encodec_vocos_is_refused_without_building_it(make_vocos, tmp_path):
    make_vocos(tmp_path / "v")
    cfg = yaml.safe_load((tmp_path / "v" / "config.yaml").read_text())
    cfg["feature_extractor"] = {"class_path": "vocos.feature_extractors.EncodecFeatures", "init_args": {}}
    (tmp_path / "v" / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(VoiceflowError, match="feature extractor is vocos.feature_extractors.EncodecFeatures"):
        load_vocoder(str(tmp_path / "v"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_vocos_on_gpu_matches_cpu(tiny_vocos, sweep, log_mel):
    folder, _ = tiny_vocos
    mel = log_mel(sweep[None])
    cpu = load_vocoder(str(folder))(mel)
    gpu = load_vocoder(str(folder), device="cuda")
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu(mel).cpu(), cpu, rtol=1e-3, atol=1e-4)
