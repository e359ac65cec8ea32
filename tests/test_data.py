"Bad inputs to idarts.data: every one is an IdartsError whose one-line message names the file."
import os, struct, zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idarts.core import IdartsError
from idarts.data import (PatchDataset, data_list_rows, data_root, dataset_dir, imresize, list_images, load_image,
                         make_lr, save_image, split_images)



def _err(f, *names):
    with pytest.raises(IdartsError) as e: f()
    msg = str(e.value)
    assert '\n' not in msg, msg
    for n in names: assert str(n) in msg, msg
    return msg


def _rgb(h=40, w=50, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3)).astype(np.uint8)


def _png16_rgb(path, h=8, w=8):
    "A 16-bit-per-channel RGB PNG (Pillow cannot write one; it would read it as 8-bit RGB, keeping the high byte)."
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    raw = b''.join(b'\x00' + np.full((w, 3), 40000, '>u2').tobytes() for _ in range(h))
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0))
                     + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def test_truncated_png(tmp_path):
    p = tmp_path / 'cut.png'; Image.fromarray(_rgb(200, 200)).save(tmp_path / 'full.png')
    b = (tmp_path / 'full.png').read_bytes(); p.write_bytes(b[:len(b) // 2])
    assert 're-download' in _err(lambda: load_image(p), p)


def test_truncated_jpeg(tmp_path):
    p = tmp_path / 'cut.jpg'; Image.fromarray(_rgb(200, 200)).save(tmp_path / 'full.jpg', quality=95)
    b = (tmp_path / 'full.jpg').read_bytes(); p.write_bytes(b[:len(b) // 2])
    _err(lambda: load_image(p), p, 'cannot decode')


def test_garbage_png(tmp_path):
    p = tmp_path / 'garbage.png'; p.write_bytes(os.urandom(500))
    _err(lambda: load_image(p), p, 'cannot decode')


def test_empty_file(tmp_path):
    p = tmp_path / 'empty.png'; p.write_bytes(b'')
    _err(lambda: load_image(p), p)


def test_missing_file(tmp_path):
    _err(lambda: load_image(tmp_path / 'nope.png'), 'nope.png', 'not found')


def test_rgba_transparent_refused_opaque_accepted(tmp_path):
    rgb = _rgb(); a = np.full(rgb.shape[:2], 255, np.uint8)
    Image.fromarray(np.dstack([rgb, a])).save(tmp_path / 'opaque.png')
    assert np.array_equal(load_image(tmp_path / 'opaque.png'), rgb)
    a[5:9, 5:9] = 128; p = tmp_path / 'alpha.png'; Image.fromarray(np.dstack([rgb, a])).save(p)
    _err(lambda: load_image(p), p, 'transparent', '16 with alpha')
    Image.fromarray(np.dstack([rgb[..., 0], a]), 'LA').save(tmp_path / 'la.png')
    _err(lambda: load_image(tmp_path / 'la.png'), 'la.png', 'transparent')


def test_16bit_png(tmp_path):
    p = tmp_path / 'deep.png'; Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 9).astype(np.uint16)).save(p)
    _err(lambda: load_image(p), p, '16-bit', '8 bits')
    q = tmp_path / 'deep_rgb.png'; _png16_rgb(q)
    assert Image.open(q).mode == 'RGB'  # what Pillow claims; we must still refuse
    _err(lambda: load_image(q), q, '16-bit')


def test_modes_kept(tmp_path):
    g = _rgb()[..., 0]
    Image.fromarray(g).save(tmp_path / 'g.png'); assert load_image(tmp_path / 'g.png').shape == g.shape
    Image.fromarray(g).convert('P').save(tmp_path / 'p.png'); assert load_image(tmp_path / 'p.png').shape == g.shape + (3,)
    out = save_image(g, tmp_path / 'o.png'); assert Image.open(out).mode == 'L'
    assert not list(tmp_path.glob('.*.tmp'))  # atomic write leaves no temp file


def test_image_smaller_than_patch(tmp_path):
    Image.fromarray(_rgb(100, 100)).save(tmp_path / 'big.png')
    Image.fromarray(_rgb(30, 90, 1)).save(tmp_path / 'small.png')
    m = _err(lambda: PatchDataset([tmp_path], scale=4, patch_lr=12), tmp_path / 'small.png', '48x48')
    assert 'big.png' not in m
    assert len(PatchDataset([tmp_path / 'big.png'], scale=4, patch_lr=12)) == 1


def test_patch_bad_file_and_empty_folder(tmp_path):
    (tmp_path / 'x.png').write_bytes(b'junk')
    _err(lambda: PatchDataset([tmp_path / 'x.png'], 2, 8), 'x.png')
    (tmp_path / 'empty').mkdir()
    _err(lambda: PatchDataset([tmp_path / 'empty'], 2, 8), 'empty', 'no images')
    _err(lambda: PatchDataset([tmp_path / 'gone.png'], 2, 8), 'gone.png', 'not found')


def test_missing_dataset(tmp_path):
    _err(lambda: list_images('Set14', tmp_path), tmp_path / 'benchmark/Set14/HR', 'idarts data download Set14')
    _err(lambda: list_images('DIV2K', tmp_path), tmp_path / 'DIV2K/DIV2K_train_HR', 'data.vision.ee.ethz.ch/cvl/DIV2K')
    assert dataset_dir('DIV2K', tmp_path) == tmp_path / 'DIV2K/DIV2K_train_HR'  # resolving does not check
    _err(lambda: dataset_dir('DIV2K', tmp_path, must_exist=True), 'DIV2K_train_HR')


def test_unknown_dataset(tmp_path):
    _err(lambda: list_images('Set6', tmp_path), 'Set6', 'Set5', 'Urban100', 'DIV2K')


def test_wrong_layout(tmp_path):
    (tmp_path / 'benchmark/Set5').mkdir(parents=True)
    for n in ['baby', 'bird']: Image.fromarray(_rgb()).save(tmp_path / f'benchmark/Set5/{n}.png')
    _err(lambda: list_images('Set5', tmp_path), 'wrong layout', 'found 2 images', tmp_path / 'benchmark/Set5', 'benchmark/Set5/HR')
    (tmp_path / 'DIV2K/DIV2K_train_HR/DIV2K_train_HR').mkdir(parents=True)
    Image.fromarray(_rgb()).save(tmp_path / 'DIV2K/DIV2K_train_HR/DIV2K_train_HR/0001.png')
    _err(lambda: list_images('DIV2K', tmp_path), 'DIV2K_train_HR/DIV2K_train_HR', 'move them up')
    rows = {r['name']: r for r in data_list_rows(tmp_path)}
    assert rows['Set5']['status'] == 'missing' and 'wrong layout' in rows['Set5']['hint']
    assert rows['DIV2K']['status'] == 'incomplete' and 'move them up' in rows['DIV2K']['hint']


def test_incomplete_dataset(tmp_path):
    d = tmp_path / 'benchmark/Set5/HR'; d.mkdir(parents=True)
    Image.fromarray(_rgb()).save(d / 'baby.png')
    with pytest.warns(UserWarning, match='expected 5'): assert len(list_images('Set5', tmp_path)) == 1
    _err(lambda: list_images('Set5', tmp_path, strict=True), d, 'expected 5')
    assert {r['name']: r for r in data_list_rows(tmp_path)}['Set5']['status'] == 'incomplete'


def test_data_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv('IDARTS_DATA', str(tmp_path)); assert data_root() == tmp_path
    monkeypatch.delenv('IDARTS_DATA')
    repo = Path(__file__).resolve().parents[1]
    assert data_root() == repo / 'data'                     # the checkout's data/, whatever the working directory
    monkeypatch.chdir(repo / 'nbs'); assert data_root() == repo / 'data'   # JupyterLab runs notebooks in nbs/
    monkeypatch.setenv('IDARTS_DATA', 'rel'); assert data_root() == repo / 'nbs' / 'rel'   # always absolute
    _err(lambda: list_images('Set5', tmp_path / 'empty', fetch=False), f'not found at {tmp_path}/empty/benchmark/Set5/HR')


def test_split_too_few(tmp_path):
    Image.fromarray(_rgb()).save(tmp_path / 'a.png')
    _err(lambda: split_images([tmp_path / 'a.png'], 0), 'at least 2')


def test_set5_lr_bit_exact(data_dir):
    "The crux, also here so that `pytest` alone guards it."
    for s in (2, 3, 4):
        for p in sorted((data_dir / 'benchmark/Set5/HR').glob('*.png')):
            _, lr = make_lr(load_image(p), s)
            assert np.array_equal(lr, load_image(data_dir / f'benchmark/Set5/LR_bicubic/X{s}/{p.stem}x{s}.png')), (p.name, s)


def test_skip_small(tmp_path):
    Image.fromarray(_rgb(100, 100)).save(tmp_path / 'big.png')
    Image.fromarray(_rgb(30, 90, 1)).save(tmp_path / 'small.png')
    with pytest.warns(UserWarning, match='skipped 1 of 2'):
        ds = PatchDataset([tmp_path], scale=4, patch_lr=12, skip_small=True)
    assert [p.name for p in ds.paths] == ['big.png']
    with pytest.warns(UserWarning):
        _err(lambda: PatchDataset([tmp_path / 'small.png'], scale=4, patch_lr=12, skip_small=True), 'small.png', 'all 1 images')


def test_workers_reproducible_and_distinct(tmp_path):
    "With DataLoader workers, torch seeds each worker's numpy generator: same seed -> same batches, workers differ."
    import torch
    from idarts.core import set_seed
    Image.fromarray(_rgb(120, 120)).save(tmp_path / 'a.png')
    ds = PatchDataset([tmp_path / 'a.png'], scale=2, patch_lr=8, length=8)
    def run(seed):
        set_seed(seed)
        return [b[1] for b in torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2)]
    r1, r2 = run(3), run(3)
    assert all(torch.equal(a, b) for a, b in zip(r1, r2))
    assert not torch.equal(r1[0], r1[1])  # batches 0 and 1 come from different workers


def test_resolve_images_names_and_folders(tmp_path):
    from idarts.data import resolve_images
    assert len(resolve_images('set5')) == 5  # registered names, any case
    for n in ('b.png', 'a.png', '.hidden.png', 'notes.txt'): (tmp_path/n).write_bytes(b'x')
    assert [p.name for p in resolve_images(tmp_path)] == ['a.png', 'b.png']
    with pytest.raises(IdartsError, match='not a folder of images'): resolve_images('Set6')
    (tmp_path/'empty').mkdir()
    with pytest.raises(IdartsError, match='folder has no images'): resolve_images(tmp_path/'empty')
