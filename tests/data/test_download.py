"""Corpus download (voiceflow.data.download, voiceflow download) against a local HTTP server."""

import hashlib
import io
import random
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from minicorpora import make_libriheavy, make_librispeech, make_libritts, make_ljspeech, make_vctk
from voiceflow.bin.download import main
from voiceflow.data import download as dl
from voiceflow.data.corpora import prepare
from voiceflow.errors import VoiceflowError


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range: bytes=N-`` unless ``server.ranges`` is False;
    with ``server.cut_after`` N, the next answer stops after N bytes of its body."""

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        data = server.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start, wanted = 0, self.headers.get("Range")
        if wanted and server.ranges:
            start = int(wanted.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if server.cut_after:  # the connection drops once, after this many bytes
            self.wfile.write(data[start:start + server.cut_after])
            server.cut_after = 0
            return
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files, httpd.requests, httpd.ranges, httpd.cut_after = {}, [], True, 0
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def tar_bytes(files: dict, mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_dir(path, mode: str = "w:bz2") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        tar.add(path, arcname=path.name)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


NOISE = random.Random(0).randbytes(20000)  # incompressible: the archive is about 20 kB
ARCHIVE = tar_bytes({"Corpus/part1/a.txt": NOISE, "Corpus/README": b"read me\n"})


def serve(server, name: str, data: bytes) -> str:
    server.files[f"/{name}"] = data
    return f"{server.url}/{name}"


def part(server, data=ARCHIVE, name="part1.tar.gz", provides="Corpus/part1", **kw):
    return dl.Part(serve(server, name, data), kw.pop("sha256", sha(data)), provides, **kw)


def test_fresh_download_is_verified_unpacked_and_marked(server, tmp_path):
    target = dl.install(part(server), tmp_path / "dest", tmp_path / "dest" / "archives")
    assert target == tmp_path / "dest" / "Corpus" / "part1"
    assert (target / "a.txt").read_bytes() == NOISE
    assert (tmp_path / "dest" / "archives" / "part1.tar.gz.done").exists()
    assert not (tmp_path / "dest" / "archives" / "part1.tar.gz").exists()  # deleted after unpacking
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["Corpus", "archives"]  # no temporary left
    assert server.requests == [("/part1.tar.gz", None)]


def test_a_partial_download_resumes_with_a_range_request(server, tmp_path):
    archives = tmp_path / "archives"
    archives.mkdir()
    (archives / "part1.tar.gz.part").write_bytes(ARCHIVE[:300])
    dl.install(part(server), tmp_path, archives)
    assert server.requests == [("/part1.tar.gz", "bytes=300-")]
    assert (tmp_path / "Corpus" / "part1" / "a.txt").exists()


def test_a_dropped_connection_leaves_a_part_file_the_next_run_resumes(server, tmp_path):
    server.cut_after = 5000
    url = part(server).url
    with pytest.raises(VoiceflowError, match=r"download ended after 5000 of \d+ bytes; run again to resume"):
        dl.fetch(url, tmp_path / "part1.tar.gz", sha(ARCHIVE))
    assert (tmp_path / "part1.tar.gz.part").stat().st_size == 5000 and not (tmp_path / "part1.tar.gz").exists()
    assert dl.fetch(url, tmp_path / "part1.tar.gz", sha(ARCHIVE)).read_bytes() == ARCHIVE
    assert server.requests == [("/part1.tar.gz", None), ("/part1.tar.gz", "bytes=5000-")]


def test_a_server_without_ranges_restarts_the_download_cleanly(server, tmp_path):
    server.ranges = False
    (tmp_path / "part1.tar.gz.part").write_bytes(b"stale bytes of another file" * 10)  # 270 bytes
    path = dl.fetch(part(server).url, tmp_path / "part1.tar.gz", sha(ARCHIVE))
    assert server.requests[0][1] == "bytes=270-" and path.read_bytes() == ARCHIVE
    assert not (tmp_path / "part1.tar.gz.part").exists()


def test_a_complete_part_file_is_accepted_after_a_416(server, tmp_path):
    (tmp_path / "part1.tar.gz.part").write_bytes(ARCHIVE)
    assert dl.fetch(part(server).url, tmp_path / "part1.tar.gz", sha(ARCHIVE)).read_bytes() == ARCHIVE


def test_a_checksum_mismatch_deletes_the_download_and_names_both_sums(server, tmp_path):
    bad = "0" * 64
    with pytest.raises(VoiceflowError, match=f"part1.tar.gz: sha256 mismatch \\(expected {bad}, got {sha(ARCHIVE)}\\)"):
        dl.install(part(server, sha256=bad), tmp_path, tmp_path / "archives")
    assert list((tmp_path / "archives").iterdir()) == [] and not (tmp_path / "Corpus").exists()


def test_a_second_install_does_nothing_and_parts_merge(server, tmp_path):
    first = part(server)
    dl.install(first, tmp_path, tmp_path / "archives")
    stamp = (tmp_path / "Corpus" / "part1" / "a.txt").stat().st_mtime_ns
    dl.install(first, tmp_path, tmp_path / "archives")
    assert len(server.requests) == 1 and (tmp_path / "Corpus" / "part1" / "a.txt").stat().st_mtime_ns == stamp
    second = tar_bytes({"Corpus/part2/b.txt": b"beta\n", "Corpus/README": b"read me\n"})
    dl.install(part(server, second, "part2.tar.gz", "Corpus/part2"), tmp_path, tmp_path / "archives")
    assert sorted(p.name for p in (tmp_path / "Corpus").iterdir()) == ["README", "part1", "part2"]


def test_a_folder_unpacked_by_hand_is_not_downloaded_again(server, tmp_path, capsys):
    (tmp_path / "Corpus" / "part1").mkdir(parents=True)
    dl.install(part(server), tmp_path, tmp_path / "archives")
    assert server.requests == [] and "not downloading it again" in capsys.readouterr().err


@pytest.mark.parametrize("top", ["", "VCTK-Corpus-0.92/"])
def test_a_zip_unpacks_into_its_folder_with_or_without_a_top_folder(server, tmp_path, top):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{top}txt/p225/p225_001.txt", "Please call Stella.\n")
        z.writestr(f"{top}speaker-info.txt", "ID AGE GENDER\n")
    p = part(server, buf.getvalue(), "vctk.zip", "VCTK-Corpus-0.92/txt", into="VCTK-Corpus-0.92")
    dl.install(p, tmp_path, tmp_path / "archives")
    assert (tmp_path / "VCTK-Corpus-0.92" / "txt" / "p225" / "p225_001.txt").exists()
    assert (tmp_path / "VCTK-Corpus-0.92" / "speaker-info.txt").exists()


def test_unreachable_and_missing_urls_are_one_line_errors(server, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/LJSpeech-1.1.tar.bz2"
    with pytest.raises(VoiceflowError) as e:
        dl.fetch(url, tmp_path / "x.tar.bz2")
    assert str(e.value).startswith(f"{url}: cannot reach the server") and "by hand" in str(e.value)
    assert "\n" not in str(e.value) and not list(tmp_path.iterdir())
    with pytest.raises(VoiceflowError, match=r"/nothing.tar.gz: the server answered HTTP 404"):
        dl.fetch(f"{server.url}/nothing.tar.gz", tmp_path / "nothing.tar.gz")


def test_unverified_parts_say_so_and_plain_files_are_kept_as_they_are(server, tmp_path, capsys):
    cuts = dl.Part(serve(server, "libriheavy_cuts_dev.jsonl.gz", b"gzip bytes"), None,
                   "libriheavy/libriheavy_cuts_dev.jsonl.gz", into="libriheavy", extract=False)
    target = dl.install(cuts, tmp_path, tmp_path / "archives")
    assert target.read_bytes() == b"gzip bytes" and "no published sha256" in capsys.readouterr().err
    dl.install(cuts, tmp_path, tmp_path / "archives")
    assert len(server.requests) == 1
    dl.install(part(server), tmp_path, tmp_path / "archives", verify=False)
    assert "--no-verify" in capsys.readouterr().err


def test_download_command_then_prepare_the_copy(server, tmp_path, monkeypatch, capsys):
    corpus = make_ljspeech(tmp_path / "src", 1, 8, speech=False)
    data = tar_dir(corpus.root)
    monkeypatch.setitem(dl.PARTS, "ljspeech", {"all": part(server, data, "LJSpeech-1.1.tar.bz2",
                                                           "LJSpeech-1.1/metadata.csv")})
    assert main(["--corpus", "ljspeech", "--dest", str(tmp_path / "dl")]) == 0
    root = tmp_path / "dl" / "LJSpeech-1.1"
    assert capsys.readouterr().out.strip() == str(root)
    assert dl.existing_copy("ljspeech", root) == root and dl.existing_copy("ljspeech", root.parent) == root
    assert prepare("ljspeech", root, tmp_path / "m", progress=False).splits["train"]["utterances"] == 6
    assert main(["--corpus", "ljspeech", "--dest", str(tmp_path / "dl")]) == 0
    assert len(server.requests) == 1
    with pytest.raises(SystemExit) as e:
        main(["--corpus", "ljspeech", "--dest", str(tmp_path / "dl"), "--parts", "nope"])
    assert e.value.code == 1 and "unknown part 'nope' of ljspeech" in capsys.readouterr().err


def test_existing_copy_recognises_each_layout(tmp_path):
    made = {"ljspeech": make_ljspeech(tmp_path / "lj", 1, 4, speech=False),
            "libritts_r": make_libritts(tmp_path / "ltr", 2, 1, speech=False),
            "libritts": make_libritts(tmp_path / "lt", 2, 1, speech=False, folder="LibriTTS"),
            "vctk": make_vctk(tmp_path / "vctk", 2, 1, speech=False),
            "librispeech": make_librispeech(tmp_path / "ls", 1, 1, speech=False),
            "libriheavy": make_libriheavy(tmp_path / "lh", 1, 2, speech=False)}
    for corpus, c in made.items():
        assert dl.existing_copy(corpus, c.root) == c.root, corpus
        assert dl.existing_copy(corpus, c.root.parent) == c.root, corpus
        assert dl.existing_copy(corpus, tmp_path / "missing") is None
    assert dl.existing_copy("vctk", made["ljspeech"].root) is None


def test_the_registry_names_real_urls_and_published_sums_only():
    assert dl.PARTS["ljspeech"]["all"].sha256 == "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5"
    assert dl.PARTS["vctk"]["all"].sha256 == "f96258be9fdc2cbff6559541aae7ea4f59df3fcaf5cf963aae5ca647357e359c"
    for corpus, parts in dl.PARTS.items():
        for p in parts.values():
            assert p.url.startswith("https://") and (p.sha256 is None or len(p.sha256) == 64)
    assert all(p.sha256 is None for c in ("libritts_r", "librilight", "libriheavy") for p in dl.PARTS[c].values())
    assert dl.PARTS["libritts"]["test-clean"].url == "https://www.openslr.org/resources/60/test-clean.tar.gz"
    assert dl.PARTS["libritts_r"]["test_clean"].url == "https://www.openslr.org/resources/141/test_clean.tar.gz"
    assert dl.resolve_parts("libritts_r", ["test-clean", "test_clean"]) == ["test_clean"]
    assert dl.resolve_parts("libriheavy", ["small", "cuts"]) == ["small"] + [f"cuts_{s}" for s in (
        "small", "medium", "large", "dev", "test_clean", "test_other", "test_clean_large", "test_other_large")]
