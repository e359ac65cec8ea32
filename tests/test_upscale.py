"`idarts upscale` on a 2000x1500 photo: tiled inference keeps memory bounded, and the output is right."
import os, resource, subprocess, sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from idarts.core import save_checkpoint
from idarts.sr_net import build_model, model_spec

RUN = r'''
import resource, sys
from idarts.evaluate import upscale_files
upscale_files([sys.argv[1]], sys.argv[2], sys.argv[3], tile=int(sys.argv[4]) or None, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # peak MiB
'''


def _peak_mib(img, model, out, tile):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, '-c', RUN, str(img), str(model), str(out), str(tile)], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    return int(r.stdout.strip().splitlines()[-1])


def test_upscale_2000x1500_bounded_memory(tmp_path):
    torch.manual_seed(0)
    spec = model_spec('edsr', cells=2, channels=32, scale=2)  # a small EDSR: 2 blocks, 32 features, x2
    net = build_model(spec)
    save_checkpoint(dict(model=net.state_dict(), spec=spec), tmp_path/'model.pt', keep_prev=False)
    rng = np.random.default_rng(0)
    img = (rng.random((1500, 2000, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path/'photo.png')
    tiled = _peak_mib(tmp_path/'photo.png', tmp_path/'model.pt', tmp_path/'tiled', 200)
    whole = _peak_mib(tmp_path/'photo.png', tmp_path/'model.pt', tmp_path/'whole', 0)
    a = np.asarray(Image.open(tmp_path/'tiled'/'photo_x2.png')); b = np.asarray(Image.open(tmp_path/'whole'/'photo_x2.png'))
    assert a.shape == (3000, 4000, 3) and b.shape == a.shape
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # tiles with overlap give the whole-image result
    print(f'peak memory: tiled {tiled} MiB, whole image {whole} MiB')
    assert tiled < 1500 and tiled < 0.5 * whole, (tiled, whole)
