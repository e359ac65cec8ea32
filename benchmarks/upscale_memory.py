"""Peak memory and time of `idarts upscale --tile` against image size (issue 10).

    python benchmarks/upscale_memory.py --mp 1 4 16            # input megapixels (4:3 images), x4, tile 256
    python benchmarks/upscale_memory.py --wh 6000x4000          # the 6000x4000 photo of the issue
    python benchmarks/upscale_memory.py --mp 1 --code ../old-idarts  # another copy of the idarts package (PYTHONPATH)

A tiny x4 EDSR-baseline (1 block, 8 features, random weights: what is measured is the pipeline, not the network)
upscales a random RGB image through the `idarts` command under `/usr/bin/time -v`. Prints, per size: input and
output megapixels, the output's uint8 size, wall seconds, peak RSS, and peak RSS minus the uint8 output (the part that
must stay below 1 GB whatever the size), and seconds per output megapixel (constant if time is linear in pixels).
`sweep` and `figure` are reused by `benchmarks/scaling.py` (figures/perf/upscale_memory.png)."""
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


def sweep(sizes, tile: int = 256, code=None, timeout: int = 3600, table: bool = True) -> list[dict]:
    "Upscale a random image of each `(w, h)` in `sizes` through the command; one dict per size (also printed as a Markdown table)."
    rows = []
    with tempfile.TemporaryDirectory() as t:
        t = Path(t); tiny_model(t/'m.pt')
        if table: print('| input | output MP | output uint8 | wall s | peak RSS | RSS - output | s per output MP | status |\n|---|---|---|---|---|---|---|---|')
        for w, h in sizes:
            img = t/f'in_{w}x{h}.png'; image(img, w, h)
            wall, rss, status = measure(code, img, t/'m.pt', t/f'out_{w}x{h}', tile, timeout)
            out_mp, u8 = 16 * w * h / 1e6, 16 * w * h * 3
            rows.append(dict(w=w, h=h, in_mp=w * h / 1e6, out_mp=out_mp, out_u8_bytes=u8, wall_s=wall, rss_bytes=rss, status=status, tile=tile))
            img.unlink(); [p.unlink() for p in (t/f'out_{w}x{h}').glob('*')]
            if not table: continue
            if wall is None: print(f'| {w}x{h} | {out_mp:.0f} | {u8 / 2**30:.2f} GiB | - | - | - | - | {status} |', flush=True); continue
            print(f'| {w}x{h} | {out_mp:.0f} | {u8 / 2**30:.2f} GiB | {wall:.0f} | {rss / 2**30:.2f} GiB | {(rss - u8) / 2**30:.2f} GiB | '
                  f'{wall / out_mp:.2f} | {status} |', flush=True)
    return rows


def figure(rows, path, title: str):
    "Peak RSS, the uint8 output and their difference against output megapixels."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ok = [r for r in rows if r['rss_bytes']]
    x = [r['out_mp'] for r in ok]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, [r['rss_bytes'] / 2**30 for r in ok], 'o-', label='peak RSS of `idarts upscale`')
    ax.plot(x, [r['out_u8_bytes'] / 2**30 for r in ok], 's--', label='the uint8 output image')
    ax.plot(x, [(r['rss_bytes'] - r['out_u8_bytes']) / 2**30 for r in ok], '^:', label='peak RSS - output (tile, model, interpreter)')
    ax.set_xlabel('output megapixels (x4)'); ax.set_ylabel('GiB'); ax.grid(alpha=.3); ax.legend(fontsize=8)
    ax.set_title(title, fontsize=8)
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True); fig.tight_layout(); fig.savefig(path, dpi=120); plt.close(fig)
    return path


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
    sweep(sizes, a.tile, a.code, a.timeout)
