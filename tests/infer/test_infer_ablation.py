"""The ablation table: every checkpoint x sampler x NFE cell is the masked L1 that scoring
computes for the same items; the CLI writes both files and rejects bad input."""

import json
import subprocess
import sys

import pytest

from synthetic_corpus import make_corpus, train_tiny


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablation")
    c = make_corpus(root / "c", n_utts=8)
    exps = [train_tiny(c["root"], root / f"{path}_{coupling}", max_steps=2,
                       **{"flow.path": path, "flow.coupling": coupling})
            for path, coupling in (("ot", "independent"), ("icfm", "ot"))]
    manifest = root / "items.jsonl"
    manifest.write_text("".join(json.dumps({**r, "span": [0.05, 0.15]}) + "\n" for r in c["rows"][:3]))
    return exps, manifest


def test_cells_equal_the_scoring_of_the_same_items(two_models):
    from voiceflow.infer import Synthesizer
    from voiceflow.infer.ablation import ablation, to_markdown
    from voiceflow.infer.scoring import masked_l1_values

    exps, manifest = two_models
    result = ablation(exps, manifest, nfes=(3, 4), noise_scale=0.4, device="cpu")
    assert [(m["name"], m["path"], m["coupling"], m["step"]) for m in result["models"]] == [
        ("ot_independent", "ot", "independent", 2), ("icfm_ot", "icfm", "ot", 2)]
    first = result["models"][0]
    assert set(first["masked_l1"]["midpoint"]) == {"4"}  # an odd NFE does not exist for midpoint
    synth = Synthesizer(exps[0], device="cpu")
    items = synth.items_from_manifest(manifest, None, 0)
    by_hand = masked_l1_values(synth, items, 4, "stochastic_euler", 0.0, 0, noise_scale=0.4)
    assert first["masked_l1"]["stochastic_euler"]["4"]["mean"] == pytest.approx(sum(by_hand) / 3)
    sway = masked_l1_values(synth, items, 3, "euler", 0.0, 0, schedule="sway", sway=-1.0)
    assert first["masked_l1"]["euler_sway"]["3"]["mean"] == pytest.approx(sum(sway) / 3)
    assert first["train_seconds"] > 0 and "nll" not in first
    table = to_markdown(result)
    assert "| icfm_ot | icfm | ot | midpoint | - |" in table and table.count("\n| ot_independent |") == 5
    assert result["midpoint_skipped_nfes"] == ["3"] and "no cell at odd NFE (3)" in table


def test_labels_tell_checkpoints_of_one_experiment_apart(tmp_path):
    from voiceflow.infer.ablation import _labels

    a, b = tmp_path / "a" / "exp", tmp_path / "b" / "exp"
    assert _labels([a, tmp_path / "other"]) == ["exp", "other"]
    assert _labels([a / "checkpoints" / "step-00000400", a / "checkpoints" / "step-00000600", b]) == [
        "exp (step-00000400)", "exp (step-00000600)", "exp"]
    # the same checkpoint folder name in two experiments of one name: whole paths
    two = [a / "checkpoints" / "step-1", b / "checkpoints" / "step-1"]
    assert _labels(two) == [str(p) for p in two]


def test_cli_writes_the_table_and_rejects_bad_input(two_models, tmp_path):
    exps, manifest = two_models
    base = [sys.executable, "-m", "voiceflow.bin.cli", "ablation", "--checkpoint", str(exps[0]),
            "--manifest", str(manifest), "--nfe", "2", "--samplers", "euler,midpoint", "--no-likelihood",
            "--device", "cpu"]
    ok = subprocess.run(base + ["--out", str(tmp_path / "t")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "t" / "ablation.json").read_text())["samplers"] == ["euler", "midpoint"]
    assert "| ot_independent | ot | independent | euler |" in (tmp_path / "t" / "ablation.md").read_text()
    for bad, message in ((["--samplers", "heun"], "unknown sampler"), (["--nfe", "4,x"], "--nfe"),
                         (["--max-items", "0"], "--max-items")):
        out = subprocess.run(base + bad + ["--out", str(tmp_path / "bad")], capture_output=True, text=True)
        assert out.returncode == 1 and message in out.stderr and out.stderr.startswith("error:")
        assert not (tmp_path / "bad").exists()
