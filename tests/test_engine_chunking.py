import numpy as np
import pytest

from lincae.engine.chunking import overlap_add, plan_chunks, split


def test_short_signal_is_one_chunk_of_itself():
    p = plan_chunks(1000, 4000)
    assert (p.n, p.chunk) == (1, 1000)
    assert plan_chunks(1000, None).n == 1


def test_plan_covers_the_signal_with_the_given_overlap():
    p = plan_chunks(10_000, 4000, overlap=0.25)
    assert (p.chunk, p.step, p.overlap) == (4000, 3000, 1000)
    assert p.n == 3 and p.padded_length >= 10_000 > p.padded_length - p.step


def test_split_then_overlap_add_is_the_identity():
    x = np.random.default_rng(0).standard_normal((2, 10_001)).astype(np.float32)
    p = plan_chunks(10_001, 4000)
    chunks = split(x, p)
    assert chunks.shape == (2, p.n, 4000)
    np.testing.assert_array_equal(chunks[0, 1], x[0, 3000:7000])
    np.testing.assert_allclose(overlap_add(chunks, p), x, atol=1e-6)


def test_crossfade_is_linear_across_the_overlap():
    p = plan_chunks(7000, 4000, overlap=0.25)  # chunks at 0 and 3000, overlap 1000
    chunks = np.stack([np.zeros(4000), np.ones(4000)])[None].astype(np.float32)
    y = overlap_add(chunks, p)[0]
    assert y[2999] == 0 and y[4000:].min() == 1
    np.testing.assert_allclose(y[3000:4000], np.linspace(0, 1, 1000), atol=1e-6)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        overlap_add(np.zeros((3, 100)), plan_chunks(1000, 400))
