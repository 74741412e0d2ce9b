"""load_vocoder: how a --vocoder value is resolved."""

from __future__ import annotations

import pytest

from voiceflow.config import MelConfig
from voiceflow.errors import VoiceflowError
from voiceflow.vocoder import FALLBACK_NOTICE, GriffinLimVocoder, Vocoder, VocosVocoder, load_vocoder


@pytest.mark.parametrize("spec", [None, ""])
def test_no_spec_gives_griffinlim_and_one_notice_line(spec, capsys):
    voc = load_vocoder(spec, MelConfig())
    assert isinstance(voc, GriffinLimVocoder) and isinstance(voc, Vocoder)
    out = capsys.readouterr().out
    assert out == FALLBACK_NOTICE + "\n" and out.count("\n") == 1
    assert "Griffin-Lim" in out and "--vocoder" in out


def test_notice_goes_to_the_given_callable(capsys):
    lines = []
    load_vocoder(None, notice=lines.append)
    assert lines == [FALLBACK_NOTICE] and capsys.readouterr().out == ""
    load_vocoder(None, notice=None)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("spec", ["griffinlim", "Griffin-Lim"])
def test_explicit_griffinlim_is_silent(spec, capsys):
    voc = load_vocoder(spec, MelConfig(), device="cpu")
    assert isinstance(voc, GriffinLimVocoder) and voc.device.type == "cpu"
    assert capsys.readouterr().out == ""


def test_existing_folder_is_vocos_even_if_it_looks_like_a_hub_id(tiny_vocos, monkeypatch):
    folder, _ = tiny_vocos
    monkeypatch.chdir(folder.parent.parent)
    spec = f"{folder.parent.name}/{folder.name}"  # "<tmp>/tiny-vocos": owner/name shaped
    assert isinstance(load_vocoder(spec), VocosVocoder)


@pytest.mark.parametrize("spec", ["./no-such-dir", "/no/such/vocos/dir", "a/b/c", "~/no-such-vocos-dir"])
def test_missing_path_is_a_voiceflow_error(spec):
    with pytest.raises(VoiceflowError, match="vocoder not found"):
        load_vocoder(spec)


def test_file_instead_of_folder(tmp_path):
    (tmp_path / "vocos.bin").write_bytes(b"")
    with pytest.raises(VoiceflowError, match="expected a vocos folder"):
        load_vocoder(str(tmp_path / "vocos.bin"))
