"""Scaling curves (issue 14 item 4): supernet step time and activations vs cells, channels and LR patch; upscale memory vs image size.

    .venv/bin/python benchmarks/scaling.py [--only supernet|upscale] [--steps 2] [--threads 1]

- **Supernet**: one search-network step (forward + backward of the L1 loss, what the weight and the alpha updates
  each cost), improved space, x4, random data. One size varies at a time around the base C16, K4 cells, batch 8,
  LR patch 24 (cells 2-8, channels 8-64, LR patch 12-48). Step time: the median process CPU time (user + system, `os.times`)
  of `--steps` steps after a warm-up step (one thread: the compute, robust to other jobs on a shared machine), each
  point in a fresh process with glibc's default allocator.
  Activations: the bytes of the tensors the forward saves for backward (`idarts.dryrun.saved_bytes`: each storage once,
  parameters excluded); that is the part of a step's memory that grows with the sizes. Each panel gives the fitted
  power law (slope of the log-log line). -> figures/perf/supernet_scaling.png and .json.
- **Upscale**: `benchmarks/upscale_memory.sweep` (the `idarts upscale --tile 256` command on a tiny random x4 network
  under `/usr/bin/time -v`) for inputs of 0.25-4 MP: peak RSS against the output's size.
  -> figures/perf/upscale_memory.png and .json.
- Evaluation time vs megapixels is `benchmarks/eval_speed.py --figure figures/perf/eval_vs_megapixels.png`.

About 5-10 minutes on the project's 2-core AMD EPYC (one thread, shared machine, nice 5).
"""
import argparse, json, os, statistics, sys, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'figures'/'perf'
BASE = dict(cells=4, C=16, batch=8, patch=24)
SWEEPS = dict(cells=(2, 4, 6, 8), C=(8, 16, 32, 64), patch=(12, 24, 36, 48))
LABELS = dict(cells='cells K', C='channels C', patch='LR patch side (pixels)')


def supernet_point(cells, C, batch, patch, steps=2, scale=4, space='improved') -> dict:
    "Median CPU seconds (user + system, and system alone) of a supernet fwd+bwd step after a warm-up, its saved activations, peak RSS."
    import torch
    from idarts.dryrun import saved_bytes
    from idarts.search_net import SearchNetwork
    torch.manual_seed(0)
    net = SearchNetwork(C, cells, scale, space)
    lr, hr = torch.rand(batch, 3, patch, patch), torch.rand(batch, 3, patch * scale, patch * scale)
    def step():
        net.zero_grad(set_to_none=True)
        net.loss(lr, hr).backward()
    step()  # warm-up
    ts, ss = [], []
    for _ in range(steps):
        t = os.times()
        step()
        e = os.times()
        ts.append(e.user + e.system - t.user - t.system)
        ss.append(e.system - t.system)
    act = saved_bytes(net.loss, lr, hr, exclude=list(net.parameters()))
    import resource
    return dict(cells=cells, C=C, batch=batch, patch=patch, s_step=statistics.median(ts), sys_s=statistics.median(ss),
                act_gb=act / 2**30, rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)


def point_process(cells, C, batch, patch, steps, threads) -> dict:
    """`supernet_point` in a fresh process with glibc's default allocator: no point inherits another's heap (a process
    running them all grew to 8 GB), and no fixed mmap threshold makes some sizes pay the kernel's page zeroing."""
    import subprocess
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads)}
    env.pop('MALLOC_MMAP_THRESHOLD_', None)
    r = subprocess.run([sys.executable, __file__, '--threads', str(threads), '--point', json.dumps([cells, C, batch, patch, steps])],
                       capture_output=True, text=True, env=env, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def slope(x, y) -> float:
    "The exponent of the least-squares power law y ~ x^k."
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def supernet(steps: int, threads: int, title: str) -> dict:
    res = {}
    for k, values in SWEEPS.items():
        res[k] = []
        for v in values:
            r = point_process(**dict(BASE, **{k: v}), steps=steps, threads=threads)
            res[k].append(r)
            print(f"{k}={v}: {r['s_step']:.3f} s/step ({r['sys_s']:.3f} system), {r['act_gb'] * 1024:.0f} MB activations, "
                  f"peak RSS {r['rss_gb']:.2f} GB", flush=True)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 3, figsize=(11, 6))
    for j, (k, rows) in enumerate(res.items()):
        x = [r[k] for r in rows]
        for i, (key, ylab) in enumerate((('s_step', 'CPU s per fwd+bwd step'), ('act_gb', 'activations saved for backward, GB'))):
            y = [r[key] for r in rows]
            ax = axes[i, j]
            ax.loglog(x, y, 'o-', label=f'~ {LABELS[k].split()[0]}^{slope(x, y):.2f}')
            ax.set_xticks(x)
            ax.set_xticklabels([str(v) for v in x])
            ax.minorticks_off()
            ax.set_xlabel(LABELS[k])
            ax.set_ylabel(ylab, fontsize=8)
            ax.grid(alpha=.3, which='both')
            ax.legend(fontsize=8)
    base = ', '.join(f'{k} {v}' for k, v in BASE.items())
    fig.suptitle(f'Search supernet (improved space, x4): one size varied around {base}\n{title}', fontsize=9)
    fig.tight_layout()
    fig.savefig(OUT/'supernet_scaling.png', dpi=110)
    plt.close(fig)
    slopes = {k: {key: slope([r[k] for r in rows], [r[key] for r in rows]) for key in ('s_step', 'act_gb')} for k, rows in res.items()}
    return dict(base=BASE, sweeps=res, slopes=slopes)


def upscale(title: str) -> dict:
    sys.path.insert(0, str(ROOT/'benchmarks'))
    import upscale_memory
    sizes = [(int(round((m * 1e6 * 4 / 3) ** .5)), int(round((m * 1e6 * 3 / 4) ** .5))) for m in (0.25, 0.5, 1, 2, 4)]
    rows = upscale_memory.sweep(sizes, tile=256, timeout=600)
    upscale_memory.figure(rows, OUT/'upscale_memory.png', f'`idarts upscale --tile 256`, x4, tiny random network\n{title}')
    return dict(rows=rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--only', choices=('supernet', 'upscale'))
    ap.add_argument('--steps', type=int, default=2)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--point', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.point:  # one supernet point, in its own process (see `point_process`)
        print(json.dumps(supernet_point(*json.loads(a.point))))
        return
    import torch
    from idarts.core import hardware
    torch.set_num_threads(a.threads)
    os.environ['OMP_NUM_THREADS'] = str(a.threads)  # for the upscale subprocesses
    title = f'{hardware()}, torch {torch.__version__}, {time.strftime("%Y-%m-%d")}'  # hardware(): the CPU and the torch threads
    OUT.mkdir(parents=True, exist_ok=True)
    for name, fn in (('supernet', lambda: supernet(a.steps, a.threads, title)), ('upscale', lambda: upscale(title))):
        if a.only and a.only != name: continue
        t = time.time()
        res = dict(machine=title, **fn())
        (OUT/f'{"supernet_scaling" if name == "supernet" else "upscale_memory"}.json').write_text(json.dumps(res, indent=1))
        print(f'{name}: {time.time() - t:.0f} s', flush=True)


if __name__ == '__main__':
    main()
