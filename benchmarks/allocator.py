"""Seconds per step of the `cpu` profile's work under each memory allocator: glibc's (the default of a Python process),
tcmalloc and jemalloc (each when installed), ratios against glibc's.

`make reproduce` and its sibling targets preload tcmalloc into every stage process when the system has it
(`idarts.reproduce.fast_malloc`). This measures what that buys. Each variant runs in its own child process (a
preload only works from a process' start), one torch thread, and times three pieces of work:

- `train`: one training step of the `cpu` profile's network (`train_speed.train_step`, layout `auto`);
- `search`: one first-order search step of the `cpu` profile's supernet (C16, K3, batch 8, LR 16, x4; `search_step.make_step`);
- `hessian`: the exact alpha-Hessian extremes of that supernet on 4 patches (`idarts.hessian.hessian_extremes`, Lanczos),
  as `make study` computes them every epoch.

`--real` times the real loops instead (`idarts.search.search` of the cpu profile for `--epochs`, then `idarts.train.train`
for `--iters` steps, data loading, validation and checkpoints included), glibc's child and tcmalloc's running at once.

Rounds are interleaved (glibc, tcmalloc, jemalloc, glibc, ...); the best round of each variant is reported (the machine
is shared). With `--pairs`, two children of a variant run at once, as two stages do on a 2-core machine.

    python benchmarks/allocator.py [--rounds 3] [--steps 4] [--pairs] [--real [--epochs 2] [--iters 100]]

Measured 2026-12-06 (22:45-22:56 UTC) on the shared 2-core AMD EPYC, nothing else running, ratios glibc/variant:
- one process (`--rounds 3`): tcmalloc train 1.31x, search 1.11x, Hessian 1.41x (0.223 / 0.691 s per step, 11.8 s per
  Hessian of 22 products, against 0.293 / 0.766 / 16.6); jemalloc 1.01x, 1.07x, 1.28x;
- two at once (`--rounds 2 --pairs`): tcmalloc 1.21x, 1.07x, 1.55x; jemalloc 0.73x, 0.95x, 1.16x.
- the real loops side by side (`--real --rounds 3`, then once more: glibc's and tcmalloc's child at once, one core each,
  so both see the same machine): a cpu search of 2 epochs 1.26x, 1.01x, 1.09x, 1.08x; a cpu training of 100 steps
  1.09x, 1.17x, 1.13x, 1.38x (glibc's seconds / tcmalloc's, per round).
Again on 2026-12-07 (04:01-04:08 UTC, right after a `make remedies` run): one process (`--rounds 2`, the run's last stage
still on the other core) tcmalloc 1.53x, 1.51x, 1.31x (0.230 / 0.669 s per step, 13.2 s per Hessian); two at once (`--rounds 1
--pairs`, nothing else) 1.03x, 0.93x, 1.14x, jemalloc 0.62x, 0.71x, 1.13x: the ratios move with the machine from run to run.
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


REAL = r"""
import json, sys, tempfile, time, torch
from pathlib import Path
sys.path.insert(0, sys.argv[1])
torch.set_num_threads(1)
epochs, iters = int(sys.argv[2]), int(sys.argv[3])
from idarts.core import make_config, read_jsonl
from idarts.search import SearchConfig, search
from idarts.train import TrainConfig, train
from train_speed import GENOTYPE
d = Path(tempfile.mkdtemp())
t = time.perf_counter(); search(make_config(SearchConfig, 'cpu', epochs=epochs), d/'s', progress=False); ws = time.perf_counter() - t
GENOTYPE.to_json(d/'g.json')
t = time.perf_counter(); train(make_config(TrainConfig, 'cpu', genotype=str(d/'g.json'), epochs=1, iters_per_epoch=iters), d/'t', progress=False); wt = time.perf_counter() - t
print(json.dumps(dict(search=ws, train=wt, search_epochs=sum(r['seconds'] for r in read_jsonl(d/'s'/'log.jsonl')),
                      train_steps=sum(r['train_seconds'] for r in read_jsonl(d/'t'/'log.jsonl')))))
"""


def _start(code: str, preload: str, *args) -> subprocess.Popen:
    "A child running `code` with `args`, one thread, with `preload` as its only LD_PRELOAD ('' for glibc's allocator)."
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', IDARTS_MALLOC='system')
    env.pop('LD_PRELOAD', None)
    if preload: env['LD_PRELOAD'] = preload
    return subprocess.Popen([sys.executable, '-c', code, str(HERE), *map(str, args)], env=env, stdout=subprocess.PIPE, text=True)


def _result(p: subprocess.Popen, what: str) -> dict:
    "The JSON line a child printed last."
    o, _ = p.communicate()
    if p.returncode: sys.exit(f"{what}: the child failed (exit {p.returncode})")
    return json.loads(o.strip().splitlines()[-1])


def real_round(variants: dict, epochs: int, iters: int) -> dict:
    "One real `cpu` search (`epochs` epochs) and training (`iters` steps) per variant, all variants at once (the same machine conditions)."
    procs = {name: _start(REAL, so, epochs, iters) for name, so in variants.items()}
    return {name: _result(p, name) for name, p in procs.items()}


def allocators() -> dict:
    "Variant name -> LD_PRELOAD value ('' for glibc's own), for the allocators this system has."
    found = {'glibc': ''}
    for name, lib in (('tcmalloc', 'tcmalloc_minimal'), ('jemalloc', 'jemalloc')):
        so = ctypes.util.find_library(lib)
        if so: found[name] = so
    return found


def run(preload: str, steps: int, pairs: bool) -> list[dict]:
    "The child's timings (two children at once with `pairs`)."
    procs = [_start(CHILD, preload, steps) for _ in range(2 if pairs else 1)]
    return [_result(p, f"LD_PRELOAD={preload!r}") for p in procs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--steps', type=int, default=4)
    ap.add_argument('--pairs', action='store_true', help='two children of a variant at once (two stages on two cores)')
    ap.add_argument('--real', action='store_true', help="the real loops instead: a cpu search and training per variant, glibc's and tcmalloc at once")
    ap.add_argument('--epochs', type=int, default=2, help='--real: search epochs'); ap.add_argument('--iters', type=int, default=100, help='--real: training steps')
    a = ap.parse_args(argv)
    from idarts.core import hardware
    variants = allocators()
    if a.real:
        variants = {k: v for k, v in variants.items() if k in ('glibc', 'tcmalloc')}
        print(f"{hardware()}; real loops, {' and '.join(variants)} side by side (one core each), {a.rounds} rounds: cpu search of {a.epochs} epochs, cpu training of {a.iters} steps")
        for r in range(a.rounds):
            o = real_round(variants, a.epochs, a.iters)
            g = o['glibc']
            for name, x in o.items():
                print(f"round {r}: {name:9s} search {x['search']:6.1f} s (epochs {x['search_epochs']:6.1f} s), training {x['train']:6.1f} s (steps {x['train_steps']:6.1f} s)"
                      f"   glibc/{name}: search {g['search'] / x['search']:.2f}x, training {g['train'] / x['train']:.2f}x")
        return
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
