"The fast uint8 imresize and the fast evaluate_sets give exactly the values of the reference code (issue 14)."
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from idarts.data import _imresize_numpy, _resize_plan, imresize, list_images, load_image, modcrop
from idarts.evaluate import Method, bicubic_method, evaluate_sets
from idarts.metrics import evaluate_pair


def ref(img, scale=None, output_shape=None, antialias=True):
    "The numpy tap-by-tap passes (the implementation before the fast path)."
    return _imresize_numpy(img, _resize_plan(img.shape[:2], scale, output_shape), antialias, True)


@pytest.mark.parametrize('seed', range(6))
def test_imresize_random_images_bit_identical(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 90, 2)
    img = rng.integers(0, 256, (h, w, 3) if seed % 2 else (h, w), dtype=np.uint8)
    if seed >= 4:   # ramps: interpolated values land exactly on .5 ties, where rounding differences would show
        img = ((np.add.outer(np.arange(h), 3 * np.arange(w)) * (seed - 2)) % 256).astype(np.uint8)
        if seed == 5: img = np.stack([img, 255 - img, img // 2], -1)
    for kw in [dict(scale=s) for s in (2, 3, 4, 1 / 2, 1 / 3, 1 / 4, 1.5, 0.6, 5)] + \
              [dict(scale=(1 / 3, 2)), dict(scale=(2, 1 / 4)), dict(output_shape=(max(1, h // 2 + 1), w * 2)),
               dict(scale=1 / 2, antialias=False)]:
        a, b = imresize(img, **kw), ref(img, **kw)
        assert a.dtype == np.uint8 and np.array_equal(a, b), (img.shape, kw, int((a != b).sum()))


def test_float_images_keep_numpy_path():
    x = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    np.testing.assert_array_equal(imresize(x, 1 / 2), _imresize_numpy(x, _resize_plan((20, 30), 1 / 2), True, False).astype(np.float32))


def test_evaluate_sets_equals_pairwise_reference_and_threads_agree(data_dir):
    "Rows and per-image values equal the reference pipeline (numpy resize + evaluate_pair per image and scale), 1 or 2 threads."
    nt = torch.get_num_threads()
    rows1, per1 = evaluate_sets(bicubic_method(), ['Set5'], [2, 3, 4], per_image=True, progress=False, threads=1)
    rows2, per2 = evaluate_sets(bicubic_method(), ['Set5'], [2, 3, 4], per_image=True, progress=False, threads=2)
    assert (rows1, per1) == (rows2, per2) and torch.get_num_threads() == nt
    paths = {p.stem: p for p in list_images('Set5')}
    for q in per1:
        s = q['scale']; hr = modcrop(load_image(paths[q['image']]), s)
        assert (q['psnr'], q['ssim']) == evaluate_pair(ref(ref(hr, 1 / s), s), hr, s)


def test_errors_propagate_from_threads(data_dir):
    m = Method('bad', lambda lr, s: lr, (4,)); m.thread_safe = True
    nt = torch.get_num_threads()
    with pytest.raises(Exception, match='must upscale exactly x4'):
        evaluate_sets(m, ['Set5'], [4], progress=False, threads=2)
    assert torch.get_num_threads() == nt
