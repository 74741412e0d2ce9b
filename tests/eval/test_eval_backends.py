"""The model backends: offline ones on flite speech (skipped when not installed), transformers
stand-ins loaded from local folders, and the one-line fallback when a model is missing."""

import math

import pytest
import soundfile
import torch

from voiceflow.audio import load_audio
from voiceflow.eval.asr import TransformersASR, load_asr
from voiceflow.eval.backend import Unavailable, load_with_fallback
from voiceflow.eval.file_work import transcribe_files
from voiceflow.eval.speaker import WavLMSpeaker, cosine, load_speaker
from voiceflow.eval.texts import word_errors

from eval_audio import SENTENCES


def test_fallback_prints_one_line_naming_the_fallback():
    lines = []

    def broken(source):
        raise Unavailable("no such folder /nowhere")

    got = load_with_fallback("fancy:/nowhere", {"fancy": broken, "plain": lambda s: "plain model"}, "plain",
                             lines.append)
    assert got == "plain model"
    assert lines == ["eval: fancy:/nowhere unavailable (no such folder /nowhere); using plain"]
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        load_with_fallback("nope", {"plain": lambda s: 1}, "plain", lines.append)
    with pytest.raises(Unavailable, match="fallback plain unavailable"):
        load_with_fallback("fancy:/x", {"fancy": broken, "plain": broken}, "plain", lines.append)


def test_transformers_ctc_loads_a_local_stand_in_and_transcribes(tiny_ctc):
    asr = TransformersASR(str(tiny_ctc))
    assert asr.name == f"transformers:{tiny_ctc}" and asr.sample_rate == 16000 and not asr.seq2seq
    text = asr.transcribe(torch.randn(16000) * 0.1)
    assert isinstance(text, str)   # random weights: any string of the vocabulary
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz' ")


def test_transformers_seq2seq_loads_a_local_whisper_stand_in(tiny_whisper):
    asr = TransformersASR(str(tiny_whisper))
    assert asr.seq2seq and asr.sample_rate == 16000
    text = asr.transcribe(torch.randn(16000) * 0.1)
    assert isinstance(text, str) and set(text) <= set("abcdefghijklmnopqrstuvwxyz ")


def test_hub_id_not_cached_and_hub_unreachable_is_unavailable_at_once(monkeypatch):
    import voiceflow.eval.backend as backend

    monkeypatch.setattr(backend, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(Unavailable, match=r"^nobody/no-model is not in the local Hugging Face cache and the hub "
                                          r"is unreachable$"):
        WavLMSpeaker("nobody/no-model")
    with pytest.raises(Unavailable, match="no such folder ./no/model"):
        TransformersASR("./no/model")


def test_missing_transformers_folder_falls_back_to_pocketsphinx(tmp_path):
    lines = []
    try:
        asr = load_asr(f"transformers:{tmp_path / 'no_model'}", notice=lines.append)
    except Unavailable as e:   # pocketsphinx not installed here: both reasons are named
        assert "no such folder" in str(e) and "pocketsphinx" in str(e)
        return
    assert asr.name == "pocketsphinx"
    assert lines == [f"eval: transformers:{tmp_path / 'no_model'} unavailable (no such folder "
                     f"{tmp_path / 'no_model'}); using pocketsphinx"]


def test_wavlm_xvector_loads_a_local_stand_in(tiny_wavlm):
    spk = WavLMSpeaker(str(tiny_wavlm))
    a, b = spk.embed(torch.randn(16000) * 0.1), spk.embed(torch.randn(12000) * 0.1)
    assert a.shape == (8,) and torch.isfinite(a).all()
    assert cosine(a, a) == pytest.approx(1.0) and -1.0 <= cosine(a, b) <= 1.0


def test_pocketsphinx_recognises_flite_speech(speech):
    pytest.importorskip("pocketsphinx")
    asr = load_asr("pocketsphinx")
    errors = words = 0
    for key in ("u1", "u2"):
        hyp = asr.transcribe(load_audio(speech[("slt", key)], 16000))
        e, n = word_errors(SENTENCES[key], hyp)
        errors, words = errors + e, words + n
    assert errors / words < 0.6   # a weak recogniser, but not a random one


def test_pocketsphinx_transcript_depends_on_its_own_audio_only(speech, tmp_path):
    """Decoding loud noise and other speech first changes nothing (the decoder's cepstral mean
    used to carry over: 4 of these 6 hypotheses changed), and two processes agree with one."""
    pytest.importorskip("pocketsphinx")
    g = torch.Generator().manual_seed(0)
    clean = [load_audio(speech[(v, k)], 16000) for k in SENTENCES for v in ("slt", "rms")]
    targets = [x * 0.3 + 0.003 * torch.randn(x.shape, generator=g) for x in clean]
    noise = 0.3 * torch.randn(48000, generator=g)
    fresh = [load_asr("pocketsphinx").transcribe(t) for t in targets]
    asr = load_asr("pocketsphinx")
    after_history = []
    for t in targets:
        asr.transcribe(noise)
        asr.transcribe(load_audio(speech[("slt", "u1")], 16000) * 3)
        after_history.append(asr.transcribe(t))
    assert after_history == fresh
    assert sum(bool(h) for h in fresh) >= 4   # real transcripts, not empty strings
    paths = [tmp_path / f"{n}.wav" for n in range(len(targets))]
    for path, t in zip(paths, targets):
        soundfile.write(path, t.numpy(), 16000, subtype="FLOAT")  # the same samples back
    assert transcribe_files(asr, paths, jobs=2) == fresh


def test_resemblyzer_same_voice_is_closer_than_another_voice(speech):
    pytest.importorskip("resemblyzer")
    spk = load_speaker("resemblyzer")
    emb = {k: spk.embed(load_audio(p, 16000)) for k, p in speech.items() if k[1] in ("u1", "u2")}
    same = cosine(emb[("slt", "u1")], emb[("slt", "u2")])
    other = cosine(emb[("slt", "u1")], emb[("rms", "u2")])
    assert same > other


def test_distillmos_gives_a_finite_score(speech):
    pytest.importorskip("distillmos")
    from voiceflow.eval.mos import load_mos

    mos = load_mos("distillmos")
    score = mos.score(load_audio(speech[("slt", "u1")], 16000))
    assert math.isfinite(score) and 0.5 < score < 5.5


STAND_IN_HUBCONF = """
dependencies = ["torch"]
import torch


class Loudness(torch.nn.Module):
    # stands in for SpeechMOS's UTMOS22Strong: wave (B, T), sr -> MOS (B,)
    def forward(self, wave, sr):
        assert wave.dim() == 2 and sr == 16000, (wave.shape, sr)
        return 1.0 + 4.0 * torch.tanh(10 * wave.abs().mean(-1))


def utmos22_strong(progress=True, pretrained=True):
    return Loudness().eval()
"""


def test_utmos_loads_through_torch_hub_from_a_local_repo(tmp_path):
    """The real torch.hub loading code on a local stand-in of SpeechMOS (same entry point and
    call convention); a missing folder or entry point falls back to distillmos with one line."""
    from voiceflow.eval.mos import load_mos

    repo = tmp_path / "SpeechMOS"
    repo.mkdir()
    (repo / "hubconf.py").write_text(STAND_IN_HUBCONF)
    mos = load_mos(f"utmos:{repo}", notice=None)
    assert mos.name == f"utmos:{repo}" and mos.sample_rate == 16000
    g = torch.Generator().manual_seed(0)
    quiet, loud = (a * torch.randn(16000, generator=g) for a in (0.01, 0.2))
    assert 1.0 < mos.score(quiet) < mos.score(loud) < 5.0
    assert mos.score(loud) == pytest.approx(1.0 + 4.0 * math.tanh(10 * loud.abs().mean().item()), rel=1e-6)

    pytest.importorskip("distillmos")
    lines = []
    assert load_mos(f"utmos:{tmp_path / 'nowhere'}", notice=lines.append).name == "distillmos"
    assert lines == [f"eval: utmos:{tmp_path / 'nowhere'} unavailable (no such folder {tmp_path / 'nowhere'}); "
                     "using distillmos"]
    (repo / "hubconf.py").write_text('dependencies = ["torch"]\n')
    lines = []
    assert load_mos(f"utmos:{repo}", notice=lines.append).name == "distillmos"
    assert len(lines) == 1 and f"cannot load utmos22_strong from {repo}: " in lines[0]


def test_utmos_hub_repo_offline_and_not_cached_is_one_line(tmp_path, monkeypatch):
    """The default (SpeechMOS on GitHub) with an empty torch hub cache and no connection:
    one line naming the cache folder, at once, instead of a download attempt."""
    pytest.importorskip("distillmos")
    from voiceflow.eval import mos as mos_module

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(mos_module, "_github_reachable", lambda timeout=3.0: False)
    lines = []
    assert mos_module.load_mos("utmos", notice=lines.append).name == "distillmos"
    cache = tmp_path / "hub" / "tarepan_SpeechMOS_v1.2.0"
    assert lines == [f"eval: utmos unavailable ({mos_module.UTMOS_HUB} is not in the torch hub cache ({cache}) "
                     "and github.com is unreachable); using distillmos"]
