"""`voiceflow listen build`: every test type builds and validates; bad inputs are reported, never skipped."""

import json
import re
from collections import Counter

import numpy as np
import pytest
import soundfile

from listen_fixtures import MARKUP_STEM, MARKUP_TEXT, check_result, make_dir, make_inputs, page_config, write_wav
from voiceflow.bin.listen import main as listen_main
from voiceflow.errors import VoiceflowError
from voiceflow.listen.build import KEY_FORMAT, build_test
from voiceflow.listen.page import script_json
from voiceflow.listen.sounds import MIN_ATTENTION_S, beep_stimulus, lowpass_anchor

TRIALS = {"mos": 6, "smos": 6, "cmos": 6, "ab": 3, "mushra": 3}   # 2 systems x 3 items


def build(kind, inputs, out, **kw):
    reference = inputs["reference"] if kind in ("smos", "cmos", "mushra") else None
    kw.setdefault("log", lambda m: None)
    return build_test(kind, inputs["systems"], out, reference=reference, **kw)


@pytest.fixture
def inputs(tmp_path):
    return make_inputs(tmp_path / "in")


def simulated_result(key, config):
    """A result as the page would write it for one listener (the pairs as listed)."""
    trials = []
    for position, t in enumerate(config["trials"]):
        shown = ([t["reference"]] if t["reference"] else []) + t["stimuli"]
        row = {"trial": t["id"], "attention": t["attention"], "position": position, "stimuli": shown,
               "plays": {s: 1 for s in shown}}
        spec = key["trials"][t["id"]]
        if t["attention"]:
            row["answer"] = spec["expected"]
        elif key["test"] in ("mos", "smos"):
            row["ratings"] = {t["stimuli"][0]: 4}
        elif key["test"] == "mushra":
            row["ratings"] = {s: 70 for s in t["stimuli"]}
        elif key["test"] == "cmos":
            row["cmos"] = 1
        else:
            row["choice"] = t["stimuli"][0]
        trials.append(row)
    return {"format": "voiceflow-listening-result/1", "test_id": key["test_id"], "test": key["test"],
            "listener": "sim", "started": "2026-01-01T00:00:00.000Z", "finished": "2026-01-01T00:10:00.000Z",
            "user_agent": "test", "trials": trials}


@pytest.mark.parametrize("kind", ["mos", "smos", "cmos", "ab", "mushra"])
def test_every_test_type_builds_a_self_contained_page_and_key(tmp_path, inputs, kind):
    out = tmp_path / "web" / kind
    key = build(kind, inputs, out, attention_checks=2, texts=True)
    assert json.loads((tmp_path / "web" / f"{kind}.key.json").read_text()) == key
    assert key["format"] == KEY_FORMAT and key["test"] == kind
    assert not (out / f"{kind}.key.json").exists() and sorted(p.name for p in out.iterdir()) == ["audio", "index.html"]
    config = page_config(out)
    assert config["test_id"] == key["test_id"] and len(config["trials"]) == TRIALS[kind] + 2
    assert sum(t["attention"] for t in key["trials"].values()) == 2
    # every audio file is one stimulus of the key, named by its opaque id: 16-bit mono at the test's rate
    names = sorted(p.name for p in (out / "audio").iterdir())
    assert names == sorted(f"{sid}.wav" for sid in key["stimuli"])
    for p in (out / "audio").iterdir():
        info = soundfile.info(str(p))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    # nothing revealing in the page: no system names, input paths, item names, or metadata in the audio
    html = (out / "index.html").read_text(encoding="utf-8")
    for needle in ["SECRETNAME", "SECRETDIR", str(tmp_path), "utt00", MARKUP_STEM, "groundtruth", "reference_"]:
        assert needle not in html, needle
    for p in (out / "audio").iterdir():
        assert b"SECRET" not in p.read_bytes() and b"made by" not in p.read_bytes()
    assert not re.search(r"https?://", html)                                     # no external requests
    check_result(simulated_result(key, config), key)
    roles = Counter(s["role"] for s in key["stimuli"].values())
    if kind == "mushra":
        for t in config["trials"]:
            if not t["attention"]:
                got = sorted(key["stimuli"][s]["role"] for s in t["stimuli"])
                assert got == ["anchor", "hidden_reference", "test", "test"]
                assert key["stimuli"][t["reference"]]["role"] == "reference" and t["stimuli"] == sorted(t["stimuli"])
        assert roles == {"reference": 3, "hidden_reference": 3, "anchor": 3, "test": 6, "attention": 2}
    if kind == "smos":
        assert all(key["stimuli"][t["reference"]]["role"] == "reference" for t in config["trials"] if not t["attention"])


def test_pairs_are_balanced_within_flip_groups(tmp_path):
    inputs = make_inputs(tmp_path / "in", n_items=6, n_systems=3, markup=False, texts=False)
    for kind in ("cmos", "ab"):
        key = build(kind, inputs, tmp_path / kind, attention_checks=0)
        config = page_config(tmp_path / kind)
        groups = {}
        for t in config["trials"]:
            first = key["stimuli"][t["stimuli"][0]]
            canonical_first = first["role"] == "reference" if kind == "cmos" else first["system"] == key["trials"][t["id"]]["systems"][0]
            groups.setdefault(t["flip_group"], []).append((tuple(key["trials"][t["id"]]["systems"]), canonical_first))
        assert all(len(g) == 2 for g in groups.values())                       # 6 items: even per comparison
        for g in groups.values():
            assert g[0][0] == g[1][0] and g[0][1] != g[1][1]                     # same comparison, opposite sides


def test_markup_in_titles_texts_and_names_stays_text(tmp_path, inputs):
    instructions = "Read <b>this</b> </script><script>alert(2)</script> \u2029 & that"
    title = "</title><script>alert(3)</script> __CONFIG__"
    out = tmp_path / "page"
    build("mos", inputs, out, texts=True, title=title, instructions=instructions)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count("<script") == 2 and html.count("</script>") == 2            # only the page's own
    assert "&lt;/title&gt;&lt;script&gt;" in html                                   # <title> escaped
    assert "\u2028" not in html and "\u2029" not in html
    config = page_config(out)
    assert config["title"] == title and config["instructions"] == instructions
    assert MARKUP_TEXT in [t["text"] for t in config["trials"]]
    assert script_json({"a": "</script>&\u2028"}) == '{"a":"\\u003c/script\\u003e\\u0026\\u2028"}'


def test_ids_are_stable_when_rebuilt_next_to_the_key_and_secret_otherwise(tmp_path, inputs):
    first = build("mos", inputs, tmp_path / "a", attention_checks=1)
    again = build("mos", inputs, tmp_path / "a", attention_checks=1)
    other = build("mos", inputs, tmp_path / "b", attention_checks=1)
    assert again["stimuli"] == first["stimuli"] and again["test_id"] == first["test_id"]
    assert not set(other["stimuli"]) & set(first["stimuli"])


def test_items_subset_is_seeded(tmp_path):
    inputs = make_inputs(tmp_path / "in", n_items=8, markup=False, texts=False)
    a = build("mos", inputs, tmp_path / "a", items=3, seed=1, attention_checks=0)
    b = build("mos", inputs, tmp_path / "b", items=3, seed=1, attention_checks=0)
    c = build("mos", inputs, tmp_path / "c", items=3, seed=2, attention_checks=0)
    assert a["items"] == b["items"] and len(a["items"]) == 3 and len(a["trials"]) == 6
    assert a["items"] != c["items"]


def test_attention_stimulus_has_the_keyed_number_of_separated_beeps_and_a_fixed_length():
    rate, carrier = 16000, np.zeros(4800, np.float32)
    lengths = set()
    for count in (2, 3, 4, 5):
        wav, onsets = beep_stimulus(carrier, rate, count, np.random.default_rng(count))
        lengths.add(wav.size)
        assert len(onsets) == count and min(np.diff(onsets)) >= 0.25
        # count beeps from the signal itself: runs of 1 kHz energy
        env = np.convolve(np.abs(wav) > 0.05, np.ones(80), "same") > 0
        assert int(np.sum(np.diff(env.astype(int)) == 1)) == count
    assert lengths == {int(round(MIN_ATTENTION_S * rate))}


def test_lowpass_anchor_removes_energy_above_3_5_khz():
    rate = 16000
    t = np.arange(rate) / rate
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 6000 * t)
    out = lowpass_anchor(low + high, rate)
    spectrum = np.abs(np.fft.rfft(out))
    assert spectrum[6000] < 1e-3 * spectrum[1000] and abs(spectrum[1000] / np.abs(np.fft.rfft(low))[1000] - 1) < 0.01


# ---- bad inputs: one clear error naming the files, never a silent skip ----

def test_wrong_rate_stereo_unreadable_and_missing_files_are_all_named(tmp_path, inputs):
    (name_a, dir_a), (name_b, dir_b) = inputs["systems"]
    write_wav(dir_b / "utt00.wav", rate=22050)
    write_wav(dir_b / "utt01.wav", channels=2)
    (dir_a / "utt01.wav").write_bytes(b"RIFF....WAVEnot really")
    write_wav(dir_a / "only_in_a.wav")
    with pytest.raises(VoiceflowError) as e:
        build("mos", inputs, tmp_path / "out")
    msg = str(e.value)
    assert "\n" not in msg and "4 problem(s)" in msg
    assert f"{dir_b / 'utt00.wav'}: 22050 Hz, but the test's rate is 16000 Hz" in msg
    assert f"{dir_b / 'utt01.wav'}: 2 channels" in msg
    assert f"{dir_a / 'utt01.wav'}: cannot read audio" in msg
    assert f"system {name_b} ({dir_b}) has no file for item(s) 'only_in_a'" in msg
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.key.json").exists()


def test_allow_missing_drops_and_lists_items(tmp_path, inputs):
    (_, dir_a), (name_b, dir_b) = inputs["systems"]
    (dir_b / "utt01.wav").unlink()
    with pytest.raises(VoiceflowError, match="utt01"):
        build("mos", inputs, tmp_path / "out")
    printed = []
    key = build("mos", inputs, tmp_path / "out", allow_missing=True, attention_checks=0, log=printed.append)
    assert "utt01" not in key["items"] and len(key["trials"]) == 4
    assert key["skipped_items"] == {"utt01": [f"system {name_b} ({dir_b})"]}
    assert any("dropping 1 item" in line for line in printed)
    assert any("utt01: missing from system" in line for line in printed)


def test_reference_missing_an_item_and_rate_mismatch_with_reference(tmp_path, inputs):
    (inputs["reference"] / "utt00.wav").unlink()
    with pytest.raises(VoiceflowError, match=r"reference \(.*\) has no file for item\(s\) 'utt00'"):
        build("mushra", inputs, tmp_path / "out")
    write_wav(inputs["reference"] / "utt00.wav", rate=24000)
    with pytest.raises(VoiceflowError, match=r"utt00.wav: 24000 Hz"):
        build("mushra", inputs, tmp_path / "out", sample_rate=16000)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="mushra", reference=False), "needs --reference"),
    (dict(kind="mos", reference=True), "takes no --reference"),
    (dict(kind="ab", systems=1), "at least 2"),
    (dict(kind="mos", names=("reference", "B")), "reserved"),
    (dict(kind="mos", names=("X", "X")), "distinct"),
    (dict(kind="mos", post_url="javascript:alert(1)"), "--post-url"),
    (dict(kind="mos", post_url="https://x.org/a;b"), "--post-url"),
])
def test_bad_options_are_refused(tmp_path, inputs, kwargs, match):
    kind = kwargs.pop("kind")
    systems = inputs["systems"][:kwargs.pop("systems", 2)]
    if "names" in kwargs:
        systems = [(n, d) for n, (_, d) in zip(kwargs.pop("names"), systems)]
    ref = kwargs.pop("reference", kind in ("smos", "cmos", "mushra"))
    with pytest.raises(VoiceflowError, match=match):
        build_test(kind, systems, tmp_path / "out", reference=inputs["reference"] if ref else None,
                   log=lambda m: None, **kwargs)


def test_out_must_not_clobber_inputs_or_other_folders(tmp_path, inputs):
    for out in (inputs["systems"][0][1], tmp_path / "in", inputs["systems"][1][1] / "page"):
        with pytest.raises(VoiceflowError, match="must not be or contain or lie inside an input"):
            build("mos", inputs, out)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("x")
    with pytest.raises(VoiceflowError, match="not a listening-test page folder"):
        build("mos", inputs, tmp_path / "data")
    assert (tmp_path / "data" / "keep.txt").exists()


def test_empty_or_missing_system_directory(tmp_path, inputs):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VoiceflowError, match="no .wav or .flac files"):
        build_test("mos", [("X", tmp_path / "empty")], tmp_path / "out", log=lambda m: None)
    with pytest.raises(VoiceflowError, match="not a directory"):
        build_test("mos", [("X", tmp_path / "nowhere")], tmp_path / "out", log=lambda m: None)


def test_texts_missing_for_an_item_is_an_error(tmp_path):
    d = make_dir(tmp_path, "plain", ["a", "b"])
    with pytest.raises(VoiceflowError, match=r"--texts: no text for item\(s\) 'a', 'b'"):
        build_test("mos", [("X", d)], tmp_path / "out", texts=True, log=lambda m: None)


def test_texts_are_what_the_wavs_say(tmp_path):
    """An edit's page shows its new text (the wav says it), as eval scores it."""
    import json

    from voiceflow.listen.sources import read_texts, scan_source

    d = make_dir(tmp_path, "ed", ["a", "b"])
    (d / "meta.jsonl").write_text(json.dumps({"id": "a", "task": "edit", "text": "old words", "new_text": "new words"})
                                  + "\n" + json.dumps({"id": "b", "text": "said as is"}) + "\n")
    assert read_texts([scan_source("E", d, "test")], ["a", "b"]) == {"a": "new words", "b": "said as is"}


def test_cli_builds_and_reports_errors_in_one_line(tmp_path, inputs, capsys):
    (name_a, dir_a), (name_b, dir_b) = inputs["systems"]
    instructions = tmp_path / "instructions.txt"
    instructions.write_text("Listen <carefully>.\n")
    out = tmp_path / "web" / "t"
    assert listen_main(["build", "--test", "mushra", "--system", f"{name_a}={dir_a}", "--system", f"{name_b}={dir_b}",
                        "--reference", str(inputs["reference"]), "--out", str(out), "--instructions",
                        str(instructions), "--attention-checks", "1", "--post-url", "http://127.0.0.1:9/r"]) == 0
    assert "wrote" in capsys.readouterr().out
    config = page_config(out)
    assert config["instructions"] == "Listen <carefully>." and config["post_url"] == "http://127.0.0.1:9/r"
    assert "connect-src http://127.0.0.1:9;" in (out / "index.html").read_text()
    write_wav(dir_b / "utt00.wav", channels=2)
    with pytest.raises(SystemExit) as e:
        listen_main(["build", "--test", "mos", "--system", f"{name_a}={dir_a}", "--system", f"{name_b}={dir_b}",
                     "--out", str(tmp_path / "x")])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: 1 problem(s)") and "2 channels" in err[0]
    with pytest.raises(SystemExit) as e:
        listen_main(["build", "--test", "mos", "--system", "nodir", "--out", str(tmp_path / "x")])
    assert e.value.code == 1 and "expected NAME=DIR" in capsys.readouterr().err


def test_a_rebuild_never_replaces_the_key_of_another_test(tmp_path, inputs):
    out = tmp_path / "page"
    first = build("mos", inputs, out)
    assert build("mos", inputs, out)["salt"] == first["salt"]  # a rebuild of the same test keeps its ids
    key = tmp_path / "page.key.json"
    before = key.read_bytes()
    with pytest.raises(VoiceflowError, match="the key of a mos test, which a mushra page would replace"):
        build("mushra", inputs, out)
    assert key.read_bytes() == before
