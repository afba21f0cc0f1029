"""BlockQueue: the streamed agent's samples held as the fed blocks (no copy on arrival)."""

import numpy as np
import pytest

from plugin_host.block_queue import BlockQueue, Emitted


def fed(total: int, sizes: list[int]) -> tuple[BlockQueue, np.ndarray, list[np.ndarray]]:
    x = np.arange(2 * total, dtype=np.float32).reshape(2, total)
    q, blocks, s = BlockQueue(2, total), [], 0
    for n in sizes:
        blocks.append(x[:, s : s + n].copy())
        q.append(blocks[-1])
        s += n
    return q, x, blocks


def test_reads_across_blocks_and_zeros_outside_the_stream():
    q, x, _ = fed(100, [7, 30, 1, 62])
    assert (q.start, q.end) == (0, 100)
    for s0, n in ((0, 100), (5, 10), (36, 3), (-4, 20), (90, 25), (-3, 106)):
        out = np.full((2, n), np.nan, np.float32)
        q.read_into(out, s0)
        want = np.zeros((2, n), np.float32)
        lo, hi = max(s0, 0), min(s0 + n, 100)
        want[:, lo - s0 : hi - s0] = x[:, lo:hi]
        np.testing.assert_array_equal(out, want)


def test_pieces_are_views_of_the_fed_blocks():
    q, x, blocks = fed(100, [7, 30, 1, 62])
    parts = q.pieces(5, 40)
    assert [p.shape[1] for p in parts] == [2, 30, 1, 2]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), x[:, 5:40])
    assert all(np.shares_memory(p, b) for p, b in zip(parts, blocks, strict=True))
    assert q.pieces(40, 40)[0].shape == (2, 0)


def test_drop_before_forgets_whole_blocks_only():
    q, x, _ = fed(100, [7, 30, 1, 62])
    q.drop_before(20)  # inside the second block: it stays
    assert q.start == 20
    out = np.empty((2, 17), np.float32)
    q.read_into(out, 20)
    np.testing.assert_array_equal(out, x[:, 20:37])
    q.drop_before(38)  # past the third block: the first three are gone
    assert len(q.pieces(38, 100)) == 1
    with pytest.raises(AssertionError, match="not held"):
        q.read_into(np.empty((2, 4), np.float32), 30)


def test_samples_beyond_the_total_are_ignored():
    q = BlockQueue(1, 10)
    q.append(np.ones((1, 8), np.float32))
    q.append(np.full((1, 8), 2.0, np.float32))
    assert q.end == 10
    np.testing.assert_array_equal(np.concatenate(q.pieces(0, 10), axis=1)[0], [1] * 8 + [2] * 2)


def test_an_emitted_span_walks_both_inputs_pieces_without_copying():
    """Input and target fed in blocks of different sizes: ``aligned`` cuts the span where
    either's pieces end, every view shares memory with a fed block, and the views put
    together are the span (the parts put together too)."""
    q_in, x, blocks_in = fed(100, [7, 30, 1, 62])
    q_tg, _, blocks_tg = fed(100, [50, 50])
    out = np.arange(2 * 90, dtype=np.float32).reshape(2, 90)
    e = Emitted(5, out, q_in.pieces(5, 95), q_tg.pieces(5, 95))
    np.testing.assert_array_equal(np.concatenate(e.input_parts, axis=1), x[:, 5:95])
    np.testing.assert_array_equal(np.concatenate(e.target_parts, axis=1), x[:, 5:95])
    walked = list(e.aligned(10, 80))  # span samples 10-80: global 15-85
    assert [o.shape[1] for o, _, _ in walked] == [22, 1, 12, 35]  # cuts at 37, 38, 50
    for views, i in ((1, blocks_in), (2, blocks_tg)):
        assert all(any(np.shares_memory(w[views], b) for b in i) for w in walked)
    for k in range(3):
        joined = np.concatenate([w[k] for w in walked], axis=1)
        np.testing.assert_array_equal(joined, (out[:, 10:80], x[:, 15:85], x[:, 15:85])[k])
