"""Peak memory and time of `idarts upscale --tile` against image size (issue 10).

    python benchmarks/upscale_memory.py --mp 1 4 16            # input megapixels (4:3 images), x4, tile 256
    python benchmarks/upscale_memory.py --wh 6000x4000          # the 6000x4000 photo of the issue
    python benchmarks/upscale_memory.py --mp 1 --code /tmp/old  # another copy of the idarts package (PYTHONPATH)

A tiny x4 EDSR-baseline (1 block, 8 features, random weights: what is measured is the pipeline, not the network)
upscales a random RGB image through the `idarts` command under `/usr/bin/time -v`. Prints, per size: input and
output megapixels, the output's uint8 size, wall seconds, peak RSS, and peak RSS minus the uint8 output (the part that
must stay below 1 GB whatever the size), and seconds per output megapixel (constant if time is linear in pixels)."""
import argparse, os, re, subprocess, sys, tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def tiny_model(path: Path):
    import torch
    from idarts.core import save_checkpoint
    from idarts.sr_net import build_model, model_spec
    torch.manual_seed(0)
    spec = model_spec('edsr-baseline', cells=1, channels=8, scale=4)
    save_checkpoint(dict(model=build_model(spec).state_dict(), spec=spec, config={}, epoch=0), path, keep_prev=False)


def image(path: Path, w: int, h: int):
    rng = np.random.default_rng(0)
    a = np.empty((h, w, 3), np.uint8)
    for r in range(0, h, 512): a[r:r + 512] = rng.integers(0, 256, a[r:r + 512].shape, dtype=np.uint8)
    Image.fromarray(a).save(path, compress_level=1)


def measure(code, img: Path, model: Path, out: Path, tile: int, timeout: int):
    env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    if code: env['PYTHONPATH'] = str(code)
    cmd = ['/usr/bin/time', '-v', sys.executable, '-m', 'idarts.cli', 'upscale', str(img), '--model', str(model),
           '--out', str(out), '--tile', str(tile), '--device', 'cpu']
    try: r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired: return None, None, f'timeout after {timeout} s'
    rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', r.stderr).group(1)) * 1024
    m = re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)', r.stderr)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    ok = r.returncode == 0
    return wall, rss, 'ok' if ok else f"exit {r.returncode}: {[l for l in r.stderr.splitlines() if l.strip()][-22:-21]}"


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--mp', type=float, nargs='*', default=[], help='input megapixels (4:3)')
    ap.add_argument('--wh', nargs='*', default=[], help='input sizes WxH')
    ap.add_argument('--tile', type=int, default=256)
    ap.add_argument('--code', help='folder holding the idarts package to measure (PYTHONPATH)')
    ap.add_argument('--timeout', type=int, default=3600)
    a = ap.parse_args()
    sizes = [(int(round((m * 1e6 * 4 / 3) ** .5)), int(round((m * 1e6 * 3 / 4) ** .5))) for m in a.mp]
    sizes += [tuple(map(int, s.lower().split('x'))) for s in a.wh]
    with tempfile.TemporaryDirectory() as t:
        t = Path(t); tiny_model(t/'m.pt')
        print('| input | output MP | output uint8 | wall s | peak RSS | RSS - output | s per output MP | status |\n|---|---|---|---|---|---|---|---|')
        for w, h in sizes:
            img = t/f'in_{w}x{h}.png'; image(img, w, h)
            wall, rss, status = measure(a.code, img, t/'m.pt', t/f'out_{w}x{h}', a.tile, a.timeout)
            out_mp, u8 = 16 * w * h / 1e6, 16 * w * h * 3
            if wall is None: print(f'| {w}x{h} | {out_mp:.0f} | {u8 / 2**30:.2f} GiB | - | - | - | - | {status} |', flush=True); continue
            print(f'| {w}x{h} | {out_mp:.0f} | {u8 / 2**30:.2f} GiB | {wall:.0f} | {rss / 2**30:.2f} GiB | {(rss - u8) / 2**30:.2f} GiB | '
                  f'{wall / out_mp:.2f} | {status} |', flush=True)
            img.unlink(); [p.unlink() for p in (t/f'out_{w}x{h}').glob('*')]
