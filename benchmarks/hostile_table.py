"""The hostile-user table of issue 10: each misuse case run through `idarts` and classified.

    python benchmarks/hostile_table.py                       # this checkout
    python benchmarks/hostile_table.py --code ../old-idarts       # another copy of the idarts package (e.g. `git archive <rev> idarts`)

Every case runs in a fresh temporary folder. The outcome is `one line` (exit 2, a single `idarts: error:` line, no
traceback), `traceback`, `silent` (exit 0 although the input is nonsense), or `loss` (exit 0 and a user's file is gone
or changed). Prints a Markdown table: case, outcome, exit code, the last stderr line (shortened)."""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
from PIL import Image

from idarts.data import data_root
DATA = str(data_root())   # $IDARTS_DATA, else the checkout's data/
SMOKE = ['--profile', 'smoke', '-q', '--set', 'epochs=1', '--set', 'steps_per_epoch=1', '--set', 'eval_patches=2',
         '--set', 'hessian_iters=0']
GENO = dict(normal=[['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_5x5', 2], ['skip_connect', 0], ['dil_conv_3x3', 3],
                    ['sep_conv_3x3', 2], ['dil_conv_5x5', 4], ['skip_connect', 1]], concat=[2, 3, 4, 5], space='improved')


def run(code, args, cwd, env=None, timeout=600):
    e = {**os.environ, 'IDARTS_DATA': DATA, 'OMP_NUM_THREADS': '1', **(env or {})}
    if code: e['PYTHONPATH'] = str(code)
    return subprocess.run([sys.executable, '-m', 'idarts.cli', *map(str, args)], cwd=cwd, env=e, capture_output=True,
                          text=True, timeout=timeout)


def img(path, h, w, seed=0):
    Image.fromarray((np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)).save(path)


def cases():
    "name -> (prepare(tmp) -> (args, env, check(tmp) -> 'loss' | None), kind): kind 'error' or 'silent' (what the input is)."
    c = {}
    def simple(args, env=None): return lambda t: (args(t), env, None)
    c['eval --scales 0'] = simple(lambda t: ['eval', '--model', 'bicubic', '--sets', 'Set5', '--scales', '0'])
    c['eval --scales a'] = simple(lambda t: ['eval', '--model', 'bicubic', '--sets', 'Set5', '--scales', 'a'])
    c['search --seed -1'] = simple(lambda t: ['search', '--out', t/'r', *SMOKE, '--seed', '-1'])
    for kv in ('batch=0', 'channels=0', 'patch_hr=0', 'epochs=0', 'cells=0', 'grad_clip=-1', 'w_lr=-0.1', 'device=gpu7'):
        c[f'search --set {kv}'] = simple(lambda t, kv=kv: ['search', '--out', t/'r', *SMOKE, '--set', kv])
    c['train --set lr_gamma=-0.5'] = simple(lambda t: ['train', '--arch', 'edsr-baseline', '--profile', 'smoke', '-q', '--out', t/'r',
                                                        '--set', 'lr_gamma=-0.5', '--set', 'epochs=1', '--set', 'iters_per_epoch=1',
                                                        '--set', 'n_val=1'])
    def geno_dir(t): return ['train', '--genotype', t, '--profile', 'smoke', '--out', t/'r', '-q'], None, None
    c['train --genotype DIR'] = geno_dir
    def geno_bin(t):
        (t/'g.json').write_bytes(b'\x89PNG\r\n\x1a\n\xff\xfe'); return ['train', '--genotype', t/'g.json', '--profile', 'smoke', '--out', t/'r', '-q'], None, None
    c['train --genotype non-UTF-8 file'] = geno_bin
    def geno_float(t):
        g = json.loads(json.dumps(GENO)); g['normal'][3][1] = 1.7; (t/'g.json').write_text(json.dumps(g))
        return ['info', '--genotype', t/'g.json', '--cells', '2', '--channels', '8'], None, None
    c['genotype node index 1.7'] = geno_float
    def resume_file(t):
        (t/'f').write_text('x'); return ['search', '--resume', t/'f', '-q'], None, None
    c['search --resume FILE'] = resume_file
    def zero_ckpt(t):
        r = run(CODE, ['search', '--out', t/'r', *SMOKE], t); assert r.returncode == 0, r.stderr
        (t/'r'/'checkpoint.pt').write_bytes(b''); return ['search', '--resume', t/'r', '-q'], None, None
    c['search --resume, zero-byte checkpoint'] = zero_ckpt
    def out_file(t):
        (t/'f').write_text('x'); return ['search', '--out', t/'f', *SMOKE], None, None
    c['search --out FILE'] = out_file
    def finished(t):
        r = run(CODE, ['search', '--out', t/'r', *SMOKE], t); assert r.returncode == 0, r.stderr
        (t/'r'/'checkpoint.pt').unlink(); (t/'r'/'checkpoint.pt.prev').unlink()
        before = {p.name: p.read_bytes() for p in (t/'r').iterdir() if p.is_file() and p.name != '.lock'}
        def check(t):
            now = {p.name: p.read_bytes() for p in (t/'r').iterdir() if p.is_file()}
            return 'loss' if any(now.get(k) != v for k, v in before.items()) else None
        return ['search', '--out', t/'r', *SMOKE, '--set', 'seed=3'], None, check
    c['search into a finished run (checkpoint removed)'] = finished
    def up_same(t):
        d = t/'pics'; d.mkdir(); img(d/'a.png', 20, 30); img(d/'a_x2.png', 40, 60, seed=1)
        keep = (d/'a_x2.png').read_bytes()
        return ['upscale', d, '--model', 'bicubic', '--scale', '2', '--out', d], None, \
            (lambda t: 'loss' if (d/'a_x2.png').read_bytes() != keep else None)
    c['upscale DIR --out DIR (holds a_x2.png)'] = up_same
    def up_tile(t):
        img(t/'a.png', 20, 30); return ['upscale', t/'a.png', '--model', 'bicubic', '--tile', '-5', '--out', t/'o'], None, None
    c['upscale --tile -5'] = up_tile
    def eval_badout(t):
        (t/'f').write_text('x'); return ['eval', '--model', 'bicubic', '--sets', 'Set5', '--out', t/'f'/'r.csv'], None, None
    c['eval --out under a file (after the whole eval)'] = eval_badout
    def small_set(t):
        d = t/'root'/'benchmark'/'Set5'/'HR'; d.mkdir(parents=True)
        for i in range(5): img(d/f'{i}.png', 12 if i == 2 else 64, 12 if i == 2 else 64, seed=i)
        return ['eval', '--model', 'bicubic', '--sets', 'Set5', '--scales', '4'], dict(IDARTS_DATA=str(t/'root')), None
    c['eval: an image smaller than the border'] = small_set
    return c


def classify(r, check_result):
    err = r.stderr.strip().splitlines()
    last = err[-1] if err else ''
    if 'Traceback' in r.stderr: out = 'traceback'
    elif r.returncode == 2 and sum(l.startswith('idarts: error:') for l in err) == 1: out = 'one line'
    elif r.returncode == 0: out = check_result or 'silent'
    else: out = f'exit {r.returncode}'
    return out, last


if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--code', help='folder holding the idarts package to test (PYTHONPATH)')
    ap.add_argument('--only', help='substring of the case names to run')
    a = ap.parse_args(); CODE = a.code
    print('| case | outcome | exit | last stderr line |\n|---|---|---|---|')
    for name, prep in cases().items():
        if a.only and a.only not in name: continue
        t = Path(tempfile.mkdtemp())
        try:
            args, env, check = prep(t)
            r = run(CODE, args, t, env)
            out, last = classify(r, check(t) if check and r.returncode == 0 else None)
        except Exception as e: out, last = 'harness error', repr(e)[:100]
        finally: shutil.rmtree(t, ignore_errors=True)
        print(f"| {name} | {out} | {r.returncode} | {last[:150].replace('|', '/')} |", flush=True)
