"""Download and unpack the public corpora the recipes use: resumable, verified, atomic.

    from voiceflow.data.download import download, existing_copy

    root = existing_copy("vctk", "/data/VCTK-Corpus-0.92")     # a usable copy? (Path or None)
    root = root or download("vctk", "downloads")               # -> downloads/VCTK-Corpus-0.92
    download("libritts_r", "downloads", parts=["dev_clean", "test_clean"])

For every part: the archive is fetched with urllib to ``<dest>/archives/<corpus>/<file>.part``
(an interrupted download continues with an HTTP Range request when the server answers 206,
and restarts cleanly when it answers 200), its sha256 is checked where one is published
before it is accepted (renamed without ``.part``), it is unpacked under a temporary folder
in ``dest`` and moved into place, and ``<file>.done`` marks it installed: a rerun does
nothing. The archive is deleted after unpacking unless ``keep_archives``. A part whose
folder already exists (a copy unpacked by hand) is not downloaded again.

Corpora and parts (``download(corpus, dest, parts)``; ``-`` and ``_`` spellings both work):

  ljspeech     all                                      -> dest/LJSpeech-1.1
  vctk         all                                      -> dest/VCTK-Corpus-0.92
  libritts     train-clean-100 ... test-other (7)       -> dest/LibriTTS
  libritts_r   train_clean_100 ... test_other (7)       -> dest/LibriTTS_R   (no checksums published)
  librispeech  the same 7 (default: test-clean)         -> dest/LibriSpeech
  librilight   small, medium, large (default: small)    -> dest/librilight   (no checksums published)
  libriheavy   small, medium, large (LibriLight audio), cuts (all eight cut manifests) or
               cuts_<subset> -> dest/librilight and dest/libriheavy/  (no checksums published)
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from voiceflow.data.corpora import libriheavy, librispeech, libritts, ljspeech, vctk
from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path, give_default_mode

CHUNK = 1 << 20
TIMEOUT_S = 60


@dataclass(frozen=True)
class Part:
    """One downloadable file of a corpus.

    ``into``: the folder under ``dest`` it unpacks into ("" = ``dest``); ``provides``: a path
    under ``dest`` that exists once it is installed; ``extract`` False: the file itself is the
    payload (LibriHeavy's cut manifests), saved as ``dest/into/<file>``.
    """

    url: str
    sha256: str | None
    provides: str
    into: str = ""
    extract: bool = True

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


LIBRI_SUBSETS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other",
                 "test-clean", "test-other")
# sha256 of LibriTTS (openslr 60), from torchaudio.datasets.libritts._CHECKSUMS (torchaudio 2.11)
LIBRITTS_SHA256 = {
    "dev-clean": "da0864e1bd26debed35da8a869dd5c04dfc27682921936de7cff9c8a254dbe1a",
    "dev-other": "d413eda26f3a152ac7c9cf3658ef85504dfb1b625296e5fa83727f5186cca79c",
    "test-clean": "234ea5b25859102a87024a4b9b86641f5b5aaaf1197335c95090cde04fe9a4f5",
    "test-other": "33a5342094f3bba7ccc2e0500b9e72d558f72eb99328ac8debe1d9080402f10d",
    "train-clean-100": "c5608bf1ef74bb621935382b8399c5cdd51cd3ee47cec51f00f885a64c6c7f6b",
    "train-clean-360": "ce7cff44dcac46009d18379f37ef36551123a1dc4e5c8e4eb73ae57260de4886",
    "train-other-500": "e35f7e34deeb2e2bdfe4403d88c8fdd5fbf64865cae41f027a185a6965f0a5df",
}
# sha256 of LibriSpeech (openslr 12), from torchaudio.datasets.librispeech._CHECKSUMS (torchaudio 2.11)
LIBRISPEECH_SHA256 = {
    "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
    "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
    "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
    "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
    "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
    "train-clean-360": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
    "train-other-500": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
}
LIBRILIGHT = {s: Part(f"https://dl.fbaipublicfiles.com/librilight/data/{s}.tar", None, f"librilight/{s}",
                      into="librilight") for s in ("small", "medium", "large")}
LIBRIHEAVY_CUTS = {f"cuts_{s}": Part(f"https://huggingface.co/datasets/pkufool/libriheavy/resolve/main/"
                                     f"libriheavy_cuts_{s}.jsonl.gz", None,
                                     f"libriheavy/libriheavy_cuts_{s}.jsonl.gz", into="libriheavy", extract=False)
                   for s in libriheavy.SUBSETS}

PARTS: dict[str, dict[str, Part]] = {
    # sha256 from torchaudio.datasets.ljspeech (_CHECKSUMS)
    "ljspeech": {"all": Part("https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2",
                             "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5",
                             "LJSpeech-1.1/metadata.csv")},
    # sha256 from torchaudio.datasets.vctk (_CHECKSUMS; torchaudio names the older
    # datashare.is.ed.ac.uk host); the zip has no top folder, so it unpacks into VCTK-Corpus-0.92/
    "vctk": {"all": Part("https://datashare.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip",
                         "f96258be9fdc2cbff6559541aae7ea4f59df3fcaf5cf963aae5ca647357e359c",
                         "VCTK-Corpus-0.92/wav48_silence_trimmed", into="VCTK-Corpus-0.92")},
    "libritts": {s: Part(f"https://www.openslr.org/resources/60/{s}.tar.gz", LIBRITTS_SHA256[s], f"LibriTTS/{s}")
                 for s in LIBRI_SUBSETS},
    # openslr 141 publishes no checksums for LibriTTS-R
    "libritts_r": {s.replace("-", "_"): Part(f"https://www.openslr.org/resources/141/{s.replace('-', '_')}.tar.gz",
                                             None, f"LibriTTS_R/{s}") for s in LIBRI_SUBSETS},
    "librispeech": {s: Part(f"https://www.openslr.org/resources/12/{s}.tar.gz", LIBRISPEECH_SHA256[s],
                            f"LibriSpeech/{s}") for s in LIBRI_SUBSETS},
    "librilight": LIBRILIGHT,
    "libriheavy": {**LIBRILIGHT, **LIBRIHEAVY_CUTS},
}
GROUPS = {"libriheavy": {"cuts": tuple(LIBRIHEAVY_CUTS)}}
DEFAULT_PARTS = {
    "ljspeech": ("all",), "vctk": ("all",), "libritts": LIBRI_SUBSETS,
    "libritts_r": tuple(s.replace("-", "_") for s in LIBRI_SUBSETS), "librispeech": ("test-clean",),
    "librilight": ("small",),
    "libriheavy": ("small", "cuts_small", "cuts_dev", "cuts_test_clean", "cuts_test_other"),
}
# what download() returns: the folder to give `voiceflow prepare --root`
ROOTS = {"ljspeech": "LJSpeech-1.1", "vctk": "VCTK-Corpus-0.92", "libritts": "LibriTTS",
         "libritts_r": "LibriTTS_R", "librispeech": "LibriSpeech", "librilight": "librilight",
         "libriheavy": "librilight"}
FINDERS: dict[str, Callable[[Path], Path | None]] = {
    "ljspeech": ljspeech.find_root, "vctk": vctk.find_root,
    "libritts": lambda p: libritts.find_root(p, "LibriTTS"),
    "libritts_r": lambda p: libritts.find_root(p, "LibriTTS_R"),
    "librispeech": librispeech.find_root,
    "librilight": libriheavy.find_audio_root, "libriheavy": libriheavy.find_audio_root,
}


def note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def existing_copy(corpus: str, path: str | os.PathLike) -> Path | None:
    """The corpus root inside ``path`` if ``path`` holds a usable copy of ``corpus``, else None.

    "Usable" means the released top-level layout is there (LJSpeech: metadata.csv and wavs/;
    VCTK: txt/ and wav48_silence_trimmed/; Libri*: at least one subset folder; libriheavy:
    LibriLight's small/, medium/ or large/ -- its cut manifests are checked by prepare).
    ``path`` may be the corpus folder itself or the folder holding it.
    """
    if corpus not in FINDERS:
        raise VoiceflowError(f"unknown corpus {corpus!r} (one of: {', '.join(FINDERS)})")
    return FINDERS[corpus](Path(path)) if Path(path).is_dir() else None


def sha256sum(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": "voiceflow-download"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            return e  # the .part may already be complete
        raise VoiceflowError(f"{url}: the server answered HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", None) or e
        raise VoiceflowError(f"{url}: cannot reach the server ({reason}); download it by hand and pass "
                             "the existing copy to the recipe (--corpus-root DIR)") from None


def _total_from_content_range(value: str | None) -> int | None:
    """``bytes 100-199/1000`` or ``bytes */1000`` -> 1000."""
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _stream(response, part: Path, offset: int, url: str) -> int:
    """Append (206) or write afresh (200) the body to ``part``; return the expected total size."""
    from tqdm import tqdm

    if response.status == 206:
        start = (response.headers.get("Content-Range") or "").split(" ")[-1].split("-")[0]
        if start != str(offset):
            raise VoiceflowError(f"{url}: the server resumed at byte {start}, not {offset}; "
                                 f"delete {part} and run again")
    else:
        offset = 0  # 200: the whole file again
    length = response.headers.get("Content-Length")
    total = offset + int(length) if length and length.isdigit() else None
    with open(part, "ab" if offset else "wb") as f, \
            tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                 desc=part.name[:-len(".part")], file=sys.stderr, disable=None) as bar:
        try:
            for block in iter(lambda: response.read(CHUNK), b""):
                f.write(block)
                bar.update(len(block))
        except (OSError, http.client.HTTPException) as e:
            raise VoiceflowError(f"{url}: download interrupted after {f.tell()} bytes ({e}); "
                                 f"run again to resume from {part}") from None
    return total if total is not None else part.stat().st_size


def fetch(url: str, path: str | os.PathLike, sha256: str | None = None, timeout: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``path`` through ``path.part``, resuming a partial ``.part``.

    With ``sha256`` the file is verified before it is accepted; on a mismatch the partial
    file is deleted and a VoiceflowError names the file, the expected and the actual sum.
    An existing ``path`` is taken as done (and verified when ``sha256`` is given).
    """
    path = Path(path)
    part = path.with_name(path.name + ".part")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        offset = part.stat().st_size if part.exists() else 0
        response = _open(url, offset, timeout)
        with response:
            if response.status == 416:  # nothing left to send: the .part is complete, or stale
                total = _total_from_content_range(response.headers.get("Content-Range"))
                if total != offset:
                    part.unlink()
                    return fetch(url, path, sha256, timeout)
            else:
                total = _stream(response, part, offset, url)
        if part.stat().st_size != total:
            raise VoiceflowError(f"{url}: download ended after {part.stat().st_size} of {total} bytes; "
                                 f"run again to resume from {part}")
        candidate = part
    else:
        candidate = path
    if sha256:
        actual = sha256sum(candidate)
        if actual != sha256.lower():
            candidate.unlink()
            raise VoiceflowError(f"{path}: sha256 mismatch (expected {sha256}, got {actual}); "
                                 f"deleted {candidate.name}, run again to download it afresh")
    if candidate is part:
        os.replace(part, path)
    return path


def _merge(src: Path, dst: Path) -> None:
    """Move the tree ``src`` into ``dst``: new entries are renamed whole, folders merged."""
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        if target.is_dir() and entry.is_dir() and not entry.is_symlink():
            _merge(entry, target)
        else:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)


def _unpack(archive: Path, into: Path) -> None:
    from tqdm import tqdm

    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                for member in tqdm(z.infolist(), desc=f"unpack {archive.name}", unit="file",
                                   file=sys.stderr, disable=None):
                    z.extract(member, into)
            return
        with tarfile.open(archive, "r:*") as tar:
            for member in tqdm(tar, desc=f"unpack {archive.name}", unit="file", file=sys.stderr, disable=None):
                tar.extract(member, into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise VoiceflowError(f"{archive}: cannot unpack ({e}); delete it and download it again") from None


def extract(archive: str | os.PathLike, dest: str | os.PathLike, unwrap: str | None = None) -> None:
    """Unpack a .tar(.gz|.bz2|.xz) or .zip into ``dest``, atomically per top-level entry.

    The archive is unpacked under a temporary folder in ``dest`` and its entries are then
    renamed into place (folders that already exist, as ``LibriTTS/`` for a second subset,
    are merged), so an interrupted run never leaves a half-unpacked folder in place. With
    ``unwrap``, an archive holding nothing but a folder of that name has the folder's
    content moved instead (VCTK's zip unpacks into VCTK-Corpus-0.92/ with or without one).
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".tmp", dir=dest))
    give_default_mode(tmp)
    try:
        _unpack(archive, tmp)
        top = list(tmp.iterdir())
        content = top[0] if unwrap and len(top) == 1 and top[0].is_dir() and top[0].name == unwrap else tmp
        _merge(content, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def install(part: Part, dest: str | os.PathLike, archives: str | os.PathLike, verify: bool = True,
            keep_archive: bool = False, label: str = "") -> Path:
    """Download (or resume), verify and unpack one part; a no-op when already installed."""
    dest, archives = Path(dest), Path(archives)
    target = dest / part.provides
    label = label or part.filename
    if not part.extract:
        if target.exists():
            note(f"{label}: {target} exists; nothing to do")
            return target
        _verification_note(part, verify, label)
        return fetch(part.url, target, part.sha256 if verify else None)
    marker = archives / f"{part.filename}.done"
    if marker.exists():
        note(f"{label}: already installed ({marker}); nothing to do")
        return target
    if target.exists():
        note(f"{label}: {target} exists (unpacked before); not downloading it again")
        return target
    _verification_note(part, verify, label)
    archive = fetch(part.url, archives / part.filename, part.sha256 if verify else None)
    extract(archive, dest / part.into, unwrap=Path(part.into).name if part.into else None)
    with atomic_path(marker) as tmp:
        tmp.write_text(f"{part.url}\n{part.sha256 or 'no published sha256'}\n", encoding="utf-8")
    if not keep_archive:
        archive.unlink()
    return target


def _verification_note(part: Part, verify: bool, label: str) -> None:
    if not verify:
        note(f"{label}: --no-verify given; {part.filename} is not checked")
    elif not part.sha256:
        note(f"{label}: no published sha256 for {part.url}; not verified")


def resolve_parts(corpus: str, parts: Iterable[str] | None = None) -> list[str]:
    """Part names (``-``/``_`` spellings and groups such as libriheavy's ``cuts`` expanded)."""
    if corpus not in PARTS:
        raise VoiceflowError(f"unknown corpus {corpus!r} (one of: {', '.join(PARTS)})")
    table, groups = PARTS[corpus], GROUPS.get(corpus, {})
    spelling = {name.replace("-", "_"): name for name in [*table, *groups]}
    out: list[str] = []
    for name in (parts if parts is not None else DEFAULT_PARTS[corpus]):
        key = spelling.get(name.strip().replace("-", "_"))
        if key is None:
            raise VoiceflowError(f"unknown part {name!r} of {corpus} (one of: {', '.join([*table, *groups])})")
        out += [p for p in groups.get(key, (key,)) if p not in out]
    return out


def download(corpus: str, dest: str | os.PathLike, parts: Iterable[str] | None = None, verify: bool = True,
             keep_archives: bool = False) -> Path:
    """Install the ``parts`` of ``corpus`` under ``dest``; return the root to give ``prepare``."""
    dest = Path(dest)
    for name in resolve_parts(corpus, parts):
        install(PARTS[corpus][name], dest, dest / "archives" / corpus, verify=verify,
                keep_archive=keep_archives, label=f"{corpus} {name}")
    return dest / ROOTS[corpus]
