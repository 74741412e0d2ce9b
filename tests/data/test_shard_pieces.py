"""A shard set written from the pieces of a manifest (read one at a time): the same utterances,
mels, phone runs and statistics as from the whole, reuse on a rerun, a changed piece or piece
list detected, a bad row in a later piece, and ``voiceflow phones`` streaming over pieces."""

import json
import re

import numpy as np
import pytest

from synthetic_corpus import make_corpus
from test_shards import IDENTITY, leftovers, shards
from voiceflow.config import MelConfig
from voiceflow.data.manifest import manifest_files
from voiceflow.data.shard_durations import ShardDurationDataset
from voiceflow.data.shard_writer import write_shard_set
from voiceflow.data.shards import ShardDataset, ShardIndex, read_meta, shard_paths
from voiceflow.errors import VoiceflowError


def write_rows(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def pieced_corpus(root, n_utts=24, n_pieces=3):
    """make_corpus, with its rows dealt at random into ``train.d/piece-000k.jsonl``."""
    c = make_corpus(root, n_utts=n_utts)
    order = np.random.default_rng(1).permutation(n_utts)
    c["pieces"] = [[c["rows"][i] for i in order[k::n_pieces]] for k in range(n_pieces)]
    for k, part in enumerate(c["pieces"]):
        write_rows(root / "train.d" / f"piece-{k:04d}.jsonl", part)
    (root / "train.d" / "notes.txt").write_text("not a manifest\n")
    c["files"] = manifest_files(root / "train.d")
    return c


def by_id(root):
    """{id: (mel float16 bytes, phone ids, phone frames)} of every utterance of a set, and the set's ids in order."""
    index, items = ShardIndex(root), {}
    for name in index.names:
        mel_path, meta_path = shard_paths(root, name)
        mel, meta = np.load(mel_path), read_meta(meta_path)
        for u, uid in enumerate(meta["ids"].tolist()):
            a, b = meta["phone_offsets"][u:u + 2]
            items[uid] = (mel[meta["offsets"][u]:meta["offsets"][u + 1]].tobytes(), meta["phone_ids"][a:b].tolist(),
                          meta["phone_frames"][a:b].tolist())
    return items


def mtimes(out):
    return {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*")}


def input_sha(out):
    return json.loads((out / "index.json").read_text())["input_sha"]


def test_pieces_give_the_utterances_of_the_whole(tmp_path):
    c = pieced_corpus(tmp_path / "c")
    root = c["root"]
    assert [p.name for p in c["files"]] == ["piece-0000.jsonl", "piece-0001.jsonl", "piece-0002.jsonl"]
    whole = shards(root, tmp_path / "whole")
    pieced = write_shard_set(c["files"], tmp_path / "pieced", root / "phones.txt", shard_frames=150, progress=False)
    assert pieced["inputs"] == 3 and pieced["utterances"] == whole["utterances"] == 24
    assert pieced["frames"] == whole["frames"] and pieced["shards"] >= 6
    a, b = by_id(tmp_path / "whole"), by_id(tmp_path / "pieced")
    assert a == b  # the same ids, the same float16 mels and phone runs per id
    sa, sb = whole["stats"], pieced["stats"]
    assert sa.frames == sb.frames and sa.mean == pytest.approx(sb.mean, rel=1e-9, abs=1e-9)
    assert sa.std == pytest.approx(sb.std, rel=1e-9, abs=1e-9)
    index = ShardIndex(tmp_path / "pieced")
    assert index.names == [f"shard-{k:06d}" for k in range(pieced["shards"])]  # numbering goes on over pieces
    assert index.stats.mean == pytest.approx(sb.mean, rel=1e-12)
    # lengths.npy and phone_lengths.npy agree with the shards, utterance by utterance
    ds = ShardDataset(tmp_path / "pieced", c["inventory"], IDENTITY, MelConfig())
    dur = ShardDurationDataset(tmp_path / "pieced", c["inventory"], MelConfig())
    assert len(ds) == len(dur) == 24
    for i in range(len(ds)):
        assert int(ds.frames[i]) == ds[i]["mel"].shape[0] and int(dur.frames[i]) == len(dur[i]["phones"])
    whole_durations = ShardDurationDataset(tmp_path / "whole", c["inventory"], MelConfig())
    assert dur.log_duration_stats() == pytest.approx(whole_durations.log_duration_stats(), rel=1e-12)
    # each piece fills consecutive shards, shuffled on its own; the first one as if it were alone
    ids = [ds[i]["id"] for i in range(len(ds))]
    starts = np.cumsum([0] + [len(p) for p in c["pieces"]])
    for k, part in enumerate(c["pieces"]):
        assert sorted(ids[starts[k]:starts[k + 1]]) == sorted(r["id"] for r in part)
    assert ids[:8] != [r["id"] for r in c["pieces"][0]]
    alone = write_shard_set(c["files"][0], tmp_path / "first", root / "phones.txt", shard_frames=150, progress=False)
    for name in ShardIndex(tmp_path / "first").names:
        for x, y in zip(shard_paths(tmp_path / "first", name), shard_paths(tmp_path / "pieced", name)):
            assert x.read_bytes() == y.read_bytes()
    assert alone["shards"] < pieced["shards"]
    # --keep-order keeps every piece's order
    kept = write_shard_set(c["files"], tmp_path / "kept", root / "phones.txt", shard_frames=150, progress=False,
                           shuffle_seed=None)
    kept_ds = ShardDataset(tmp_path / "kept", None, IDENTITY)
    assert [kept_ds[i]["id"] for i in range(kept["utterances"])] == [r["id"] for p in c["pieces"] for r in p]


def test_rerun_reuses_and_a_changed_piece_rewrites_only_its_shards(tmp_path):
    c = pieced_corpus(tmp_path / "c")
    root, out, files = c["root"], tmp_path / "sh", c["files"]

    def run(inputs=files, **kw):
        return write_shard_set(inputs, out, root / "phones.txt", shard_frames=150, progress=False, **kw)

    first = run()
    times, sha = mtimes(out), input_sha(out)
    again = run()
    assert again["written"] == 0 and again["reused"] == first["shards"] and again["stats"] == first["stats"]
    assert mtimes(out) == times and input_sha(out) == sha
    # one row of the middle piece changed: an error naming the piece and its shards, nothing written
    rows = [json.loads(line) for line in files[1].read_text().splitlines()]
    rows[3]["text"] = "changed"
    write_rows(files[1], rows)
    with pytest.raises(VoiceflowError, match=r"different manifest rows.*remove the shards of .*piece-0001\.jsonl"):
        run()
    assert mtimes(out) == times and input_sha(out) == sha
    with pytest.raises(VoiceflowError) as e:
        run()
    first_name, last_name = re.search(r"\((shard-\d+) to (shard-\d+)\)", str(e.value)).groups()
    names = [f"shard-{k:06d}" for k in range(int(first_name[6:]), int(last_name[6:]) + 1)]
    for name in names:
        for path in shard_paths(out, name):
            path.unlink()
    changed = run()
    assert changed["written"] == len(names) and changed["shards"] == first["shards"]
    now = mtimes(out)
    assert {n for n in now if now[n] != times.get(n)} == {p.name for n in names for p in shard_paths(out, n)}
    assert input_sha(out) != sha and changed["stats"] == first["stats"]  # the text is not in the mels
    # a changed piece list: pieces swapped, or the last one left out
    with pytest.raises(VoiceflowError, match="different manifest rows"):
        run([files[1], files[0], files[2]])
    with pytest.raises(VoiceflowError, match="which the 2 manifests do not produce"):
        run(files[:2])
    assert run()["written"] == 0  # the failed runs wrote nothing
    # a piece given twice: its ids are not unique over the inputs
    with pytest.raises(VoiceflowError, match=r"piece-0000\.jsonl:1: id .* is also in .*piece-0000\.jsonl"):
        run([files[0], files[0]])


def test_directory_argument_and_cli(tmp_path, capsys):
    from voiceflow.bin import shards as shards_cli

    c = pieced_corpus(tmp_path / "c")
    root = c["root"]
    shards_cli.main(["--manifest", str(root / "train.d"), "--out", str(tmp_path / "cli"), "--phones",
                     str(root / "phones.txt"), "--shard-frames", "150", "--jobs", "2"])
    assert "from 3 manifests" in capsys.readouterr().out
    write_shard_set(c["files"], tmp_path / "api", root / "phones.txt", shard_frames=150, progress=False)
    names = sorted(p.name for p in (tmp_path / "api").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert all((tmp_path / "api" / n).read_bytes() == (tmp_path / "cli" / n).read_bytes() for n in names)
    # a repeated --manifest: a directory and a file after it
    write_rows(root / "extra.jsonl", [c["rows"][0] | {"id": "extra"}])
    shards_cli.main(["--manifest", str(root / "train.d"), "--manifest", str(root / "extra.jsonl"), "--out",
                     str(tmp_path / "cli"), "--phones", str(root / "phones.txt"), "--shard-frames", "150",
                     "--jobs", "1"])
    out = capsys.readouterr().out
    assert "from 4 manifests" in out and "1 written" in out and "25 utterances" in out
    (tmp_path / "empty.d").mkdir()
    with pytest.raises(VoiceflowError, match=r"empty\.d: directory holds no \*\.jsonl"):
        write_shard_set(tmp_path / "empty.d", tmp_path / "x", root / "phones.txt", progress=False)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_bad_row_in_a_later_piece(tmp_path, jobs):
    c = pieced_corpus(tmp_path / "c")
    root, out, files = c["root"], tmp_path / "sh", c["files"]
    good = files[1].read_text()
    rows = [json.loads(line) for line in good.splitlines()]
    rows[4]["alignment"][-1][2] += 0.5  # does not cover the audio
    bad_id = rows[4]["id"]

    def run(**kw):
        return write_shard_set(files, out, root / "phones.txt", shard_frames=150, progress=False, jobs=jobs, **kw)

    write_rows(files[1], rows)
    with pytest.raises(VoiceflowError, match=rf"piece-0001\.jsonl: {bad_id}: alignment does not cover"):
        run()
    assert not (out / "index.json").exists() and not leftovers(out)
    metas = list(out.glob("*.meta.npz"))
    assert metas and all(bad_id not in read_meta(p)["ids"] for p in metas)  # its shard: nothing written
    assert all(shard_paths(out, p.name[:12])[0].is_file() for p in metas)  # the others complete
    # a complete set whose piece is replaced by a bad one: the index goes before a shard is written
    files[1].write_text(good)
    for p in out.iterdir():
        p.unlink()
    run()
    index = ShardIndex(out)
    piece1 = [n for n in index.names if set(read_meta(shard_paths(out, n)[1])["ids"].tolist())
              <= {r["id"] for r in rows}]
    for name in piece1:
        for path in shard_paths(out, name):
            path.unlink()
    write_rows(files[1], rows)
    with pytest.raises(VoiceflowError, match=f"{bad_id}: alignment does not cover"):
        run()
    assert not (out / "index.json").exists() and not leftovers(out)
    summary = run(on_error="skip")
    assert [uid for uid, _ in summary["skipped"]] == [bad_id] and summary["utterances"] == 23
    assert [s["id"] for s in json.loads((out / "index.json").read_text())["skipped"]] == [bad_id]


def phones_error(capsys, *argv) -> str:
    from voiceflow.bin import phones

    with pytest.raises(SystemExit):
        phones.main(list(argv))
    return capsys.readouterr().err


def test_phones_over_pieces_equals_the_whole(tmp_path, capsys):
    from voiceflow.bin import phones

    c = pieced_corpus(tmp_path / "c")
    root = c["root"]
    rows = c["pieces"][1]
    rows[2]["alignment"].append(["zz_S", rows[2]["duration"], rows[2]["duration"]])  # a phone in one piece only
    write_rows(c["files"][1], rows)
    write_rows(root / "all.jsonl", [r for p in c["pieces"] for r in p])
    phones.main(["--manifest", str(root / "train.d"), "--out", str(tmp_path / "pieces.txt")])
    assert "from 24 utterances" in capsys.readouterr().out
    phones.main(["--manifest", str(root / "all.jsonl"), "--out", str(tmp_path / "whole.txt")])
    assert (tmp_path / "pieces.txt").read_text() == (tmp_path / "whole.txt").read_text()
    assert "zz_S" in (tmp_path / "pieces.txt").read_text().split()
    # read line by line: rows before a bad line are used, and errors name the file and line
    lists = phones.phone_lists(c["files"], [0])
    assert next(lists) == [seg[0] for seg in c["pieces"][0][0]["alignment"]]
    del rows[5]["alignment"]
    write_rows(c["files"][1], rows)
    argv = ("--manifest", str(root / "train.d"), "--out", str(tmp_path / "bad.txt"))
    assert re.search(r"piece-0001\.jsonl:6: missing key\(s\) alignment\n$", phones_error(capsys, *argv))
    rows[5]["alignment"] = [["a", 0.0]]
    write_rows(c["files"][1], rows)
    assert re.search(r"piece-0001\.jsonl:6: alignment of '\w+' is not a list of", phones_error(capsys, *argv))
    assert not (tmp_path / "bad.txt").exists()
