"""The measures of a mix of INPUT (rhythm) and TARGET (harmony): numpy only, no torch.

One home for every definition used by the host's report, training's validation, the
experiment, the evaluate command and the benchmarks (torch twins for losses live in
``training/torch_measures.py``, tied to these by tests). One concern per module:

- ``constants``: the seed's thresholds, the onset gain, the chroma band, the floors;
- ``verdict``: the seed's verdict and success criteria;
- ``correlation``: Pearson correlation; ``least_squares``: out ≈ a·x_in + b·x_tg + e;
- ``waveform``: running moments of (output, input, target) for both;
- ``onset``: band onset envelope (rhythm); ``chroma``: chroma and its cosine (harmony);
- ``masks``: the seed's mask statistics and the masked energy share;
- ``clip``: all of them as one accumulator (the streamed report) and ``measure_clip``.

Accumulators follow one pattern: ``update(...)`` per chunk, ``compute()`` at the end; the
whole-array functions feed the same accumulator one chunk. Undefined values are ``None``.
"""

from plugin_host.measures.chroma import ChromaCosine, ChromaFold, chroma, chroma_cos, chroma_notes
from plugin_host.measures.clip import MEASURES, ClipAccumulator, ClipMeasures, measure_clip
from plugin_host.measures.constants import (
    CHROMA_FMAX_HZ,
    CHROMA_FMIN_HZ,
    COPY_RATIO,
    NOISE_BELOW,
    ONSET_GAIN,
    SUCCESS_INPUT_CORR,
    VERDICTS,
)
from plugin_host.measures.correlation import pearson, pearson_from_comoments
from plugin_host.measures.least_squares import (
    LeastSquares,
    least_squares_from_gram,
    ls_decomposition,
)
from plugin_host.measures.masks import MaskStatistics, MaskStats, mask_stats
from plugin_host.measures.onset import BandOnsetEnvelope, band_onset_corr, band_onset_envelope
from plugin_host.measures.verdict import meets_seed_criteria, verdict
from plugin_host.measures.waveform import WaveformMoments

__all__ = [
    "CHROMA_FMAX_HZ",
    "CHROMA_FMIN_HZ",
    "COPY_RATIO",
    "MEASURES",
    "NOISE_BELOW",
    "ONSET_GAIN",
    "SUCCESS_INPUT_CORR",
    "VERDICTS",
    "BandOnsetEnvelope",
    "ChromaCosine",
    "ChromaFold",
    "ClipAccumulator",
    "ClipMeasures",
    "LeastSquares",
    "MaskStatistics",
    "MaskStats",
    "WaveformMoments",
    "band_onset_corr",
    "band_onset_envelope",
    "chroma",
    "chroma_cos",
    "chroma_notes",
    "least_squares_from_gram",
    "ls_decomposition",
    "mask_stats",
    "measure_clip",
    "meets_seed_criteria",
    "pearson",
    "pearson_from_comoments",
    "verdict",
]
