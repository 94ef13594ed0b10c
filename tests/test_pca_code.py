"""The linear yardstick of the model cards: a PCA code of MDCT frames."""
from __future__ import annotations

import numpy as np
import pytest

from lincae import metrics
from lincae.models.pca_code import MdctPcaCode


def test_all_components_reconstruct_any_signal():
    x = np.random.default_rng(0).standard_normal(20000) * 0.1
    code = MdctPcaCode(256).fit([x])
    assert metrics.snr(x, code.decode(code.encode(x), len(x))) > 90


def test_a_few_components_keep_what_the_fitted_frames_hold_and_drop_the_rest():
    t = np.arange(44100) / 44100
    low = 0.5 * np.sin(2 * np.pi * 220 * t)
    code = MdctPcaCode(8).fit([low])
    assert code.encode(low).shape == (-(-len(low) // 256) + 1, 8)
    assert metrics.snr(low, code.decode(code.encode(low), len(low))) > 40
    high = 0.5 * np.sin(2 * np.pi * 9000 * t)
    assert metrics.snr(high, code.decode(code.encode(high), len(high))) < 1  # not in the fitted span


def test_the_code_is_linear():
    rng = np.random.default_rng(1)
    code = MdctPcaCode(32).fit([rng.standard_normal(30000)])
    a, b = rng.standard_normal(5000), rng.standard_normal(5000)
    np.testing.assert_allclose(code.decode(code.encode(a) + 2 * code.encode(b), 5000),
                               code.decode(code.encode(a + 2 * b), 5000), atol=1e-5)


def test_bad_sizes_and_unfitted_use_are_refused():
    with pytest.raises(ValueError, match="between 1 and 256"):
        MdctPcaCode(300)
    with pytest.raises(RuntimeError, match="fit"):
        MdctPcaCode(4).encode(np.zeros(1000))
