"The dry run (`make reproduce PROFILE=... DRY_RUN=1`, `idarts.dryrun`) at the smoke profile's sizes: seconds."
import json, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_make_dry_run_branch():
    "`make reproduce DRY_RUN=1` calls the dry run, and without it the reproduction as before."
    dry = subprocess.run(['make', '-n', 'reproduce', 'PROFILE=smoke', 'DRY_RUN=1'], cwd=ROOT, capture_output=True, text=True)
    plain = subprocess.run(['make', '-n', 'reproduce', 'PROFILE=smoke'], cwd=ROOT, capture_output=True, text=True)
    assert '-m idarts dryrun --profile smoke --out tables/smoke' in dry.stdout, dry.stdout + dry.stderr
    assert '-m idarts reproduce --group paper --profile smoke' in plain.stdout and 'dryrun' not in plain.stdout


def test_dry_run_smoke(tmp_path):
    "Two stages in their own processes: records, projections and the table are written; a tiny budget scales the batch and checkpoints."
    r = subprocess.run([sys.executable, '-m', 'idarts', 'dryrun', '--profile', 'smoke', '--steps', '1', '--out', str(tmp_path),
                        '--stages', 'train_improved,eval_original', '--budget-gb', '1e-6'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path/'dryrun.json').read_text())
    tr, ev = d['stages']
    assert (tr['stage'], ev['stage']) == ('train_improved', 'eval_original')
    # over the budget: measured at batch 1 with per-cell checkpointing, scaled to the profile's batch and to a plain step
    assert tr['measured_batch'] == 1 < tr['batch'] and tr['checkpointing'] == 'cell' and tr['rss_gb'] is None
    assert tr['act_gb'] == pytest.approx(tr['act_gb_measured'] * tr['batch'])
    assert tr['rss_gb_measured'] > tr['act_gb_measured'] > 0 and tr['cpu_s'] > 0 and ev['cpu_s'] > 0
    assert tr['flops_measured'] > tr['flops'] / tr['batch']  # the checkpointed step recomputes the cells' forward
    assert tr['cpu_s'] == pytest.approx(tr['cpu_s_measured'] * tr['flops'] / tr['flops_measured'])
    assert tr['full_flops'] > tr['steps'] * tr['flops']
    assert tr['TITAN Xp h'] > tr['H100 SXM h'] > 0
    md = (tmp_path/'dryrun.md').read_text()
    assert '| train_improved |' in md and '| eval_original |' in md and '(1)' in md


def test_dry_run_bad_stage():
    r = subprocess.run([sys.executable, '-m', 'idarts', 'dryrun', '--profile', 'smoke', '--stages', 'nope'], capture_output=True, text=True)
    assert r.returncode != 0 and 'unknown dry-run stages' in r.stderr and 'Traceback' not in r.stderr
