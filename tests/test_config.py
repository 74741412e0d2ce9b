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
