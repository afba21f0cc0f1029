"""Settings of the built-in generator (:class:`SynthConfig`) and the training / held-out
validation split of them (:func:`train_config`, :func:`validation_config`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from training.data.synth_tables import KITS, MODES, STYLES, TIMBRES

PEAK_CEILING = 0.99  # largest |sample| a generated clip may have


@dataclass(frozen=True)
class SynthConfig:
    """Settings of the generator. The defaults span everything it can make (all kits and
    timbres, 70–180 BPM); :func:`train_config` / :func:`validation_config` split them.

    sample_rate: Hz. channels: 1 (a mono downmix) or 2. seconds: clip length, s.
    bpm_range: tempo range, BPM (drums and harmony draw their tempi independently).
    kits: drum-kit families (keys of :data:`KITS`). timbres: harmonic timbre families
    (keys of :data:`TIMBRES`). gain_db_range: per-clip RMS level, dBFS (a clip whose peak
    would exceed :data:`PEAK_CEILING` at that level is turned down, so loud draws of
    peaky clips land below their level).
    styles: drum grooves (keys of :data:`STYLES`). swing_max: largest delay of the off 16ths,
    as a fraction of a 16th; swing_prob: probability that a clip swings. humanize_ms: upper
    bound of the per-clip timing jitter std, ms; velocity_jitter: relative velocity std.
    fill_prob: probability of a fill at the end of each 2-bar phrase. modes: "major",
    "minor". bass_prob, arp_prob: probability of a bass line / an arpeggio layer.
    reverb_mix_range: room level, RMS of the wet signal relative to the dry one;
    reverb_seconds_range: room RT60, s. width_range: side-signal gain (1 = as rendered).
    """

    sample_rate: int = 44100
    channels: int = 2
    seconds: float = 4.0
    bpm_range: tuple[float, float] = (70.0, 180.0)
    kits: tuple[str, ...] = tuple(KITS)
    timbres: tuple[str, ...] = tuple(TIMBRES)
    gain_db_range: tuple[float, float] = (-20.0, -6.0)
    styles: tuple[str, ...] = tuple(STYLES)
    swing_max: float = 0.3
    swing_prob: float = 0.5
    humanize_ms: float = 8.0
    velocity_jitter: float = 0.12
    fill_prob: float = 0.35
    modes: tuple[str, ...] = tuple(MODES)
    bass_prob: float = 0.8
    arp_prob: float = 0.5
    reverb_mix_range: tuple[float, float] = (0.05, 0.3)
    reverb_seconds_range: tuple[float, float] = (0.2, 0.8)
    width_range: tuple[float, float] = (0.6, 1.3)

    def __post_init__(self) -> None:
        if self.sample_rate < 8000:
            raise ValueError(f"SynthConfig.sample_rate must be >= 8000 Hz, got {self.sample_rate}")
        if self.channels not in (1, 2):
            raise ValueError(f"SynthConfig.channels must be 1 or 2, got {self.channels}")
        if not self.seconds > 0 or round(self.seconds * self.sample_rate) < 1:
            raise ValueError(
                f"SynthConfig.seconds must give at least one sample, got {self.seconds}"
            )
        for name in (
            "bpm_range",
            "gain_db_range",
            "reverb_mix_range",
            "reverb_seconds_range",
            "width_range",
        ):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ValueError(f"SynthConfig.{name} must be (low, high), got {(lo, hi)}")
        if self.bpm_range[0] <= 0 or self.reverb_seconds_range[0] <= 0:
            raise ValueError("SynthConfig.bpm_range and reverb_seconds_range must be > 0")
        if self.gain_db_range[1] > 0:
            raise ValueError(
                f"SynthConfig.gain_db_range must be <= 0 dBFS, got {self.gain_db_range}"
            )
        for name, known in (
            ("kits", KITS),
            ("timbres", TIMBRES),
            ("styles", STYLES),
            ("modes", MODES),
        ):
            values = getattr(self, name)
            bad = [v for v in values if v not in known]
            if not values or bad:
                raise ValueError(
                    f"SynthConfig.{name} must be a non-empty subset of {sorted(known)}, got {values}"
                )
        if not any("chords" in TIMBRES[t] for t in self.timbres):
            raise ValueError(f"SynthConfig.timbres needs a chord timbre, got {self.timbres}")

    @property
    def n_samples(self) -> int:
        """Samples per channel, ``round(seconds * sample_rate)``."""
        return int(round(self.seconds * self.sample_rate))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


TRAIN_KITS = ("acoustic", "electro_808", "tight_909", "lofi")
TRAIN_TIMBRES = ("pad", "organ", "pluck", "fm_bell", "bass")
TRAIN_BPM = (70.0, 150.0)
VALID_KITS = ("industrial", "hand_perc")
VALID_TIMBRES = ("epiano", "strings", "marimba", "square_bass")
VALID_BPM = (155.0, 180.0)


def train_config(**overrides: Any) -> SynthConfig:
    """The training distribution: kits acoustic/electro_808/tight_909/lofi, timbres
    pad/organ/pluck/fm_bell/bass, 70–150 BPM (``overrides`` replace any field)."""
    base: dict[str, Any] = dict(kits=TRAIN_KITS, timbres=TRAIN_TIMBRES, bpm_range=TRAIN_BPM)
    return SynthConfig(**{**base, **overrides})


def validation_config(**overrides: Any) -> SynthConfig:
    """Held-out settings: kits industrial/hand_perc, timbres epiano/strings/marimba/
    square_bass and 155–180 BPM, none of which :func:`train_config` uses."""
    base: dict[str, Any] = dict(kits=VALID_KITS, timbres=VALID_TIMBRES, bpm_range=VALID_BPM)
    return SynthConfig(**{**base, **overrides})
