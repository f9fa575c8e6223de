"""Bjøntegaard delta rate (VCEG-M33): average bitrate difference at equal quality."""
from __future__ import annotations

import numpy as np


def bd_rate(rate_test, quality_test, rate_ref, quality_ref) -> float | None:
    """Percent bitrate change of `test` against `ref` over their common quality range (negative = fewer bits).

    Cubic fits of log-rate as a function of quality, integrated over the
    overlap. None where the curves do not overlap or have under 4 points.
    """
    rt, qt, rr, qr = (np.asarray(v, dtype=np.float64) for v in (rate_test, quality_test, rate_ref, quality_ref))
    if min(len(rt), len(rr)) < 4:
        return None
    low, high = max(qt.min(), qr.min()), min(qt.max(), qr.max())
    if not high > low:
        return None
    fit_t = np.polyint(np.polyfit(qt, np.log(rt), 3))
    fit_r = np.polyint(np.polyfit(qr, np.log(rr), 3))
    area_t = np.polyval(fit_t, high) - np.polyval(fit_t, low)
    area_r = np.polyval(fit_r, high) - np.polyval(fit_r, low)
    return float((np.exp((area_t - area_r) / (high - low)) - 1) * 100)
