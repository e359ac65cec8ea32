"""Bit-identity of the run lifecycle before and after a refactoring (issue 23, item 1).

`python benchmarks/lifecycle_identity.py record DIR [NAME ...]` runs (all, or only the runs NAME), each in a fresh subprocess on one CPU thread:
smoke and cpu-profile searches and trainings, and for each a stop-and-resume case (the finished run's
`checkpoint.pt.prev`, one epoch earlier, put back as `checkpoint.pt`, its final files removed, then `resume=True`:
the log is truncated and the last epoch recomputed from the restored model, optimisers, scheduler, streams and RNG).
`python benchmarks/lifecycle_identity.py compare A B` compares two recordings: every `log.jsonl` (wall-time fields
left out), `genotype.json`, the `config` of `config.json` (the recording's directory in paths replaced), and every tensor of `checkpoint.pt`, `checkpoint.pt.prev`
and `model.pt` (`torch.equal`; other values `==`). Prints one line per run and exits 1 on any difference."""
import json, os, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WALL = {'seconds', 'train_seconds', 'patches_per_s', 'hessian_seconds'}

SEARCHES = {'search-smoke': ('smoke', {}), 'search-cpu': ('cpu', dict(epochs=2))}
TRAINS = {'train-smoke': ('smoke', {}, 'search-smoke'), 'train-cpu': ('cpu', dict(epochs=2, iters_per_epoch=60), 'search-cpu')}

CODE = """
import sys, json
from pathlib import Path
from idarts.core import make_config
kind, profile, over, out, resume = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5] == '1'
if kind == 'search':
    from idarts.search import SearchConfig, search
    search(make_config(SearchConfig, profile, **over), out, resume=resume, progress=False)
else:
    from idarts.train import TrainConfig, train
    train(make_config(TrainConfig, profile, **over), out, resume=resume, progress=False)
"""


def _run(kind, profile, over, out, resume=False):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONHASHSEED='0', CUDA_VISIBLE_DEVICES='')
    r = subprocess.run([sys.executable, '-c', CODE, kind, profile, json.dumps(over), str(out), '1' if resume else '0'],
                       env=env, capture_output=True, text=True)
    if r.returncode: sys.exit(f"{kind} {profile} {out}: failed\n{r.stderr[-3000:]}")


def _stop_and_resume(kind, profile, over, done: Path, out: Path):
    "Copy finished run `done` to `out`, roll it back one epoch (checkpoint.pt.prev), drop its final files, resume it."
    shutil.copytree(done, out)
    os.replace(out/'checkpoint.pt.prev', out/'checkpoint.pt')
    for f in ('genotype.json', 'model.pt', 'early_stop.json'): (out/f).unlink(missing_ok=True)
    _run(kind, profile, over, out, resume=True)


def record(d: Path, only=()):
    d.mkdir(parents=True, exist_ok=True)
    for name, (profile, over) in SEARCHES.items():
        if only and name not in only: continue
        _run('search', profile, over, d/name)
        _stop_and_resume('search', profile, over, d/name, d/f'{name}-resumed')
        print('recorded', name, flush=True)
    for name, (profile, over, g) in TRAINS.items():
        if only and name not in only: continue
        over = dict(over, genotype=str(d/g/'genotype.json'))
        _run('train', profile, over, d/name)
        _stop_and_resume('train', profile, over, d/name, d/f'{name}-resumed')
        print('recorded', name, flush=True)


def _norm(x, root: Path):
    "`x` with the recording's directory `root` in its strings replaced by `<DIR>` (a training's config names its genotype.json)."
    if isinstance(x, str): return x.replace(str(root), '<DIR>')
    if isinstance(x, dict): return {k: _norm(v, root) for k, v in x.items()}
    if isinstance(x, (list, tuple)): return type(x)(_norm(v, root) for v in x)
    return x


def _same(a, b, where='') -> list[str]:
    import numpy as np, torch
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        ok = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
        return [] if ok else [where]
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray): return [] if np.array_equal(a, b) else [where]
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b): return [f"{where} keys {sorted(set(a) ^ set(b), key=str)}"]
        return [x for k in a for x in _same(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b) or type(a) != type(b): return [f"{where} (length/type)"]
        return [x for i, (u, v) in enumerate(zip(a, b)) for x in _same(u, v, f"{where}[{i}]")]
    return [] if a == b else [where]


def _log(p: Path): return [{k: v for k, v in json.loads(l).items() if k not in WALL} for l in p.read_text().splitlines() if l.strip()]


def compare(a: Path, b: Path) -> int:
    import torch
    bad = 0
    for run in sorted(p.name for p in b.iterdir() if p.is_dir()):
        ra, rb = a/run, b/run
        names = sorted(p.name for p in ra.iterdir() if not p.name.startswith('.'))
        namesb = sorted(p.name for p in rb.iterdir() if not p.name.startswith('.'))
        diffs = [] if names == namesb else [f"files {names} vs {namesb}"]
        counts = {}
        for n in names:
            if n not in namesb: continue
            if n == 'log.jsonl':
                la, lb = _log(ra/n), _log(rb/n)
                counts['records'] = len(la)
                diffs += [] if la == lb else ['log.jsonl']
            elif n == 'config.json':
                ca, cb = (_norm(json.loads((r/n).read_text()), root) for r, root in ((ra, a), (rb, b)))
                diffs += [] if (ca['kind'], ca['config']) == (cb['kind'], cb['config']) else ['config.json']
            elif n.endswith('.json'):
                diffs += [] if (ra/n).read_bytes() == (rb/n).read_bytes() else [n]
            elif n.endswith('.pt') or n.endswith('.pt.prev'):
                ta, tb = (_norm(torch.load(r/n, weights_only=True), root) for r, root in ((ra, a), (rb, b)))
                counts['tensors'] = counts.get('tensors', 0) + sum(1 for _ in _tensors(ta))
                diffs += [f"{n}{w}" for w in _same(ta, tb)]
        bad += bool(diffs)
        print(f"{run:22s} {'IDENTICAL' if not diffs else 'DIFFERENT'}  files={len(names)} "
              f"log records={counts.get('records')} tensors compared={counts.get('tensors')}" + (f"  {diffs}" if diffs else ''))
    print('all identical' if not bad else f'{bad} run(s) differ')
    return 1 if bad else 0


def _tensors(x):
    import torch
    if isinstance(x, torch.Tensor): yield x
    elif isinstance(x, dict): yield from (t for v in x.values() for t in _tensors(v))
    elif isinstance(x, (list, tuple)): yield from (t for v in x for t in _tensors(v))


if __name__ == '__main__':
    if sys.argv[1] == 'record': record(Path(sys.argv[2]), sys.argv[3:])
    else: sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
