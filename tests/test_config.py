"""Typed configs: presets, overrides, unknown keys and wrong types are errors."""

import pytest

from voiceflow.config import MODEL_PRESETS, load_config, save_config
from voiceflow.errors import VoiceflowError


def test_presets_and_overrides(tmp_path):
    cfg = load_config(None, ["model.preset=paper", "model.depth=12", "train.lr=3e-4", "train.mixed_precision=no"])
    assert cfg.model.dim == MODEL_PRESETS["paper"]["dim"] and cfg.model.depth == 12
    assert cfg.train.lr == pytest.approx(3e-4) and cfg.train.mixed_precision == "no"
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  preset: small\n  heads: 4\ntrain:\n  mixed_precision: no\n")
    cfg = load_config(path)
    assert (cfg.model.dim, cfg.model.heads) == (MODEL_PRESETS["small"]["dim"], 4)
    assert cfg.train.mixed_precision == "no"  # YAML 1.1 would have made this False
    save_config(cfg, tmp_path / "saved.yaml")
    assert load_config(tmp_path / "saved.yaml") == cfg


@pytest.mark.parametrize("override,message", [
    ("model.depht=3", "unknown config key: model.depht"),
    ("nothing=1", "unknown config key: nothing"),
    ("model.depth=three", "expected int"),
    ("model.compile=3", "expected true/false"),
    ("model.preset=huge", "unknown preset"),
    ("model", "expected key=value"),
])
def test_bad_overrides(override, message):
    with pytest.raises(VoiceflowError, match=message):
        load_config(None, [override])


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(VoiceflowError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [\n")
    with pytest.raises(VoiceflowError, match="not valid YAML"):
        load_config(bad)


def test_an_override_error_names_the_override_not_the_file(tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text("train:\n  max_steps: 10\n")
    with pytest.raises(VoiceflowError) as e:
        load_config(conf, ["train.max_step=10"])
    assert str(e.value) == ("command-line override 'train.max_step=10': unknown config key: train.max_step "
                            "(did you mean train.max_steps?)")
    conf.write_text("train:\n  max_step: 10\n")
    with pytest.raises(VoiceflowError, match=rf"^{conf}: unknown config key: train.max_step \(did you mean"):
        load_config(conf)


def test_a_frame_budget_below_the_longest_crop_is_a_config_error():
    with pytest.raises(VoiceflowError, match=r"data.max_utt_frames \(3000\) exceeds data.max_frames \(100\)"):
        load_config(None, ["data.max_frames=100"])
    assert load_config(None, ["data.max_frames=100", "data.max_utt_frames=100"]).data.max_frames == 100
    assert load_config(None, ["task=duration", "data.max_frames=100"]).task == "duration"  # phone budgets
