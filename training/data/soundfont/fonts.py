"""Which SoundFonts and instruments the real-instrument data uses, where the files are,
and the one table that splits them between training and validation.

SoundFonts (Debian packages, installed by ``make soundfonts``):

| name | file | package | split |
|---|---|---|---|
| ``timgm6mb`` | ``TimGM6mb.sf2`` | ``timgm6mb-soundfont`` | training (not the held-out programs/kits) |
| ``opl3`` | ``OPL-3_FM_128M.sf2`` | ``opl3-soundfont`` | training (not the held-out programs) |
| ``black_pearl`` | ``Black_Pearl_4_LV2.sf2`` | ``avldrums.lv2-soundfont`` | training |
| ``sf_gmbank`` | ``sf_GMbank.sf2`` | ``csound-soundfont`` | validation (the whole font) |
| ``red_zeppelin`` | ``Red_Zeppelin_4_LV2.sf2`` | ``avldrums.lv2-soundfont`` | validation |

Files are looked up by name in the folders of ``$CREATIVE_AGENT_SF2_PATH`` (``os.pathsep``
separated; searched first) and then :data:`SEARCH_DIRS`.

An instrument is ``(font, bank, preset)``; a drum kit is a GM drum bank preset (bank 128,
played on MIDI channel 10) or one of the AVL kits (bank 0 preset 0, GM drum note map).
:func:`split_of` is the split table and :func:`instruments` lists a split: the two splits
share no SoundFont file, and the GM programs in :data:`HELD_OUT_PROGRAMS` are played only
by validation (training skips them in its fonts too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_PATH = "CREATIVE_AGENT_SF2_PATH"
SEARCH_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/lib/lv2/avldrums.lv2")
INSTALL_HINT = "run 'make soundfonts' (as root) or set CREATIVE_AGENT_SF2_PATH"


@dataclass(frozen=True)
class Font:
    """One SoundFont file: ``file`` (its name), ``package`` (the Debian package shipping
    it), ``drum_kits`` (bank-128 presets that are GM drum kits, or ``None`` for an AVL
    kit font whose preset 0 is the kit), ``melodic`` (whether it has the 128 GM programs)."""

    file: str
    package: str
    drum_kits: tuple[int, ...] | None
    melodic: bool


FONTS: dict[str, Font] = {
    "timgm6mb": Font("TimGM6mb.sf2", "timgm6mb-soundfont", (0, 8, 16, 24, 25, 32, 40), True),
    "opl3": Font("OPL-3_FM_128M.sf2", "opl3-soundfont", (0,), True),
    "black_pearl": Font("Black_Pearl_4_LV2.sf2", "avldrums.lv2-soundfont", None, False),
    "sf_gmbank": Font("sf_GMbank.sf2", "csound-soundfont", (0, 8, 16, 24, 25, 32, 40), True),
    "red_zeppelin": Font("Red_Zeppelin_4_LV2.sf2", "avldrums.lv2-soundfont", None, False),
}

# GM programs (0-based) per family and the roles each family plays
FAMILIES: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "piano": ((0, 1, 2, 3), ("chords", "arp")),
    "epiano": ((4, 5, 7), ("chords", "arp")),
    "mallet": ((11, 12, 13), ("arp",)),
    "organ": ((16, 17, 18, 19), ("chords",)),
    "guitar": ((24, 25, 26, 27, 28), ("chords", "arp")),
    "bass": ((32, 33, 34, 35, 36, 38, 39), ("bass",)),
    "strings": ((44, 45, 46, 48, 49, 50, 51), ("chords", "arp")),
    "choir": ((52, 53), ("chords",)),
    "brass": ((60, 61, 62, 63), ("chords",)),
    "synth": ((80, 81), ("arp", "bass")),
    "pad": ((88, 89, 90, 91, 92, 93, 94, 95), ("chords",)),
}
# GM programs never played in training, from any font (validation plays them from its fonts)
HELD_OUT_PROGRAMS = (3, 5, 19, 26, 35, 50, 62, 94)
HELD_OUT_KITS = {"timgm6mb": (32, 40)}  # Jazz, Brush: played by neither split
VALID_FONTS = ("sf_gmbank", "red_zeppelin")  # whole fonts training never hears
SPLITS = ("train", "valid")


@dataclass(frozen=True, order=True)
class Instrument:
    """A playable preset: ``font`` (key of :data:`FONTS`), ``bank``, ``preset``; ``drums``
    (True: a drum kit) and ``family`` (key of :data:`FAMILIES`, or "kit")."""

    font: str
    bank: int
    preset: int
    drums: bool
    family: str


def _all_instruments() -> list[Instrument]:
    out: list[Instrument] = []
    for name, font in FONTS.items():
        if font.drum_kits is None:
            out.append(Instrument(name, 0, 0, True, "kit"))
        else:
            out += [Instrument(name, 128, k, True, "kit") for k in font.drum_kits]
        if font.melodic:
            for family, (programs, _) in FAMILIES.items():
                out += [Instrument(name, 0, p, False, family) for p in programs]
    return out


def split_of(inst: Instrument) -> str | None:
    """The split table: "valid" for every instrument of :data:`VALID_FONTS` (whole fonts
    training never hears); None (played by neither split) for :data:`HELD_OUT_PROGRAMS`
    and :data:`HELD_OUT_KITS` of the other fonts, so that no program type (e.g. a
    honky-tonk piano, a halo pad) that validation plays is heard in training, and no kit
    that may share samples with a validation kit; "train" for everything else."""
    if inst.font in VALID_FONTS:
        return "valid"
    if inst.drums:
        held = inst.bank == 128 and inst.preset in HELD_OUT_KITS.get(inst.font, ())
    else:
        held = inst.preset in HELD_OUT_PROGRAMS
    return None if held else "train"


def instruments(split: str) -> tuple[Instrument, ...]:
    """Every instrument of ``split`` ("train" or "valid"), sorted."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return tuple(sorted(i for i in _all_instruments() if split_of(i) == split))


def search_dirs() -> list[Path]:
    """The folders searched for SoundFont files: ``$CREATIVE_AGENT_SF2_PATH`` first."""
    extra = [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]
    return [*extra, *(Path(d) for d in SEARCH_DIRS)]


class MissingSoundFontError(FileNotFoundError):
    """A SoundFont file is not installed (the message names the package to install)."""


def font_path(name: str) -> Path:
    """The file of SoundFont ``name`` (key of :data:`FONTS`), or a one-line
    :class:`MissingSoundFontError` naming the file, the package and where it looked."""
    if name not in FONTS:
        raise ValueError(f"unknown SoundFont {name!r}; known: {', '.join(FONTS)}")
    font = FONTS[name]
    dirs = search_dirs()
    for d in dirs:
        if (d / font.file).is_file():
            return d / font.file
    raise MissingSoundFontError(
        f"SoundFont {font.file} not found in {os.pathsep.join(map(str, dirs))}: install the "
        f"Debian package {font.package} ({INSTALL_HINT})"
    )
