"""Every constant of the measures, defined once (numpy and torch code import them here).

The seed's alert rules (on |Pearson correlation| of the output's waveform with a source):
``NOISE_BELOW``, ``COPY_RATIO``, and its success test ``SUCCESS_INPUT_CORR``. The spectral
measures: the gain inside the onset envelope's log and the chroma's band in Hz.
"""

from __future__ import annotations

# --- the seed's verdict and success criteria
NOISE_BELOW = 0.2  # both |corr| below this: "noise"
COPY_RATIO = 2.0  # one |corr| more than this times the other: "copying_<source>"
SUCCESS_INPUT_CORR = 0.4  # the seed's success: input corr above this, and "mixing"
VERDICTS = ("noise", "copying_target", "copying_input", "mixing")

# --- Pearson correlation: undefined (None) when sqrt(Σx̃² · Σỹ²) <= this × n samples
PEARSON_FLOOR = 1e-20

# --- band onset envelope: flux of log(1 + ONSET_GAIN · sqrt(band power))
ONSET_GAIN = 100.0

# --- chroma: STFT bins in [CHROMA_FMIN_HZ, CHROMA_FMAX_HZ] folded to 12 pitch classes
# (rounded to the nearest semitone of A4 = CHROMA_A4_HZ, C = 0)
CHROMA_FMIN_HZ = 55.0
CHROMA_FMAX_HZ = 5000.0
CHROMA_A4_HZ = 440.0
# a chroma frame counts when its norm is above this fraction of the clip's largest norm
CHROMA_FLOOR = 1e-9

# --- least squares: no unique split when det(Gram of input, target) <= this × Σx² · Σy²
LS_SINGULAR = 1e-12
