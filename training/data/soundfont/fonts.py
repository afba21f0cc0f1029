"""Which SoundFonts and instruments the real-instrument data uses, where the files are,
and the one table that splits them between training and validation.

SoundFonts (Debian packages, installed by ``make soundfonts``), looked up by file name in
the folders of :data:`SEARCH_DIRS`, or, when it is set, of ``$CREATIVE_AGENT_SF2_PATH``
instead (``os.pathsep`` separated folders):

| name | file | package | training plays | validation plays |
|---|---|---|---|---|
| ``timgm6mb`` | ``TimGM6mb.sf2`` | ``timgm6mb-soundfont`` | 7 drum kits, GM programs not in VALID_PROGRAMS | VALID_PROGRAMS |
| ``opl3`` | ``OPL-3_FM_128M.sf2`` | ``opl3-soundfont`` | GM programs not in VALID_PROGRAMS | its drum kit |
| ``black_pearl`` | ``Black_Pearl_4_LV2.sf2`` | ``avldrums.lv2-soundfont`` | the kit | – |
| ``sf_gmbank`` | ``sf_GMbank.sf2`` | ``csound-soundfont`` | – | VALID_PROGRAMS but 50 |
| ``red_zeppelin`` | ``Red_Zeppelin_4_LV2.sf2`` | ``avldrums.lv2-soundfont`` | – | the kit, less SHARED_NOTES |

Measured sharing (single notes, max normalised cross-correlation; the same sample gives
>= 0.93, distinct instruments <= 0.88, ``tests/test_data_soundfont.py`` checks it): most
``sf_GMbank`` programs and drum notes are TimGM6mb's samples, so ``sf_GMbank`` plays only
VALID_PROGRAMS (not 50, whose sample is TimGM6mb's warm pad; its kits nothing); the AVL
kits share hi-hats, a tom and percussion, so validation never plays those notes
(:data:`SHARED_NOTES`) from Red Zeppelin (training keeps Black Pearl's recorded hats);
within TimGM6mb programs reuse samples, so VALID_PROGRAMS holds only programs unlike every
training one; OPL3 reuses its FM patches across programs, so validation plays only its kit.
Whole SoundFonts training never loads: ``sf_GMbank`` and ``Red_Zeppelin_4_LV2``.

An instrument is ``(font, bank, preset)``; a drum kit is a GM drum bank preset (bank 128,
played on MIDI channel 10) or an AVL kit (bank 0 preset 0, GM drum note map).
:func:`split_of` is the split table and :func:`instruments` lists a split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_PATH = "CREATIVE_AGENT_SF2_PATH"
SEARCH_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/lib/lv2/avldrums.lv2")
INSTALL_HINT = "'make soundfonts' installs it as root; CREATIVE_AGENT_SF2_PATH names other folders"


@dataclass(frozen=True)
class Font:
    """One SoundFont file: ``file`` (its name), ``package`` (the Debian package shipping
    it), ``drum_kits`` (bank-128 presets played as GM drum kits, or ``None`` for an AVL
    kit font whose preset 0 is the kit), ``melodic`` (whether its GM programs play),
    ``weight`` (how often a part picks this font among those that can play it)."""

    file: str
    package: str
    drum_kits: tuple[int, ...] | None
    melodic: bool
    weight: float = 2.0


FONTS: dict[str, Font] = {
    "timgm6mb": Font("TimGM6mb.sf2", "timgm6mb-soundfont", (0, 8, 16, 24, 25, 32, 40), True),
    "opl3": Font("OPL-3_FM_128M.sf2", "opl3-soundfont", (0,), True, 1.0),  # FM, not sampled
    "black_pearl": Font("Black_Pearl_4_LV2.sf2", "avldrums.lv2-soundfont", None, False),
    "sf_gmbank": Font("sf_GMbank.sf2", "csound-soundfont", (), True),
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
# the split table (see the module docstring)
VALID_PROGRAMS = (2, 7, 13, 17, 19, 27, 35, 39, 50, 52, 62, 63, 93, 94)  # GM programs, any font
VALID_KITS = {"red_zeppelin": (0,), "opl3": (0,)}  # font -> kit presets validation plays
VALID_ONLY_FONTS = ("sf_gmbank", "red_zeppelin")  # training never loads them
SHARED_NOTES = {"red_zeppelin": (39, 42, 44, 46, 48, 54, 55, 56, 60, 61)}  # = black_pearl's
# played by neither split: sf_GMbank's synth strings are TimGM6mb's warm-pad sample; OPL3
# reuses its FM patches across programs, so its VALID_PROGRAMS sound like training ones
UNUSED_PROGRAMS = {"sf_gmbank": (50,), "opl3": VALID_PROGRAMS}
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
    """The split table: None (played by neither) for :data:`UNUSED_PROGRAMS`; "valid" for
    :data:`VALID_PROGRAMS` (melodic, any font) and :data:`VALID_KITS`; otherwise None in
    :data:`VALID_ONLY_FONTS`, and "train" everywhere else."""
    if not inst.drums and inst.preset in UNUSED_PROGRAMS.get(inst.font, ()):
        return None
    held = inst.preset in (VALID_KITS.get(inst.font, ()) if inst.drums else VALID_PROGRAMS)
    if held:
        return "valid"
    return None if inst.font in VALID_ONLY_FONTS else "train"


def instruments(split: str) -> tuple[Instrument, ...]:
    """Every instrument of ``split`` ("train" or "valid"), sorted."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return tuple(sorted(i for i in _all_instruments() if split_of(i) == split))


def search_dirs() -> list[Path]:
    """The folders searched for SoundFont files: those of ``$CREATIVE_AGENT_SF2_PATH``
    when it is set (non-empty), else :data:`SEARCH_DIRS`."""
    override = [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]
    return override or [Path(d) for d in SEARCH_DIRS]


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
