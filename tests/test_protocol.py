"The evaluation protocol against the paper's Bicubic column of Table 2 (x4, all four benchmark sets)."
import pytest

from idarts.evaluate import bicubic_method, evaluate_sets
from idarts.paper import PAPER_BICUBIC_X4


def test_bicubic_x4_matches_table2():
    rows, _ = evaluate_sets(bicubic_method(), list(PAPER_BICUBIC_X4), [4], progress=False)
    assert [r['set'] for r in rows] == list(PAPER_BICUBIC_X4)
    for r in rows:
        p, s = PAPER_BICUBIC_X4[r['set']]
        assert r['n_images'] == {'Set5': 5, 'Set14': 14, 'B100': 100, 'Urban100': 100}[r['set']]
        assert abs(r['psnr'] - p) < 0.03 and abs(r['ssim'] - s) < 0.002, r
