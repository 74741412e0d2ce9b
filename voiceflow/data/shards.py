"""Shard sets: the training data of a large corpus in a few large files that stream.

At tens of thousands of hours, one small file per utterance is too many files. A shard set
is a directory; each shard holds about an hour of utterances, concatenated::

    index.json              {"version": 1, "n_mels", "dtype": "float16", "mel": {MelConfig},
                             "phones_sha", "input_sha", "shards": [{"name", "utterances", "frames"}],
                             "stats": {"mean", "std", "frames"} (optional), "skipped": [{"id", "error"}],
                             "durations": {"phones", "log_mean", "log_std"} (optional: log(1 + frames)
                             over every phone run, for the duration model)}
    lengths.npy             int32 (utterances,): frames of every utterance, shards in index order
    phone_lengths.npy       int32 (utterances,): phone runs of every utterance (with "durations" only;
                            a set written without them has both computed from its metas)
    shard-000000.mel.npy    float16 (frames, n_mels): log-mels of the shard's utterances, end to end;
                            np.load(mmap_mode="r") maps it without reading it
    shard-000000.meta.npz   per utterance u of U, with R phone runs in the shard:
        ids, speakers       (U,) str
        offsets             (U + 1,) int64   utterance u is mel[offsets[u]:offsets[u + 1]]
        frames              (U,) int32
        phone_ids           (R,) int16/int32 positions in the phone inventory (the recipe's phones.txt)
        phone_frames        (R,) int32       frames per run, by the cumulative rounding of
                                             :func:`voiceflow.align.frame_durations` (0 for a ghost silence)
        phone_offsets       (U + 1,) int64   utterance u's runs are [phone_offsets[u], phone_offsets[u + 1])
        fingerprint         () str           JSON: what the shard was written from (see shard_writer)
        stats               (4,) float64     sum, sum of squares, values, frames of its float32 log-mels
        skipped_ids, skipped_errors (K,) str utterances of its input left out (``--on-error skip``)

Expanding an utterance's runs (``np.repeat(phone_ids, phone_frames)``) gives exactly
:func:`voiceflow.align.frame_phone_ids` of its alignment. ``lengths.npy`` lets a sampler plan
an epoch from one small file, without opening a shard. The writer is
:mod:`voiceflow.data.shard_writer` (``voiceflow shards``), the sampler
:mod:`voiceflow.data.shard_sampler`, the duration model's reader (phone runs, no mel)
:mod:`voiceflow.data.shard_durations`; this module reads::

    ds = ShardDataset("data/shards/train", inventory, stats, cfg.mel)
    ds[(index, start, length)]      # like FeatureDataset: {"id", "mel" (length, M) float32, "phones" (length,)}
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from voiceflow.audio.stats import MelStats
from voiceflow.config import MelConfig
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import read_json
from voiceflow.text import PhoneInventory

FORMAT_VERSION = 1
INDEX = "index.json"
LENGTHS = "lengths.npy"
PHONE_LENGTHS = "phone_lengths.npy"
META_KEYS = ("ids", "speakers", "offsets", "frames", "phone_ids", "phone_frames", "phone_offsets",
             "fingerprint", "stats", "skipped_ids", "skipped_errors")


def inventory_sha(inventory: PhoneInventory) -> str:
    """sha256 of the inventory as :meth:`PhoneInventory.save` writes it (so: of its file)."""
    return hashlib.sha256("".join(s + "\n" for s in inventory.symbols).encode("utf-8")).hexdigest()


def shard_paths(root: str | Path, name: str) -> tuple[Path, Path]:
    """``(mel .npy, meta .npz)`` paths of shard ``name`` in the set at ``root``."""
    return Path(root) / f"{name}.mel.npy", Path(root) / f"{name}.meta.npz"


def npy_shape(path: Path) -> tuple[int, ...]:
    """Shape of a .npy array from its header alone (also for empty arrays, which cannot be mapped)."""
    try:
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, _ = read(f)
    except (OSError, ValueError) as e:
        raise VoiceflowError(f"{path}: unreadable .npy file ({e})") from None
    return tuple(shape)


def read_meta(path: Path, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """All arrays of a shard's meta .npz, or only ``keys`` (the others are not read), with errors naming the file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = {k: z[k] for k in (z.files if keys is None else [k for k in keys if k in z.files])}
    except FileNotFoundError:
        raise VoiceflowError(f"{path}: shard metadata not found") from None
    except (OSError, ValueError) as e:
        raise VoiceflowError(f"{path}: unreadable shard metadata ({e})") from None
    missing = [k for k in (META_KEYS if keys is None else keys) if k not in meta]
    if missing:
        raise VoiceflowError(f"{path}: shard metadata lacks {', '.join(missing)}")
    return meta


def is_shard_set(path: str | Path) -> bool:
    """True for a directory holding index.json; False for a file; an error for another directory."""
    path = Path(path)
    if not path.is_dir():
        return False
    if not (path / INDEX).is_file():
        raise VoiceflowError(f"{path}: a directory without {INDEX}, so not a shard set (write one with voiceflow shards)")
    return True


class ShardIndex:
    """The index of a shard set: its shards, their sizes, the mel config and phone inventory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        data = read_json(self.root / INDEX)
        where = self.root / INDEX
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise VoiceflowError(f"{where}: not a version-{FORMAT_VERSION} shard index")
        missing = [k for k in ("n_mels", "dtype", "mel", "phones_sha", "shards") if k not in data]
        if missing:
            raise VoiceflowError(f"{where}: index lacks {', '.join(missing)}")
        if data["dtype"] != "float16":
            raise VoiceflowError(f"{where}: mel dtype {data['dtype']!r} is not float16")
        self.data = data
        self.n_mels = int(data["n_mels"])
        self.names = [str(s["name"]) for s in data["shards"]]
        self.utterances = np.array([int(s["utterances"]) for s in data["shards"]], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.utterances)])  # (shards + 1,) first global index
        self._lengths: np.ndarray | None = None

    @property
    def stats(self) -> MelStats | None:
        s = self.data.get("stats")
        return MelStats(float(s["mean"]), float(s["std"]), int(s["frames"])) if s else None

    def lengths(self) -> np.ndarray:
        """Frames of every utterance (int32, (utterances,)), from lengths.npy: no shard is opened."""
        if self._lengths is None:
            path = self.root / LENGTHS
            try:
                self._lengths = np.load(path, mmap_mode="r") if self.starts[-1] else np.zeros(0, np.int32)
            except (OSError, ValueError) as e:
                raise VoiceflowError(f"{path}: unreadable utterance lengths ({e})") from None
            if self._lengths.shape != (self.starts[-1],):
                raise VoiceflowError(f"{path}: {self._lengths.shape[0]} lengths, the index lists "
                                     f"{self.starts[-1]} utterances")
        return self._lengths

    def shard_lengths(self) -> list[np.ndarray]:
        """Per shard, the frames of its utterances (views of :meth:`lengths`)."""
        return self.split(self.lengths())

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        """Per shard, its utterances' part of ``values`` ((utterances,), shards in index order)."""
        return [values[a:b] for a, b in zip(self.starts[:-1], self.starts[1:])]

    def locate(self, index: int) -> tuple[int, int]:
        """``(shard, utterance within it)`` of a global index."""
        if not 0 <= index < self.starts[-1]:
            raise IndexError(f"utterance {index} out of range: {self.root} holds {self.starts[-1]}")
        shard = int(np.searchsorted(self.starts, index, side="right")) - 1
        return shard, index - int(self.starts[shard])

    def check(self, inventory: PhoneInventory | None = None, mel: MelConfig | None = None,
              phones_name: str = "the phone inventory") -> None:
        """Error if the set was written with another phone inventory or mel config than the run's."""
        if inventory is not None and self.data["phones_sha"] != inventory_sha(inventory):
            raise VoiceflowError(f"{self.root}: shards were written with another phone inventory than "
                                 f"{phones_name} (phones_sha differs); rewrite them or use their inventory")
        if mel is not None and self.data["mel"] != dataclasses.asdict(mel):
            written = self.data["mel"]
            diff = ", ".join(f"{k} {written.get(k)} (run: {v})" for k, v in dataclasses.asdict(mel).items()
                             if written.get(k) != v)
            raise VoiceflowError(f"{self.root}: shards were written with another mel config: {diff}")


class ShardDataset(Dataset):
    """Items are ``(index, start, length)`` windows (as the samplers yield) or a global index.

    Global index ``i`` is utterance ``i - starts[s]`` of shard ``s``, shards in index order.
    Shards are opened lazily, per process (so per DataLoader worker), and at most ``cache``
    of them are kept open. Items are those of :class:`~voiceflow.data.dataset.FeatureDataset`:
    ``{"id": str, "mel": (length, n_mels) float32 normalised, "phones": (length,) int64}``.
    """

    def __init__(self, root: str | Path, inventory: PhoneInventory | None, stats: MelStats,
                 mel_cfg: MelConfig | None = None, phones_name: str = "the phone inventory", cache: int = 64):
        self.index = ShardIndex(root)
        self.index.check(inventory, mel_cfg, phones_name)
        if mel_cfg is not None and mel_cfg.n_mels != self.index.n_mels:
            raise VoiceflowError(f"{root}: shards hold {self.index.n_mels} mel bands, the run uses {mel_cfg.n_mels}")
        self.stats, self.cache = stats, max(1, cache)
        self._open: OrderedDict[int, tuple[np.ndarray, dict]] = OrderedDict()

    def __len__(self) -> int:
        return int(self.index.starts[-1])

    @property
    def frames(self) -> np.ndarray:
        return self.index.lengths()

    def shard_lengths(self) -> list[np.ndarray]:
        return self.index.shard_lengths()

    def __getstate__(self) -> dict:  # pickled to a spawned worker: it opens its own maps
        index = copy.copy(self.index)
        index._lengths = None
        return {**self.__dict__, "index": index, "_open": OrderedDict()}

    def locate(self, index: int) -> tuple[int, int]:
        """``(shard, utterance within it)`` of a global index."""
        return self.index.locate(index)

    def _shard(self, shard: int) -> tuple[np.ndarray, dict]:
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        mel_path, meta_path = shard_paths(self.index.root, self.index.names[shard])
        meta = read_meta(meta_path)
        try:
            mel = np.load(mel_path, mmap_mode="r")
        except (OSError, ValueError) as e:
            raise VoiceflowError(f"{mel_path}: unreadable shard ({e})") from None
        if mel.shape != (int(meta["offsets"][-1]), self.index.n_mels) or mel.dtype != np.float16:
            raise VoiceflowError(f"{mel_path}: expected float16 ({int(meta['offsets'][-1])}, {self.index.n_mels}), "
                                 f"found {mel.dtype} {mel.shape}")
        self._open[shard] = (mel, meta)
        while len(self._open) > self.cache:
            self._open.popitem(last=False)
        return mel, meta

    def __getitem__(self, item: tuple[int, int, int] | int) -> dict:
        index, start, length = item if isinstance(item, tuple) else (item, 0, None)
        shard, u = self.locate(int(index))
        mel, meta = self._shard(shard)
        first, n = int(meta["offsets"][u]), int(meta["frames"][u])
        length = n if length is None else length
        if start < 0 or start + length > n:
            raise IndexError(f"window [{start}, {start + length}) outside utterance {meta['ids'][u]} ({n} frames)")
        x = torch.from_numpy(np.array(mel[first + start:first + start + length], dtype=np.float32))
        x.sub_(self.stats.mean).div_(self.stats.std)
        a, b = int(meta["phone_offsets"][u]), int(meta["phone_offsets"][u + 1])
        phones = np.repeat(meta["phone_ids"][a:b].astype(np.int64), meta["phone_frames"][a:b])
        return {"id": str(meta["ids"][u]), "mel": x, "phones": torch.from_numpy(phones[start:start + length])}

