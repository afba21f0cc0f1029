"""Training data from sampled real instruments: drum grooves and chord/bass/arpeggio parts
sequenced in code and rendered from Debian's SoundFonts with ``tinysoundfont``
(:mod:`.fonts`: files and the train/validation split; :mod:`.drums`, :mod:`.harmony`: the
parts; :mod:`.sequencer`: rendering; :mod:`.pairs`: pairs; :mod:`.dataset`: torch datasets
and the disk cache; :mod:`.cli`: ``creative-agent real-pairs``)."""

from training.data.soundfont.dataset import MixedPairs, SoundFontPairs, config_hash
from training.data.soundfont.fonts import MissingSoundFontError, instruments, split_of
from training.data.soundfont.pairs import SoundFontConfig, render_pair_info
from training.data.soundfont.sequencer import FontBank

__all__ = [
    "FontBank",
    "MissingSoundFontError",
    "MixedPairs",
    "SoundFontConfig",
    "SoundFontPairs",
    "config_hash",
    "instruments",
    "render_pair_info",
    "split_of",
]
