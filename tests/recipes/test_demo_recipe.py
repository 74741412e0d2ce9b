"""The demo recipe end to end at a tiny size: every stage runs and the report is complete."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("flite") is None, reason="Debian flite is not installed")
def test_demo_recipe_runs_every_stage(tmp_path):
    data, exp = tmp_path / "data", tmp_path / "exp"
    cmd = ["bash", str(ROOT / "recipes/demo/run.sh"), "--config", "conf/smoke.yaml", "--data", str(data),
           "--exp", str(exp), "--voices", "slt,kal16", "--train-per-voice", "3", "--valid-per-voice", "1",
           "--test-per-voice", "2", "--nj", "1", "--check", "false",
           "--dur-config", "conf/duration_smoke.yaml", "--tts-per-voice", "1"]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    gen = exp / "infer" / "nfe16_euler_cfg0_seed0"
    report = json.loads((gen / "report.json").read_text())
    for key in ("masked_l1_trained", "masked_l1_untrained", "masked_l1_mean_fill", "masked_l1_trained_guided",
                "ratio_trained_to_mean_fill", "ratio_trained_to_untrained"):
        assert report[key] > 0
    assert set(report["per_speaker"]) == {"slt", "kal16"} and report["items"] == 4
    assert 1.0 - 0.05 <= report["masked_seconds_mean"] <= 2.0 + 0.1  # spans of 1-2 s of whole words
    # the trained model's L1s come from stage 4's wavs' meta.jsonl, not a second sampling
    assert report["read_from_generated"] == {"masked_l1_trained": str(gen),
                                             "masked_l1_trained_guided": str(gen.parent / "nfe16_euler_cfg0.7_seed0")}
    assert sorted(p.name for p in gen.glob("*.wav")) == ["kal16_test_0000.wav", "kal16_test_0001.wav",
                                                          "slt_test_0000.wav", "slt_test_0001.wav"]
    # zero-shot TTS: one unseen sentence per voice, WER beside the ground truth's, speaker similarity
    tts = report["tts"]
    assert tts["items"] == 2 and tts["speakers"] == ["kal16", "slt"]
    assert tts["wer_generated"]["value"] >= 0 and 0 <= tts["wer_ground_truth"]["value"] < 1
    assert -1 <= tts["sim_own_speaker"]["value"] <= 1 and 0 <= tts["closer_to_own_share"] <= 1
    assert (exp / "duration" / "config.yaml").is_file()
    assert sorted(p.name for p in (exp / "tts" / "nfe16_euler_cfg0.7_seed0").glob("*.wav")) == [
        "kal16_tts_00.wav", "slt_tts_00.wav"]
    assert (exp / "infer" / "nfe16_euler_cfg0.7_seed0" / "meta.jsonl").is_file()
    # egs/listening_test on these outputs: systems, both pages, simulated listeners, analysis
    lt = tmp_path / "lt"
    listening = subprocess.run(["bash", str(ROOT / "egs/listening_test/run.sh"), "--generated", str(gen),
                                "--out", str(lt), "--listeners", "4"], capture_output=True, text=True, env=env,
                               timeout=600)
    assert listening.returncode == 0, listening.stdout[-2000:] + listening.stderr[-2000:]
    for test in ("mos", "mushra"):
        assert (lt / "web" / test / "index.html").is_file() and (lt / "web" / f"{test}.key.json").is_file()
        summary = (lt / "analysis" / test / "summary.md").read_text()
        assert "voiceflow" in summary and "resynthesis" in summary
    assert sorted(p.name for p in (lt / "systems" / "ground_truth").glob("*.wav")) == [
        "kal16_test_0000.wav", "kal16_test_0001.wav", "slt_test_0000.wav", "slt_test_0001.wav"]
    # idempotent: a second run skips the finished stages and still succeeds
    again = subprocess.run(cmd + ["--stop-stage", "3"], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and "stage 0" not in again.stdout
    # stage 6: every path x coupling trained for the same budget, one table
    ablation = subprocess.run(cmd + ["--stage", "6", "--stop-stage", "6", "--ablation-steps", "2",
                                     "--ablation-items", "2"], capture_output=True, text=True, env=env, timeout=600)
    assert ablation.returncode == 0, ablation.stdout[-2000:] + ablation.stderr[-2000:]
    table = json.loads((tmp_path / "ablation" / "table" / "ablation.json").read_text())
    variants = {(m["path"], m["coupling"]) for m in table["models"]}
    assert variants == {("ot", "independent"), ("ot", "ot"), ("icfm", "independent"), ("icfm", "ot")}
    for m in table["models"]:
        assert m["step"] == 2 and m["train_seconds"] > 0 and m["nll"]["nats_per_dim"] == m["nll"]["nats_per_dim"]
        assert set(m["masked_l1"]) == {"euler", "midpoint", "stochastic_euler", "euler_sway"}
        assert set(m["masked_l1"]["euler"]) == {"4", "8", "16", "32"}
    assert "| icfm_ot | icfm | ot | euler_sway |" in (tmp_path / "ablation" / "table" / "ablation.md").read_text()
    # another training budget does not pass for the finished variants
    longer = subprocess.run(cmd + ["--stage", "6", "--stop-stage", "6", "--ablation-steps", "3"],
                            capture_output=True, text=True, env=env, timeout=600)
    assert longer.returncode == 1 and "trained for 2 steps, not --ablation-steps 3" in longer.stderr
