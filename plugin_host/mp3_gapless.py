"""MP3 gapless playback: the exact audio span of an MP3 from its Xing/Info + LAME header.

An MP3 encoder adds ``delay`` samples before the audio and pads the end to whole
1152-sample frames; LAME records both in the header (12 bits each). A decoder adds its own
``DECODER_DELAY`` (529 samples). pedalboard's reader ignores the header, so the host reads
an MP3 from ``delay + DECODER_DELAY`` for ``frames·1152 − delay − padding`` samples, as a
gapless decoder (most DAWs) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLES_PER_FRAME = 1152  # MPEG-1 Layer III (32-48 kHz)
DECODER_DELAY = 529  # samples a standard MP3 decoder adds (the "529 delay" of mpg123/LAME)
_HEAD = 8192  # bytes searched for the header (it is in the first frame, after any ID3v2 tag)


@dataclass(frozen=True)
class GaplessSpan:
    """The audio inside a decoded MP3: ``start`` samples to skip, then ``length`` samples."""

    start: int
    length: int


def gapless_span(path: Path, decoded_frames: int) -> GaplessSpan | None:
    """The span from ``path``'s LAME header, or None when it has none or it does not fit
    ``decoded_frames`` (the samples pedalboard decodes: the header's frame count x 1152)."""
    with open(path, "rb") as f:
        head = f.read(_HEAD)
    if head[:3] == b"ID3":  # ID3v2 tag: 10-byte header, synchsafe size
        size = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        with open(path, "rb") as f:
            f.seek(size)
            head = f.read(_HEAD)
    for tag in (b"Info", b"Xing"):
        at = head.find(tag, 0, 64)
        if at >= 0:
            break
    else:
        return None
    flags = int.from_bytes(head[at + 4 : at + 8], "big")
    if not flags & 1:
        return None
    frames = int.from_bytes(head[at + 8 : at + 12], "big")
    lame = head.find(b"LAME", at, at + 160)
    if lame < 0 or lame + 24 > len(head):
        return None
    b = head[lame + 21 : lame + 24]
    delay, padding = (b[0] << 4) | (b[1] >> 4), ((b[1] & 0x0F) << 8) | b[2]
    length = frames * SAMPLES_PER_FRAME - delay - padding
    start = delay + DECODER_DELAY
    if decoded_frames != frames * SAMPLES_PER_FRAME or not 0 < length <= decoded_frames - start:
        return None
    return GaplessSpan(start, length)
