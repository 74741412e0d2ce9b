"""VocosVocoder from a hub id, resolved offline from a fake Hugging Face cache.

The cache is laid out as huggingface_hub writes it::

    <HF_HUB_CACHE>/models--some-org--tiny-vocos/
        refs/main                          the commit hash, no newline
        blobs/<sha256>                     file contents
        snapshots/<hash>/config.yaml       -> ../../blobs/<sha256>
        snapshots/<hash>/pytorch_model.bin -> ../../blobs/<sha256>

``huggingface_hub`` reads ``HF_HUB_CACHE`` / ``HF_HUB_OFFLINE`` into ``huggingface_hub.constants``
when it is imported, so the fixture sets both the environment and those constants.
"""

from __future__ import annotations

import hashlib
import os

import pytest
import torch

from voiceflow.errors import VoiceflowError
from voiceflow.vocoder import HubFetchError, VocosVocoder, load_vocoder

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty offline HF hub cache under tmp_path; returns its root."""
    import huggingface_hub.constants as hf_constants

    root = tmp_path / "hf-cache"
    root.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(root))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return root


def add_to_cache(root, repo_id, folder, commit=COMMIT):
    """Put the files of ``folder`` into the cache as snapshot ``commit`` of ``repo_id`` (main)."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs").mkdir()
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for src in folder.iterdir():
        data = src.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / src.name)


def test_hub_id_loads_from_the_offline_cache(hf_cache, tiny_vocos, sweep, log_mel):
    folder, model = tiny_vocos
    add_to_cache(hf_cache, "some-org/tiny-vocos", folder)
    mel = log_mel(sweep[None])
    expected = model.decode(mel)
    for spec in ("some-org/tiny-vocos", f"some-org/tiny-vocos@{COMMIT}"):
        voc = load_vocoder(spec)
        assert isinstance(voc, VocosVocoder) and voc.source == "hub:some-org/tiny-vocos"
        torch.testing.assert_close(voc(mel), expected, rtol=0, atol=0)


def test_hf_hub_download_agrees_with_the_fake_cache(hf_cache, tiny_vocos):
    """Guards the fixture itself: huggingface_hub resolves refs/main to our snapshot."""
    from huggingface_hub import hf_hub_download

    folder, _ = tiny_vocos
    add_to_cache(hf_cache, "some-org/tiny-vocos", folder)
    path = hf_hub_download("some-org/tiny-vocos", "config.yaml")
    assert path.startswith(str(hf_cache)) and COMMIT in path
    assert open(path, "rb").read() == (folder / "config.yaml").read_bytes()


def test_missing_repo_offline_is_a_one_line_error(hf_cache):
    with pytest.raises(HubFetchError) as err:
        load_vocoder("some-org/no-such-vocos")
    message = str(err.value)
    assert isinstance(err.value, VoiceflowError) and "\n" not in message
    assert "some-org/no-such-vocos" in message and "pass that folder" in message
    assert "no local folder some-org/no-such-vocos" in message


def test_missing_weights_in_the_cache(hf_cache, tiny_vocos):
    folder, _ = tiny_vocos
    (folder / "pytorch_model.bin").unlink()
    add_to_cache(hf_cache, "some-org/tiny-vocos", folder)
    needle = "could not fetch pytorch_model.bin of vocos repo some-org/tiny-vocos"
    with pytest.raises(HubFetchError, match=needle):
        VocosVocoder.from_hub("some-org/tiny-vocos")
