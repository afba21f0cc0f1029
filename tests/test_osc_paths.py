"""plugin_host.paths: network paths must resolve (symlinks followed) inside allowed roots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plugin_host.paths import AllowedRoots, PathRefused


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "root"
    other = tmp_path / "root2"
    outside = tmp_path / "outside"
    for d in (root, root / "sub", other, outside):
        d.mkdir()
    (root / "in.wav").write_bytes(b"x")
    (root / "sub" / "tg.wav").write_bytes(b"x")
    (other / "b.wav").write_bytes(b"x")
    (outside / "secret.wav").write_bytes(b"x")
    os.symlink(outside / "secret.wav", root / "link_out.wav")
    os.symlink(outside, root / "dir_out")
    os.symlink(root / "in.wav", root / "link_in.wav")
    return {"root": root, "other": other, "outside": outside}


def test_relative_absolute_and_second_root(tree: dict[str, Path]) -> None:
    roots = AllowedRoots([tree["root"], tree["other"]])
    assert roots.existing_file("in.wav", "input") == tree["root"] / "in.wav"
    assert roots.existing_file("sub/../in.wav", "input") == tree["root"] / "in.wav"
    assert roots.existing_file(str(tree["other"] / "b.wav"), "target") == tree["other"] / "b.wav"
    # a symlink that stays inside resolves to its real target
    assert roots.existing_file("link_in.wav", "input") == tree["root"] / "in.wav"


@pytest.mark.parametrize(
    "raw",
    [
        "../outside/secret.wav",
        "sub/../../outside/secret.wav",
        "link_out.wav",
        "dir_out/secret.wav",
        "/etc/passwd",
    ],
)
def test_paths_leaving_the_roots_are_refused(tree: dict[str, Path], raw: str) -> None:
    roots = AllowedRoots([tree["root"]])
    with pytest.raises(PathRefused, match="outside the allowed roots"):
        roots.existing_file(raw, "input")
    with pytest.raises(PathRefused, match="outside the allowed roots"):
        roots.output_file(raw, "output", overwrite=True)


def test_absolute_path_outside_written_literally(tree: dict[str, Path]) -> None:
    roots = AllowedRoots([tree["root"]])
    with pytest.raises(PathRefused, match=r"input: .*secret\.wav.* outside"):
        roots.existing_file(str(tree["outside"] / "secret.wav"), "input")


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("", "empty path"),
        ("~/x.wav", "'~' is not expanded"),
        ("a\nb.wav", "control characters"),
        ("x" * 5000, "longer than"),
        ("y" * 3000, "File name too long"),  # the OS refuses it: still one clean line
        ("missing.wav", "not an existing file"),
        ("sub", "not an existing file"),
    ],
)
def test_unusable_inputs(tree: dict[str, Path], raw: str, needle: str) -> None:
    with pytest.raises(PathRefused, match=needle):
        AllowedRoots([tree["root"]]).existing_file(raw, "input")


def test_output_rules(tree: dict[str, Path]) -> None:
    roots = AllowedRoots([tree["root"]])
    inp = tree["root"] / "in.wav"
    assert roots.output_file("new.wav", "output", overwrite=False) == tree["root"] / "new.wav"
    with pytest.raises(PathRefused, match="exists"):
        roots.output_file("in.wav", "output", overwrite=False)
    with pytest.raises(PathRefused, match="one of the inputs"):
        roots.output_file("link_in.wav", "output", overwrite=True, inputs=[inp])
    assert roots.output_file("sub/tg.wav", "output", overwrite=True, inputs=[inp]).name == "tg.wav"
    with pytest.raises(PathRefused, match="folder of"):
        roots.output_file("nodir/x.wav", "output", overwrite=False)
    with pytest.raises(PathRefused, match="is a directory"):
        roots.output_file("sub", "output", overwrite=True)


def test_roots_must_be_directories(tmp_path: Path) -> None:
    with pytest.raises(PathRefused, match="not a directory"):
        AllowedRoots([tmp_path / "nope"])
    with pytest.raises(PathRefused, match="no allowed root"):
        AllowedRoots([])
    roots = AllowedRoots([tmp_path, tmp_path])
    assert roots.roots == (tmp_path.resolve(),)
    assert roots.contains(tmp_path.resolve()) and not roots.contains(tmp_path.parent)
