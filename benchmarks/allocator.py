"""Seconds per step of the `cpu` profile's work under each memory allocator: glibc's (the default of a Python process),
tcmalloc and jemalloc (each when installed), ratios against glibc's.

`make reproduce` and its sibling targets preload tcmalloc into every stage process when the system has it
(`idarts.reproduce.fast_malloc`). This measures what that buys. Each variant runs in its own child process (a
preload only works from a process' start), one torch thread, and times three pieces of work:

- `train`: one training step of the `cpu` profile's network (`train_speed.train_step`, layout `auto`);
- `search`: one first-order search step of the `cpu` profile's supernet (C16, K3, batch 8, LR 16, x4; `search_step.make_step`);
- `hessian`: the exact alpha-Hessian extremes of that supernet on 4 patches (`idarts.hessian.hessian_extremes`, Lanczos),
  as `make study` computes them every epoch.

Rounds are interleaved (glibc, tcmalloc, jemalloc, glibc, ...); the best round of each variant is reported (the machine
is shared). With `--pairs`, two children of a variant run at once, as two stages do on a 2-core machine.

    python benchmarks/allocator.py [--rounds 3] [--steps 4] [--pairs]

Measured 2026-12-06 (22:45-22:56 UTC) on the shared 2-core AMD EPYC, nothing else running, ratios glibc/variant:
- one process (`--rounds 3`): tcmalloc train 1.31x, search 1.11x, Hessian 1.41x (0.223 / 0.691 s per step, 11.8 s per
  Hessian of 22 products, against 0.293 / 0.766 / 16.6); jemalloc 1.01x, 1.07x, 1.28x;
- two at once (`--rounds 2 --pairs`): tcmalloc 1.21x, 1.07x, 1.55x; jemalloc 0.73x, 0.95x, 1.16x.
So stages preload tcmalloc, not jemalloc. The results do not depend on the allocator: `benchmarks/lifecycle_identity.py
record` with and without `LD_PRELOAD` of tcmalloc (smoke and cpu searches and trainings, straight and resumed), then
`compare`: every log value, genotype and checkpoint tensor identical.
"""
import argparse, ctypes.util, json, os, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, sys, time, torch
sys.path.insert(0, sys.argv[1])
torch.set_num_threads(1)
steps = int(sys.argv[2])
from idarts.core import get_device, make_config, set_seed
from idarts.train import TrainConfig
from idarts.search_net import SearchNetwork
from idarts.hessian import hessian_extremes
from train_speed import train_step
from search_step import make_step, time_steps
dev = get_device('cpu')
out = {}
tr = train_step(make_config(TrainConfig, 'cpu'), 'auto', dev)
out['train'] = time_steps(lambda i: tr(), dev, steps=steps)
st, _ = make_step('original', 'first', C=16, cells=3, batch=8, patch=16)
out['search'] = time_steps(st, dev, steps=steps)
set_seed(0)
m = SearchNetwork(16, 3, 4, 'original')
g = torch.Generator().manual_seed(2)
lr, hr = torch.rand(4, 3, 16, 16, generator=g), torch.rand(4, 3, 64, 64, generator=g)
hessian_extremes(m, lr, hr)
t = time.perf_counter(); r = hessian_extremes(m, lr, hr); out['hessian'] = time.perf_counter() - t
out['hvps'] = r['hvps']
print(json.dumps(out))
"""


def allocators() -> dict:
    "Variant name -> LD_PRELOAD value ('' for glibc's own), for the allocators this system has."
    found = {'glibc': ''}
    for name, lib in (('tcmalloc', 'tcmalloc_minimal'), ('jemalloc', 'jemalloc')):
        so = ctypes.util.find_library(lib)
        if so: found[name] = so
    return found


def run(preload: str, steps: int, pairs: bool) -> list[dict]:
    "The child's timings (two children at once with `pairs`)."
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', IDARTS_MALLOC='system')
    env.pop('LD_PRELOAD', None)
    if preload: env['LD_PRELOAD'] = preload
    cmd = [sys.executable, '-c', CHILD, str(HERE), str(steps)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2 if pairs else 1)]
    outs = []
    for p in procs:
        o, _ = p.communicate()
        if p.returncode: sys.exit(f"child with LD_PRELOAD={preload!r} failed (exit {p.returncode})")
        outs.append(json.loads(o.strip().splitlines()[-1]))
    return outs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--steps', type=int, default=4)
    ap.add_argument('--pairs', action='store_true', help='two children of a variant at once (two stages on two cores)')
    a = ap.parse_args(argv)
    from idarts.core import hardware
    variants = allocators()
    print(f"{hardware()}; one torch thread per process; {'two processes at once' if a.pairs else 'one process'}; "
          f"{a.rounds} interleaved rounds, best shown; allocators: " + ', '.join(f"{k} ({v or 'built in'})" for k, v in variants.items()))
    best = {k: {} for k in variants}
    for r in range(a.rounds):
        for name, so in variants.items():
            for o in run(so, a.steps, a.pairs):
                for key in ('train', 'search', 'hessian'):
                    best[name][key] = min(best[name].get(key, float('inf')), o[key])
                best[name]['hvps'] = o['hvps']
    base = best['glibc']
    print(f"{'allocator':10s} {'train s/step':>13s} {'search s/step':>14s} {'hessian s':>10s}   ratios glibc/variant (train, search, hessian)")
    for name, b in best.items():
        print(f"{name:10s} {b['train']:13.3f} {b['search']:14.3f} {b['hessian']:10.2f}   "
              + ', '.join(f"{base[k] / b[k]:.2f}x" for k in ('train', 'search', 'hessian')) + f"   ({b['hvps']} Hessian products)")


if __name__ == '__main__':
    main()
