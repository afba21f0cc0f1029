"""The seed's verdict on an output's two waveform correlations, and its success criteria."""

from __future__ import annotations

import math

from plugin_host.measures.constants import COPY_RATIO, NOISE_BELOW, SUCCESS_INPUT_CORR


def verdict(output_input_corr: float | None, output_target_corr: float | None) -> str | None:
    """The seed's rules, in order, on absolute correlations (a polarity-inverted source is
    still present in the output, so -0.9 counts like 0.9):

    1. ``noise`` if both |corr| < 0.2 (``NOISE_BELOW``);
    2. ``copying_target`` if |target corr| > 2 × |input corr| (``COPY_RATIO``);
    3. ``copying_input`` if |input corr| > 2 × |target corr|;
    4. otherwise ``mixing``.

    ``None`` when either correlation is undefined (``None``, NaN or infinite; torch code
    passes ``float(tensor)``, where an undefined correlation is NaN).
    """
    if output_input_corr is None or output_target_corr is None:
        return None
    ri, rt = abs(float(output_input_corr)), abs(float(output_target_corr))
    if not (math.isfinite(ri) and math.isfinite(rt)):
        return None
    if ri < NOISE_BELOW and rt < NOISE_BELOW:
        return "noise"
    if rt > COPY_RATIO * ri:
        return "copying_target"
    if ri > COPY_RATIO * rt:
        return "copying_input"
    return "mixing"


def meets_seed_criteria(output_input_corr: float | None, output_target_corr: float | None) -> bool:
    """The seed's success criteria: input corr (signed) > 0.4 (``SUCCESS_INPUT_CORR``) and
    the verdict is ``mixing`` (neither |corr| more than 2× the other)."""
    if output_input_corr is None or output_target_corr is None:
        return False
    return (
        output_input_corr > SUCCESS_INPUT_CORR
        and verdict(output_input_corr, output_target_corr) == "mixing"
    )
