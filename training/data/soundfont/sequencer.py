"""Play note lists through SoundFonts, sample-accurately, with ``tinysoundfont``.

No MIDI files: a part is a list of :class:`Note` (start and length in seconds, MIDI key,
velocity), rendered by :meth:`FontBank.render` into float32 ``[2, T]``. Rendering is
deterministic: tinysoundfont has no random state, and every part starts from a reset
SoundFont with all voices free, so a part's bytes do not depend on what played before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from training.data.soundfont.fonts import INSTALL_HINT, Instrument, font_path

DRUM_CHANNEL = 9  # MIDI channel 10 (0-based 9): GM drum kits
MELODIC_CHANNEL = 0
_BYTES_PER_FRAME = 8  # stereo float32
_FLUSH = 2048  # samples rendered (and dropped) after a reset, before a part starts


@dataclass(frozen=True)
class Note:
    """One note: ``start`` and ``length`` in seconds (start may be < 0: the note began
    before the clip), ``key`` MIDI note number 0..127, ``velocity`` 1..127."""

    start: float
    length: float
    key: int
    velocity: int


def _tsf() -> Any:
    try:
        import tinysoundfont
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"the SoundFont data needs the Python package tinysoundfont ({INSTALL_HINT}; "
            "or: pip install --no-deps tinysoundfont)"
        ) from exc
    return tinysoundfont


def note_events(
    notes: list[Note], sample_rate: int, preroll: int, total: int
) -> list[tuple[int, int, int, int]]:
    """``(sample, 1 = on / 0 = off, key, velocity)`` events of ``notes`` (sample 0 is
    ``-preroll / sample_rate`` s; events at or after ``total`` are dropped), sorted, offs
    before ons at one sample. A note that starts while the same key still sounds ends the
    earlier one there (a re-strike, as on a keyboard or a drum), so a key never stacks
    voices."""
    timed = sorted(
        (
            (
                preroll + int(round(n.start * sample_rate)),
                max(int(round(n.length * sample_rate)), 1),
                n,
            )
            for n in notes
        ),
        key=lambda t: (t[0], t[2].key, t[1], t[2].velocity),
    )
    events: list[tuple[int, int, int, int]] = []
    sounding: dict[int, int] = {}  # key -> index in events of its pending off
    for on, length, n in timed:
        if on >= total:
            break
        if n.key in sounding and events[sounding[n.key]][0] > on:
            events[sounding[n.key]] = (on, 0, n.key, 0)
        events.append((on, 1, n.key, n.velocity))
        sounding[n.key] = len(events)
        events.append((min(on + length, total), 0, n.key, 0))
    return sorted(events)


def renderer_version() -> str:
    """The installed tinysoundfont's version (a clear error if it is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tinysoundfont")
    except PackageNotFoundError:
        _tsf()  # raises the one-line install hint
        raise


class FontBank:
    """Loaded SoundFonts at one sample rate (each file loaded once, on first use).

    Not shared between processes: a copy sent to a DataLoader worker starts empty."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._synths: dict[str, tuple[Any, int]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "_synths": {}}

    def _synth(self, font: str) -> tuple[Any, int]:
        if font not in self._synths:
            tsf = _tsf()
            synth = tsf.Synth(samplerate=self.sample_rate)
            sfid = synth.sfload(str(font_path(font)))
            self._synths[font] = (synth, sfid)
        return self._synths[font]

    def load(self, font: str) -> None:
        """Load SoundFont ``font`` now (rendering loads fonts on first use anyway)."""
        self._synth(font)

    def render(self, inst: Instrument, notes: list[Note], n_samples: int) -> np.ndarray:
        """``notes`` played by ``inst``: float32 [2, n_samples] (what sounds in
        [0, n_samples / sample_rate) s; notes starting before 0 are rendered from their
        start and cut)."""
        synth, sfid = self._synth(inst.font)
        sr = self.sample_rate
        chan = DRUM_CHANNEL if inst.bank == 128 else MELODIC_CHANNEL
        # a clean start, whatever played before: tsf's reset fades every voice within one
        # render call and clears the channels; rendering FLUSH samples frees the voices, so
        # notes take the same voice slots (hence the same summation order, the same bytes)
        synth.soundfonts[sfid].reset()
        synth.generate_simple(_FLUSH)
        synth.program_select(chan, sfid, inst.bank, inst.preset, is_drums=inst.bank == 128)
        preroll = max([0, *(int(round(-n.start * sr)) for n in notes)])
        total = preroll + n_samples
        events = note_events(notes, sr, preroll, total)
        buf = memoryview(bytearray(total * _BYTES_PER_FRAME))
        pos = 0
        for at, kind, key, vel in events:
            if at > pos:
                synth.generate_simple(
                    at - pos, buffer=buf[pos * _BYTES_PER_FRAME : at * _BYTES_PER_FRAME]
                )
                pos = at
            if kind:
                synth.noteon(chan, key, vel)
            else:
                synth.noteoff(chan, key)
        if total > pos:
            synth.generate_simple(total - pos, buffer=buf[pos * _BYTES_PER_FRAME :])
        out = np.frombuffer(buf, dtype=np.float32).reshape(total, 2)[preroll:]
        return np.ascontiguousarray(out.T)
