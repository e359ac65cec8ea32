"""The Python API and the named cells and models that ship with idarts: `import idarts` stays light, the names resolve
everywhere a genotype or model is accepted, and each shipped model scores the Set5 x4 PSNR that the cpu reproduction
recorded in tables/cpu/results (Y channel, `scale` pixels shaved: the protocol of idarts.evaluate)."""
import csv, json, os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'OMP_NUM_THREADS': '1'}


def recorded_psnr(space: str, seed: int = 0, set_name: str = 'Set5') -> float:
    "The PSNR the cpu reproduction recorded for `<space>-s<seed>` (tables/cpu/results, written by `make reproduce`)."
    with open(ROOT/'tables'/'cpu'/'results'/f'{space}-s{seed}.csv', newline='') as f:
        rows = [r for r in csv.DictReader(f) if r['set'] == set_name and int(r['scale']) == 4]
    assert len(rows) == 1, rows
    return float(rows[0]['psnr'])


@pytest.mark.parametrize('space', ['improved', 'original'])
def test_named_model_scores_the_recorded_set5_psnr(space, data_dir):
    import idarts
    from idarts.data import imresize, list_images, load_image, modcrop
    from idarts.metrics import evaluate_pair
    model = idarts.load(f'{space}-cpu', device='cpu')            # seed 0 by default
    assert model.idarts_meta['name'] == f'{space}-cpu-s0' and not model.training
    psnrs = []
    for p in list_images('Set5', strict=True):
        hr = modcrop(load_image(p), 4)
        sr = idarts.upscale(imresize(hr, 1 / 4), model)
        assert sr.shape == hr.shape and sr.dtype == np.uint8
        psnrs.append(evaluate_pair(sr, hr, 4)[0])
    want = recorded_psnr(space)
    assert abs(float(np.mean(psnrs)) - want) <= 0.02, (space, float(np.mean(psnrs)), want)


def test_every_shipped_model_is_the_recorded_run():
    "Each model's .json names its run, its cell, and the Set5 PSNR that tables/cpu recorded for that run."
    import idarts
    from idarts.api import ZOO, model_names
    names = model_names()
    assert {f'{sp}-cpu-s{k}' for sp in ('improved', 'original') for k in range(3)} <= set(names), names
    for n in names:
        meta = json.loads((ZOO/'models'/f'{n}.json').read_text())
        space, seed = n.split('-cpu-s')
        assert meta['source'] == f'runs/cpu/train/{space}-s{seed}'
        assert meta['spec']['genotype'] == idarts.genotype(n).to_dict()
        assert meta['set5_x4_psnr'] == pytest.approx(recorded_psnr(space, int(seed)), abs=1e-9)
        assert (ZOO/'models'/f'{n}.safetensors').stat().st_size < 1_000_000


def test_import_idarts_is_light_and_lazy():
    code = ("import sys, idarts; assert 'torch' not in sys.modules; import idarts.genotype as G; "
            "assert idarts.genotype is G; print(idarts.genotype('improved-cpu').space, type(idarts.load('original-cpu-s1', 'cpu')).__name__)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=ENV, cwd='/')
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['improved', 'SRNetwork']


def test_named_cells_on_the_command_line(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'idarts', 'genotypes'], capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ['name', 'space', 'skips', 'model']
    import idarts
    from idarts.genotype import skip_count
    for line in lines[1:]:
        name, space, skips = line.split()[:3]
        assert int(skips) == skip_count(idarts.genotype(name)) and space == idarts.genotype(name).space
    # a named cell wherever a genotype path is taken: info builds the same network as the shipped model's
    r = subprocess.run([sys.executable, '-m', 'idarts', 'info', '--genotype', 'improved-cpu-s1', '--cells', '4', '--channels', '16'],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    params = sum(p.numel() for p in idarts.load('improved-cpu-s1', 'cpu').parameters())
    assert f'{params / 1e6:.2f}M parameters' in r.stdout, (params, r.stdout)
    r = subprocess.run([sys.executable, '-m', 'idarts', 'train', '--genotype', 'improved-gpu-s7', '--profile', 'smoke',
                        '--out', str(tmp_path/'r')], capture_output=True, text=True, env=ENV)
    assert r.returncode == 2 and 'named cells: ' in r.stderr and 'Traceback' not in r.stderr, r.stderr
