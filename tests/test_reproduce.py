"The smoke reproduction pipeline end to end (`make reproduce` and `make study` groups): every stage runs, every artifact exists and has content, and a rerun is cached."
import csv, json, os, re, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idarts.reproduce import ABLATION, EVAL_SETS, LONG, LONG_VARIANTS, MAIN_SEEDS, REMEDIES, REMEDY_SEEDS, RETRAINS, SEEDS, STUDY_SEEDS, plan
from idarts.stats import holm, statements, verdict

ROOT = Path(__file__).resolve().parent.parent


def _run(root, *extra):
    env = _env()
    t0 = time.time()
    r = subprocess.run([sys.executable, '-m', 'idarts', 'reproduce', '--profile', 'smoke', '--root', str(root), *extra],
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout, time.time() - t0


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg', PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    """The smoke pipeline, killed (SIGKILL, kernels included) once its first stage is done, then run again to the end."""
    root = tmp_path_factory.mktemp('repro')
    p = subprocess.Popen([sys.executable, '-m', 'idarts', 'reproduce', '--profile', 'smoke', '--root', str(root)],
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


def _group(root, group):
    "Run one more stage group of the smoke profile under `root` (its base stages already done)."
    out, secs = _run(root, '--group', group)
    print(out, f'\nsmoke group {group}: {secs:.1f} s')
    return root, out


@pytest.fixture(scope='module')
def study(smoke):
    "The smoke study (`make study`) on top of the smoke reproduction: its base searches are already done."
    return _group(smoke[0], 'study')


def test_a_killed_run_picks_up_where_it_stopped(smoke):
    _, out, done_before = smoke
    assert done_before and len(done_before) < len(plan('smoke'))
    for name in done_before: assert f'[{name}] up to date' in out, out
    for st in plan('smoke'):
        if st.name not in done_before: assert f'[{st.name}] done' in out, out


def test_submitit_local_executor_gives_the_same_tables(smoke, tmp_path):
    """`--executor submitit-local` (every stage a submitit job, here a local process: the code path of `EXECUTOR=slurm`)
    runs the smoke profile to the tables of the local runner, bit for bit."""
    ref, root = smoke[0], tmp_path/'sub'
    out, secs = _run(root, '--executor', 'submitit-local')
    print(out, f'\nsmoke pipeline through submitit (local jobs): {secs:.1f} s')
    assert out.count('submitted as local job') == len(plan('smoke')), out
    files = lambda r: sorted(str(p.relative_to(r)) for p in (r/'tables/smoke').rglob('*') if p.is_file())
    assert files(ref) == files(root) and files(ref)
    differ = [f for f in files(ref) if (ref/f).read_bytes() != (root/f).read_bytes()]
    assert not differ, differ
    assert (root/'runs/smoke/REPORT.md').exists() and any((root/'runs/smoke/submitit').iterdir())
    print(f'{len(files(ref))} table files identical')


def _outputs_written(root, group):
    "Every output of `group`'s stages exists and is not empty; every PNG among them is a picture, not a blank."
    for st in plan('smoke', group):
        for o in st.outputs:
            p = root/o
            assert p.exists() and p.stat().st_size > 0, o
            if p.suffix == '.png':
                a = np.asarray(Image.open(p).convert('L'), dtype=float)
                assert min(a.shape) > 100 and a.std() > 5, f'{o} looks empty'


def test_every_artifact_exists_and_has_content(smoke):
    root = smoke[0]
    _outputs_written(root, 'paper')
    for f in ('fig2_original_skips.pdf', 'fig4_improved_skips.pdf', 'fig7_training.pdf', 'fig6a_original_cell.svg'):
        assert (root/'figures/smoke'/f).stat().st_size > 1000, f
    assert (root/'runs/smoke/REPORT.md').exists() and (root/'figures/smoke/REPORT.md').exists()


def test_tables_have_expected_rows_and_columns(smoke):
    root = smoke[0]
    sets = list(EVAL_SETS['smoke'])
    res = list(csv.DictReader(open(root/'tables/smoke/results.csv')))
    assert {'set', 'scale', 'method', 'psnr', 'ssim', 'n_images', 'seed'} <= set(res[0])
    assert {r['method'] for r in res} == {'Bicubic', 'Original DARTS', 'Ours'}
    for m in ('Original DARTS', 'Ours'):  # every seed searched, trained and evaluated
        assert sorted(float(r['seed']) for r in res if r['method'] == m) == list(range(SEEDS['smoke'])) * len(sets)
    assert {r['set'] for r in res} == set(sets)
    for r in res: assert 10 < float(r['psnr']) < 60 and 0 < float(r['ssim']) <= 1
    t2 = list(csv.DictReader(open(root/'tables/smoke/table2.csv')))
    assert [c for c in t2[0]][:2] == ['method', 'source'] and all(s in t2[0] for s in sets)
    methods = [r['method'] for r in t2]
    for m in ('A+', 'SRCNN', 'VDSR', 'SRResNet', 'Bicubic', 'Original DARTS', 'Ours'): assert m in methods
    ours = [r for r in t2 if r['method'] == 'Ours' and r['source'].startswith('computed')][0]
    assert ours['source'] == f"computed, {SEEDS['smoke']} seeds" and ' ± ' in ours[sets[0]]
    seeds = list(csv.DictReader(open(root/'tables/smoke/table2_seeds.csv')))
    assert len(seeds) == 2 * SEEDS['smoke'] and all(s in seeds[0] for s in sets)
    md = (root/'tables/smoke/table2.md').read_text(); tex = (root/'tables/smoke/table2.tex').read_text()
    assert md.count('\n|') >= len(t2) + 1 and r'\begin{tabular}' in tex and tex.count(r'\\') >= len(t2) + 1
    cx = (root/'tables/smoke/complexity.md').read_text()
    assert 'EDSR' in cx and '43.09' in cx and '1852.5' in cx
    report = (root/'runs/smoke/REPORT.md').read_text()
    for st in plan('smoke'): assert re.search(rf'^\| {re.escape(st.name)} +\|', report, re.M), st.name   # one table row per stage


def _num(s: str) -> float: return float(s) if s.strip() else float('nan')   # a CSV cell; empty: nan


def test_verdicts_are_computed_from_the_intervals(smoke):
    root = smoke[0]
    diffs = list(csv.DictReader(open(root/'tables/smoke/differences.csv')))
    notes = (root/'tables/smoke/notes.md').read_text()
    assert [d['set'] for d in diffs] == list(EVAL_SETS['smoke'])
    assert notes.count('Margin \u03b4 = ') == 1 and 'Margin \u03b4 = ' in (root/'tables/smoke/differences.md').read_text()
    for d in diffs:
        lo, hi, lo90, hi90, paper = (float(d[k]) for k in ('lo', 'hi', 'lo90', 'hi90', 'paper'))
        assert lo <= lo90 <= float(d['mean']) <= hi90 <= hi and int(d['n_a']) == int(d['n_b']) == SEEDS['smoke']
        assert d['interval'] in ('welch', 'paired') and (d['interval'] == 'welch' or float(d['r']) > 0)
        assert d['verdict'] == verdict(lo, hi, lo90, hi90, paper), d
        assert [d[k] for k in ('sign', 'magnitude', 'equivalence')] == list(statements(lo, hi, lo90, hi90, paper).values()), d
        line = next(l for l in notes.splitlines() if l.startswith(f"- {d['set']}: Ours \u2212 Original DARTS = "))
        assert f"{float(d['mean']):+.2f} dB" in line and (f"{d['n_a']} + {d['n_b']} seeds" if d['interval'] == 'welch' else f"{d['n_a']} pairs") in line and f"Verdict: {d['verdict']}" in line, line
        assert 'Conditional on the trained networks' in line and d['image_method'] in line and float(d['image_lo']) <= float(d['image_hi'])
        assert (_num(d['p']) < 0.05) == (d['sign'] != 'not shown'), d   # the sign's p-value agrees with its interval
    assert [_num(d['p_holm']) for d in diffs] == pytest.approx(list(holm([_num(d['p']) for d in diffs])), abs=3e-4, nan_ok=True)   # 4 decimals in the CSV
    m = sum(d['p'].strip() != '' for d in diffs)   # the sets with an interval form the family
    assert notes.count(f"The {m} sets as one family (Holm's step-down adjustment" if m else 'No set has an interval') == 1


def test_study_outputs(study):
    root, out = study
    _outputs_written(root, 'study')
    so = (root/'tables/smoke/second_order.md').read_text()
    assert 'second order, exact (seed 0)' in so and 'exact mixed product' in so and 'second_order_error' in so
    for sp in ('original', 'improved'):   # the exact Hessian of every epoch of every main search, lambda_min <= lambda_max
        for k in range(MAIN_SEEDS['smoke']):
            h = [json.loads(l) for l in open(root/f'runs/smoke/hessian/{sp}-s{k}.jsonl')]
            log = [json.loads(l) for l in open(root/f'runs/smoke/search/{sp}-s{k}/log.jsonl')]
            assert [x['epoch'] for x in h] == [x['epoch'] for x in log] and all(x['lmin'] <= x['lmax'] for x in h)
            assert [x['skip_count'] for x in h] == [x['skip_count'] for x in log]
    hs = (root/'tables/smoke/hessian.md').read_text()
    assert 'λmax (last)' in hs and 'λmin (last)' in hs and 'indefinite' in hs and 'What λmax says' in hs and 'rank correlation' in hs
    es = (root/'tables/smoke/darts_es.md').read_text()
    assert es.count('| original |') == es.count('| improved |') == MAIN_SEEDS['smoke']
    res = list(csv.DictReader(open(root/'tables/smoke/study/results.csv')))
    nets = {(r['method'], r['seed'], r.get('train_seed', '')) for r in res if r['method'] != 'Bicubic'}
    assert len(nets) == 2 * (MAIN_SEEDS['smoke'] + RETRAINS['smoke']), nets
    diffs = list(csv.DictReader(open(root/'tables/smoke/study/differences.csv')))
    assert {(int(d['n_a']), int(d['n_b'])) for d in diffs} == {(MAIN_SEEDS['smoke'],) * 2}
    assert 'search' in (root/'tables/smoke/study/notes.md').read_text() and 'training' in (root/'tables/smoke/study/notes.md').read_text()
    assert 'figures/smoke/hessian_eig.png' in {o for st in plan('smoke', 'study') for o in st.outputs}   # checked by _outputs_written
    report = (root/'runs/smoke/REPORT.md').read_text()
    study_part = report.split('## The study')[1].split('## The search length')[0]
    assert 'hessian_eig.png' in study_part and '_missing' not in study_part and 'Not run yet' not in study_part
    assert 'computed from git commit' in report or 'computed from several commits' in report


@pytest.fixture(scope='module')
def long_group(study):
    "The smoke long-horizon group (`make study-long`) on top of the study."
    return _group(study[0], 'long')


def test_long_outputs(long_group):
    root, _ = long_group
    _outputs_written(root, 'long')
    epochs, seeds = LONG['smoke']
    for v in LONG_VARIANTS:
        for k in range(seeds):
            log = [json.loads(l) for l in open(root/f'runs/smoke/long/{v}-s{k}/log.jsonl')]
            assert log[-1]['epoch'] == epochs
    long = (root/'tables/smoke/long.md').read_text()
    assert all(f'| {v} ' in long for v in LONG_VARIANTS) and 'DARTS-ES' in long
    abl = list(csv.DictReader(open(root/'tables/smoke/ablation.csv')))
    assert [r['variant'] for r in abl] == ['original', 'improved', *ABLATION]
    # the make-reproduce seeds of original and improved, whether or not make study has added more
    assert [int(r['seeds']) for r in abl] == [SEEDS['smoke']] * 2 + [STUDY_SEEDS['smoke']] * len(ABLATION)
    for r in abl:  # the table is computed from the logs
        logs = [json.loads(l) for l in open(root/f"runs/smoke/{'search' if r['variant'] in ('original', 'improved') else 'study'}/{r['variant']}-s0/log.jsonl")]
        assert r['final_skips_per_seed'].split(', ')[0] == str(logs[-1]['skip_count'])
    findings = (root/'tables/smoke/ablation_findings.md').read_text()
    assert findings.count('\n- ') + findings.startswith('- ') >= len(ABLATION)
    assert 'figures/smoke/ablation_skips.png' in {o for st in plan('smoke', 'long') for o in st.outputs}   # checked by _outputs_written
    report = (root/'runs/smoke/REPORT.md').read_text()
    long_part = report.split('## The search length')[1]
    assert 'ablation_skips.png' in long_part and 'long_skips.png' in long_part and 'Not run yet' not in long_part.split('## Remedies')[0]


@pytest.fixture(scope='module')
def remedies_group(smoke):
    "The smoke remedies group (`make remedies`) on top of the smoke reproduction."
    return _group(smoke[0], 'remedies')


def test_remedies_outputs(remedies_group):
    root, _ = remedies_group
    _outputs_written(root, 'remedies')
    rows = list(csv.DictReader(open(root/'tables/smoke/remedies.csv')))
    assert [r['method'] for r in rows] == ['original DARTS (plain)', 'improved space (paper)', *REMEDIES]
    cost = {r['method']: r['search cost vs plain DARTS'] for r in rows}
    assert cost['original DARTS (plain)'] == '1.00x' and cost['improved space (paper)'] == 'not timed here'
    assert all(re.fullmatch(r'\d+\.\d\dx', cost[n]) for n in REMEDIES), cost
    n = REMEDY_SEEDS['smoke']
    for r in rows:  # the skip counts are the returned genotypes'
        assert len(r['final skips (per seed)'].split(', ')) == n
    md = (root/'tables/smoke/remedies.md').read_text()
    # the default search is unchanged: plain DARTS searched again in this group repeats the reference logs
    assert "its logs repeat the reference searches' (every value but the seconds): yes, every seed." in md, md[-600:]
    findings = (root/'tables/smoke/remedies_findings.md').read_text()
    assert findings.count('- ') == len(REMEDIES) + 3 and "Remedies shown to match or beat the paper's space on every set" in findings
    assert all(f'- {n} ' in findings for n in REMEDIES), findings   # one verdict sentence per remedy
    assert 'figures/smoke/remedies_skips.png' in {o for st in plan('smoke', 'remedies') for o in st.outputs}   # checked by _outputs_written
    assert 'remedies_skips.png' in (root/'runs/smoke/REPORT.md').read_text().split('## Remedies')[1]


def test_remedies_copy_equal_trainings(remedies_group):
    "A remedy's training is copied from the reference of its seed exactly when its cell's genotype.json has the reference's bytes."
    root, _ = remedies_group
    report, copied = (root/'runs/smoke/REPORT.md').read_text(), []
    for r in REMEDIES:
        for k in range(REMEDY_SEEDS['smoke']):
            same = (root/f'runs/smoke/remedies/{r}-s{k}/genotype.json').read_bytes() == (root/f'runs/smoke/search/original-s{k}/genotype.json').read_bytes()
            tr, rec = root/f'runs/smoke/train/remedy-{r}-s{k}', json.loads((root/f'runs/smoke/stages/train_remedy_{r}_s{k}.json').read_text())
            assert (tr/'reused.json').exists() == same == ('reused' in rec), (r, k)
            assert (f'train_remedy_{r}_s{k} (copied from train_original_s{k}: equal inputs)' in report) == same
            if same:
                copied.append(f'{r} s{k}')
                assert (tr/'model.pt').read_bytes() == (root/f'runs/smoke/train/original-s{k}/model.pt').read_bytes()
    assert f"plain DARTS's, the same config; `idarts.reproduce.reusable`): {', '.join(copied) or 'none'}." in (root/'tables/smoke/remedies.md').read_text()


def test_rerun_is_cached(study):
    root = study[0]
    for group in ('paper', 'study', 'long'):
        if group == 'long' and not (root/'runs/smoke/long').exists(): continue
        out, secs = _run(root, '--group', group)
        assert out.count('up to date') == len(plan('smoke', group)), out
