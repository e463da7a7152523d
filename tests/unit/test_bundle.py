import io
import zipfile

import pytest

from hivemind.errors import SourceError
from hivemind.planning.bundle import bundle_directory, extract_bundle


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_round_trip_skips_vendored_folders_and_keeps_modes(tmp_path):
    src = tmp_path / "src"
    (src / "node_modules" / "x").mkdir(parents=True)
    (src / "node_modules" / "x" / "i.js").write_text("x")
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref")
    (src / "env").mkdir()
    (src / "env" / "pyvenv.cfg").write_text("")
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o755)
    (src / "app.py").write_text("print(1)\n")
    data = bundle_directory(src)
    assert data == bundle_directory(src)  # deterministic
    out = extract_bundle(data, tmp_path / "out")
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["app.py", "run.sh"]
    assert (out / "run.sh").stat().st_mode & 0o111


@pytest.mark.parametrize(
    ("entries", "message"),
    [({"../evil": b"x"}, "unsafe path"), ({"/etc/passwd": b"x"}, "unsafe path"), ({}, "empty")],
)
def test_hostile_or_empty_bundles_are_refused(tmp_path, entries, message):
    with pytest.raises(SourceError, match=message):
        extract_bundle(_zip(entries), tmp_path)


def test_not_a_zip_and_oversized(tmp_path):
    with pytest.raises(SourceError, match="not a zip"):
        extract_bundle(b"hello", tmp_path)
    with pytest.raises(SourceError, match="unpacks to more than"):
        extract_bundle(_zip({"big": b"0" * 4096}), tmp_path, max_bytes=1024)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_bytes(b"0" * 4096)
    with pytest.raises(SourceError, match="over the"):
        bundle_directory(tmp_path / "src", max_bytes=1024)


def test_missing_and_empty_sources(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        bundle_directory(tmp_path / "nope")
    (tmp_path / "empty" / "node_modules").mkdir(parents=True)
    with pytest.raises(SourceError, match="empty"):
        bundle_directory(tmp_path / "empty")


def test_what_git_ignores_and_hivemindignore_names_stays_on_this_machine(tmp_path):
    src = tmp_path / "src"
    (src / "config").mkdir(parents=True)
    (src / "logs").mkdir()
    files = {
        ".gitignore": ".env\n*.pem\nlogs/\n!keep.pem\n",
        ".hivemindignore": "fixtures/big.sql\n",
        ".env": "SECRET=1\n",
        "deploy.pem": "-----BEGIN PRIVATE KEY-----\n",
        "keep.pem": "public cert\n",
        "logs/today.log": "x\n",
        "config/.gitignore": "local.py\n",
        "config/local.py": "DEBUG = True\n",
        "config/settings.py": "DEBUG = False\n",
        "fixtures/big.sql": "insert\n",
        "app.py": "print(1)\n",
    }
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    out = extract_bundle(bundle_directory(src), tmp_path / "out")
    kept = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert kept == [".gitignore", ".hivemindignore", "app.py", "config/.gitignore", "config/settings.py", "keep.pem"]


def test_a_bundle_whose_entries_collide_or_lie_about_their_size_is_refused(tmp_path):
    with pytest.raises(SourceError, match=r"has app/x\.py inside app, which is a file"):
        extract_bundle(_zip({"app": b"a file", "app/x.py": b"x"}), tmp_path / "a")
    twice = io.BytesIO()
    with zipfile.ZipFile(twice, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("a.txt", b"1")
        archive.writestr("a.txt", b"2")
    with pytest.raises(SourceError, match=r"holds a\.txt twice"):
        extract_bundle(twice.getvalue(), tmp_path / "b")
    # an entry that declares 10 bytes and inflates to 1 MiB: the real size is what counts
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.bin", b"\0" * 2**20)
    data = bytearray(bomb.getvalue())
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # the local and central sizes
        at = data.index(header)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    with pytest.raises(SourceError, match=r"unpacks to more than|damaged"):
        extract_bundle(bytes(data), tmp_path / "c", max_bytes=64 * 1024)
