"The smoke reproduction pipeline end to end: every stage runs, every artifact exists and has content, and a rerun is cached."
import csv, json, os, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idarts.reproduce import EVAL_SETS, plan

ROOT = Path(__file__).resolve().parent.parent


def _run(root, *extra):
    env = _env()
    t0 = time.time()
    r = subprocess.run([sys.executable, '-m', 'idarts.reproduce', '--profile', 'smoke', '--root', str(root), *extra],
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout, time.time() - t0


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg', PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    """The smoke pipeline, killed (SIGKILL, kernels included) once its first stage is done, then run again to the end."""
    root = tmp_path_factory.mktemp('repro')
    p = subprocess.Popen([sys.executable, '-m', 'idarts.reproduce', '--profile', 'smoke', '--root', str(root)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), start_new_session=True)
    rec_dir, t0 = root/'runs/smoke/stages', time.time()
    while not (rec_dir.exists() and any(rec_dir.glob('*.json'))):
        assert p.poll() is None and time.time() - t0 < 300, 'the pipeline ended or hung before its first stage'
        time.sleep(0.2)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done_before = sorted(f.stem for f in rec_dir.glob('*.json'))
    out, secs = _run(root)
    print(out, f'\nsmoke pipeline after the kill: {secs:.1f} s')
    return root, out, done_before


def test_a_killed_run_picks_up_where_it_stopped(smoke):
    _, out, done_before = smoke
    assert done_before and len(done_before) < len(plan('smoke'))
    for name in done_before: assert f'[{name}] up to date' in out, out
    for st in plan('smoke'):
        if st.name not in done_before: assert f'[{st.name}] done' in out, out


def test_every_artifact_exists_and_has_content(smoke):
    root = smoke[0]
    for st in plan('smoke'):
        for o in st.outputs:
            p = root/o
            assert p.exists() and p.stat().st_size > 0, o
            if p.suffix == '.png':
                a = np.asarray(Image.open(p).convert('L'), dtype=float)
                assert min(a.shape) > 100 and a.std() > 5, f'{o} looks empty'
    for f in ('fig2_original_skips.pdf', 'fig4_improved_skips.pdf', 'fig7_training.pdf', 'fig6a_original_cell.svg'):
        assert (root/'figures/smoke'/f).stat().st_size > 1000, f
    assert (root/'runs/smoke/REPORT.md').exists() and (root/'figures/smoke/REPORT.md').exists()


def test_tables_have_expected_rows_and_columns(smoke):
    root = smoke[0]
    sets = list(EVAL_SETS['smoke'])
    res = list(csv.DictReader(open(root/'tables/smoke/results.csv')))
    assert {'set', 'scale', 'method', 'psnr', 'ssim', 'n_images'} <= set(res[0])
    assert {r['method'] for r in res} == {'Bicubic', 'Original DARTS', 'Ours'}
    assert {r['set'] for r in res} == set(sets)
    for r in res: assert 10 < float(r['psnr']) < 60 and 0 < float(r['ssim']) <= 1
    t2 = list(csv.DictReader(open(root/'tables/smoke/table2.csv')))
    assert [c for c in t2[0]][:2] == ['method', 'source'] and all(s in t2[0] for s in sets)
    methods = [r['method'] for r in t2]
    for m in ('A+', 'SRCNN', 'VDSR', 'SRResNet', 'Bicubic', 'Original DARTS', 'Ours'): assert m in methods
    md = (root/'tables/smoke/table2.md').read_text(); tex = (root/'tables/smoke/table2.tex').read_text()
    assert md.count('\n|') >= len(t2) + 1 and r'\begin{tabular}' in tex and tex.count(r'\\') >= len(t2) + 1
    cx = (root/'tables/smoke/complexity.md').read_text()
    assert 'EDSR' in cx and '43.09' in cx and '1852.5' in cx
    report = (root/'runs/smoke/REPORT.md').read_text()
    for st in plan('smoke'): assert f'| {st.name} |' in report


def test_rerun_is_cached(smoke):
    root = smoke[0]
    out, secs = _run(root)
    assert out.count('up to date') == len(plan('smoke')), out
