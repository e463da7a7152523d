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
