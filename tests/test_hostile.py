"""A hostile but ordinary user (issue 10): bad input is one line, runs and files are never lost or mixed, upscaling
keeps its memory promise. One test per class of misuse, all through the `idarts` command in subprocesses."""
import json, os, resource, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FAST = ['--profile', 'smoke', '-q', '--set', 'epochs=1', '--set', 'steps_per_epoch=1', '--set', 'eval_patches=2',
        '--set', 'hessian_iters=0']
SLOW = ['--profile', 'smoke', '-q', '--set', 'epochs=3', '--set', 'steps_per_epoch=150', '--set', 'hessian_iters=0']  # outlives two CLI calls
GENO = dict(normal=[['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_5x5', 2], ['skip_connect', 0], ['dil_conv_3x3', 3],
                    ['sep_conv_3x3', 2], ['dil_conv_5x5', 4], ['skip_connect', 1]], concat=[2, 3, 4, 5], space='improved')


def _env(**kw): return {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONHASHSEED': '0', **kw}
def _cmd(*args): return [sys.executable, '-m', 'idarts.cli', *map(str, args)]
def _umask022(): os.umask(0o022)


def idarts(*args, env=None, timeout=300):
    return subprocess.run(_cmd(*args), capture_output=True, text=True, env=_env(**(env or {})), timeout=timeout,
                          preexec_fn=_umask022)


def one_line(r, *words):
    assert r.returncode == 2, r.stdout + r.stderr
    assert 'Traceback' not in r.stderr, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith('idarts: error:')]
    assert len(lines) == 1, r.stderr
    for w in words: assert w in lines[0], (w, lines[0])
    return lines[0]


def _log(run):
    p = Path(run)/'log.jsonl'
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else []


def _files(d):
    return {p.name: p.read_bytes() for p in Path(d).iterdir() if p.is_file() and p.name != '.lock'}


def _img(path, h, w, seed=0):
    Image.fromarray((np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)).save(path)


# --- 1. validation: declared types and ranges, one line before any work -----------------------------------------
BAD = [
    (['eval', '--model', 'bicubic', '--sets', 'Set5', '--scales', '0'], ['--scales 0']),
    (['eval', '--model', 'bicubic', '--sets', 'Set5', '--scales', 'x'], ['--scales x']),
    (['search', '--out', '{t}/r', *FAST, '--seed', '-1'], ['--seed', 'below 0']),
    (['search', '--out', '{t}/r', *FAST, '--set', 'seed=-1'], ['seed=-1']),
    (['search', '--out', '{t}/r', *FAST, '--set', 'batch=0'], ['batch=0', '>= 1']),
    (['search', '--out', '{t}/r', *FAST, '--set', 'channels=0'], ['channels=0']),
    (['search', '--out', '{t}/r', *FAST, '--set', 'patch_hr=0'], ['patch_hr=0']),
    (['search', '--out', '{t}/r', *FAST, '--set', 'epochs=0'], ['epochs=0']),            # was: a "genotype" of an untrained supernet
    (['search', '--out', '{t}/r', *FAST, '--set', 'cells=0'], ['cells=0']),              # was: silent
    (['search', '--out', '{t}/r', *FAST, '--set', 'grad_clip=-1'], ['grad_clip=-1.0']),  # was: silent
    (['search', '--out', '{t}/r', *FAST, '--set', 'hessian_iters=-1'], ['hessian_iters=-1']),
    (['search', '--out', '{t}/r', *FAST, '--set', 'device=gpu7'], ['not a device']),
    (['train', '--arch', 'edsr-baseline', '--profile', 'smoke', '--out', '{t}/r', '--set', 'lr_gamma=-0.5'], ['lr_gamma=-0.5']),
    (['train', '--genotype', '{t}', '--profile', 'smoke', '--out', '{t}/r'], ['is a directory']),
    (['train', '--genotype', '{t}/bin.json', '--profile', 'smoke', '--out', '{t}/r'], ['not UTF-8']),
    (['info', '--genotype', '{t}/g17.json', '--cells', '2', '--channels', '8'], ['node index 1.7 is not an integer']),
    (['search', '--resume', '{t}/file', '-q'], ['is a file, not a run directory']),
    (['search', '--resume', '{t}/nothing', '-q'], ['no config.json']),
    (['search', '--out', '{t}/file', *FAST], ['is a file, not a directory']),
    (['search', '--out', '{t}/file/sub', *FAST], ['cannot create it', 'Not a directory']),
    (['upscale', '{t}/a.png', '--model', 'bicubic', '--tile', '-5', '--out', '{t}/o'], ['--tile', 'below 0']),
    (['eval', '--model', 'bicubic', '--sets', 'Set5', '--out', '{t}/file/r.csv'], ['is a file']),
    (['eval', '--model', 'bicubic', '--sets', 'Set5', '--out', '{t}'], ['is a directory']),
]

@pytest.mark.usefixtures('data_dir')
@pytest.mark.parametrize('args,words', BAD, ids=[' '.join(a[:1] + a[-2:]) for a, _ in BAD])
def test_bad_input_is_one_line(tmp_path, args, words):
    (tmp_path/'file').write_text('x'); (tmp_path/'bin.json').write_bytes(b'\x89PNG\r\n\x1a\n\xff\xfe')
    g = json.loads(json.dumps(GENO)); g['normal'][3][1] = 1.7; (tmp_path/'g17.json').write_text(json.dumps(g))
    _img(tmp_path/'a.png', 10, 12)
    one_line(idarts(*[a.format(t=tmp_path) for a in args]), *words)
    assert not (tmp_path/'r'/'log.jsonl').exists()       # refused before any work


def test_zero_byte_checkpoint_is_one_line(tmp_path):
    r = tmp_path/'r'; r.mkdir(); (r/'config.json').write_text(json.dumps(dict(kind='search', config={'profile': 'smoke'})))
    (r/'checkpoint.pt').write_bytes(b'')
    one_line(idarts('search', '--resume', r, '-q'), 'checkpoint.pt: cannot read checkpoint')


# --- 2. a finished run is never written over; --overwrite moves it aside; files get the umask --------------------
@pytest.mark.usefixtures('data_dir')
def test_finished_run_is_never_written_over(tmp_path):
    run = tmp_path/'run'
    r = idarts('search', '--out', run, *FAST); assert r.returncode == 0, r.stderr
    for n in ('config.json', 'checkpoint.pt', 'log.jsonl', 'genotype.json'):
        assert (run/n).stat().st_mode & 0o777 == 0o644, n            # the user's umask, not mkstemp's 0600
    (run/'checkpoint.pt').unlink(); (run/'checkpoint.pt.prev').unlink()  # "to save space"
    before = _files(run)
    one_line(idarts('search', '--out', run, *FAST, '--set', 'seed=3'), 'holds an earlier run', '--overwrite')
    one_line(idarts('search', '--resume', run, '-q'), 'nothing to continue')
    assert _files(run) == before
    r = idarts('search', '--out', run, *FAST, '--set', 'seed=3', '--overwrite'); assert r.returncode == 0, r.stderr
    old = [p for p in tmp_path.iterdir() if p.name.startswith('run.old-')]
    assert len(old) == 1 and _files(old[0]) == before                  # moved aside, byte for byte, never deleted
    assert json.loads((run/'config.json').read_text())['config']['seed'] == 3


# --- 3. two writers: the second is refused (pid and host), the first's run stays intact and resumable --------------
def _start(run, *extra):
    p = subprocess.Popen(_cmd('search', '--out', run, *SLOW, *extra), env=_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while len(_log(run)) < 1:
        assert p.poll() is None, p.stderr.read()
        assert time.time() - t0 < 120; time.sleep(0.05)
    return p


@pytest.mark.usefixtures('data_dir')
def test_two_concurrent_searches_and_resume_of_a_live_run(tmp_path):
    run, ref = tmp_path/'run', tmp_path/'ref'
    a = _start(run)
    holder = json.loads((run/'.lock').read_text())
    assert holder['pid'] == a.pid
    second = one_line(idarts('search', '--out', run, *SLOW), 'in use by another idarts run', f"pid {a.pid} on {holder['host']}")
    assert a.poll() is None, 'the first search ended before the second writer was tried; make SLOW slower'
    live = one_line(idarts('search', '--resume', run, '-q'), 'in use by another idarts run', f'pid {a.pid}')
    assert a.wait(timeout=300) == 0, a.stderr.read()
    r = idarts('search', '--out', ref, *SLOW); assert r.returncode == 0, r.stderr
    strip = lambda recs: [{k: v for k, v in x.items() if k != 'seconds'} for x in recs]
    assert strip(_log(run)) == strip(_log(ref))                       # the first run is the uninterrupted run, bit for bit
    ck, ck_ref = torch.load(run/'checkpoint.pt', weights_only=True), torch.load(ref/'checkpoint.pt', weights_only=True)
    assert all(torch.equal(ck['model'][k], ck_ref['model'][k]) for k in ck['model'])
    r = idarts('search', '--resume', run, '-q'); assert r.returncode == 0, r.stderr   # and resumable
    assert [x['epoch'] for x in _log(run)] == [0, 1, 2, 3]
    print(second, live, sep='\n')


# --- 4. a SIGKILL leaves a lock file and a half-written temporary: both are dealt with on resume ------------------
@pytest.mark.usefixtures('data_dir')
def test_sigkill_stale_lock_and_tmp_are_taken_over(tmp_path):
    run = tmp_path/'run'
    a = _start(run)
    (run/'.checkpoint.pt.k1ll3d.tmp').write_bytes(b'half a checkpoint')      # what a kill during torch.save leaves
    a.send_signal(signal.SIGKILL); a.wait()
    assert json.loads((run/'.lock').read_text())['pid'] == a.pid           # the dead run's lock file is still there
    r = idarts('search', '--resume', run, '-q'); assert r.returncode == 0, r.stderr
    assert not list(run.glob('.*.tmp'))
    assert [x['epoch'] for x in _log(run)] == [0, 1, 2, 3]


# --- 5. upscale: inputs and outputs are never written over; bounded memory -----------------------------------------
def test_upscale_never_overwrites(tmp_path):
    d = tmp_path/'pics'; d.mkdir(); _img(d/'a.png', 20, 30); _img(d/'a_x2.png', 40, 60, seed=1)
    mine = (d/'a_x2.png').read_bytes()
    one_line(idarts('upscale', d, '--model', 'bicubic', '--scale', '2', '--out', d), 'is one of the inputs')
    one_line(idarts('upscale', d, '--model', 'bicubic', '--scale', '2', '--out', d, '--overwrite'), 'is one of the inputs')
    assert (d/'a_x2.png').read_bytes() == mine and sorted(p.name for p in d.iterdir()) == ['a.png', 'a_x2.png']
    o = tmp_path/'o'
    r = idarts('upscale', d/'a.png', '--model', 'bicubic', '--scale', '2', '--out', o); assert r.returncode == 0, r.stderr
    assert (o/'a_x2.png').stat().st_mode & 0o777 == 0o644
    one_line(idarts('upscale', d/'a.png', '--model', 'bicubic', '--scale', '2', '--out', o), 'exists', '--overwrite')
    r = idarts('upscale', d/'a.png', '--model', 'bicubic', '--scale', '2', '--out', o, '--overwrite'); assert r.returncode == 0


PEAK = r'''
import resource, sys, numpy as np
from idarts.evaluate import upscale_files
from idarts.train import load_model
from idarts.data import load_image
if sys.argv[4] == 'run': upscale_files([sys.argv[1]], sys.argv[2], sys.argv[3], tile=200, device='cpu', progress=False)
else: load_model(sys.argv[2], 'cpu'); load_image(sys.argv[1])    # the baseline: the same imports, model and input
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
'''

def test_upscale_peak_memory_is_the_uint8_output_plus_a_tile(tmp_path):
    from idarts.core import save_checkpoint
    from idarts.sr_net import build_model, model_spec
    torch.manual_seed(0); spec = model_spec('edsr-baseline', cells=1, channels=8, scale=4)
    save_checkpoint(dict(model=build_model(spec).state_dict(), spec=spec), tmp_path/'m.pt', keep_prev=False)
    _img(tmp_path/'big.png', 900, 1200)                                   # 17.3 MP out: the old code held ~41 B per pixel
    peak = lambda mode: int(subprocess.run([sys.executable, '-c', PEAK, tmp_path/'big.png', tmp_path/'m.pt', tmp_path/'o', mode],
                                           capture_output=True, text=True, env=_env(), check=True).stdout.split()[-1])
    base, run = peak('base'), peak('run')
    out = np.asarray(Image.open(tmp_path/'o'/'big_x4.png')); assert out.shape == (3600, 4800, 3)
    print(f'peak RSS: baseline {base / 2**20:.0f} MiB, upscale {run / 2**20:.0f} MiB, output uint8 {out.nbytes / 2**20:.0f} MiB')
    assert run - base < out.nbytes + 300 * 2**20, (base, run, out.nbytes)


# --- 6. eval: --out checked before the work, results saved as each set finishes --------------------------------------
def test_eval_saves_each_set_as_it_finishes(tmp_path, data_dir):
    root = tmp_path/'data'/'benchmark'
    (root/'Set5').mkdir(parents=True); (root/'Set5'/'HR').symlink_to(data_dir/'benchmark'/'Set5'/'HR')
    hr = root/'Set14'/'HR'; hr.mkdir(parents=True)
    for i in range(14): _img(hr/f'{i:02d}.png', 48, 48, seed=i)
    (hr/'13.png').write_bytes(b'\x89PNG\r\n\x1a\nbroken')                 # the last image of the second set is damaged
    out = tmp_path/'r.csv'
    one_line(idarts('eval', '--model', 'bicubic', '--sets', 'Set5,Set14', '--out', out, env=dict(IDARTS_DATA=str(tmp_path/'data'))), '13.png')
    rows = list(__import__('csv').DictReader(open(out)))
    assert [r['set'] for r in rows] == ['Set5'] and abs(float(rows[0]['psnr']) - 28.42) < 0.03   # Set5's result survived
    assert out.stat().st_mode & 0o777 == 0o644
    one_line(idarts('eval', '--model', 'bicubic', '--sets', 'Set5', '--out', out), 'exists', '--overwrite')
    r = idarts('eval', '--model', 'bicubic', '--sets', 'Set5', '--out', out, '--overwrite'); assert r.returncode == 0, r.stderr
