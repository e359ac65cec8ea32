"""A hostile but ordinary user, second pass (issue 22): one test per row of the issue's table. Each asserts the one
`idarts: error:` line (or the corrected output) and that the user's files are byte-identical afterwards."""
import hashlib, json, os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from test_hostile import DATA, GENO, _cmd, _env, _img, idarts, needs_data, one_line

HOLD = 'import sys, time; from idarts.rundir import RunLock; RunLock(sys.argv[1]).acquire(); print(1, flush=True); time.sleep(120)'


def tree(d):
    "Every file under `d` (recursively, the lock file aside) and the sha256 of its bytes."
    d = Path(d)
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob('*')) if p.is_file() and p.name != '.lock'}


def _user_run(run):
    "A user's own finished search, plus a notes file of theirs."
    run.mkdir(parents=True)
    (run/'config.json').write_text(json.dumps(dict(kind='search', config={'profile': 'smoke'})))
    (run/'genotype.json').write_text(json.dumps(GENO)); (run/'log.jsonl').write_text('{"epoch": 0}\n')
    (run/'notes.txt').write_text('my notes on this run')
    return tree(run)


def _tiny_model(path, scale=4):
    from idarts.core import save_checkpoint
    from idarts.sr_net import build_model, model_spec
    torch.manual_seed(0); spec = model_spec('edsr-baseline', cells=1, channels=8, scale=scale)
    save_checkpoint(dict(model=build_model(spec).state_dict(), spec=spec), path, keep_prev=False)
    return path


# --- rows 1-2: FORCE=1 moves the earlier run aside under its lock, and refuses a run in progress ---------------------
def test_row01_force_moves_the_users_run_aside(tmp_path, capsys):
    from idarts.reproduce import reproduce
    run = tmp_path/'runs'/'smoke'/'search'/'improved-s0'
    before = _user_run(run)
    def fake(nb_in, nb_out, params, cwd):   # what the search stage writes
        o = Path(cwd)/params['out']; o.mkdir(parents=True, exist_ok=True)
        (o/'genotype.json').write_text(json.dumps(GENO)); (o/'log.jsonl').write_text('{"epoch": 1}\n')
    reproduce('smoke', force=True, stages=['search_improved_s0'], root=tmp_path, executor=fake, quiet=True)
    aside = [p for p in run.parent.iterdir() if p.name.startswith('improved-s0.old-')]
    assert len(aside) == 1 and tree(aside[0]) == before                   # moved, byte for byte; nothing deleted
    assert f'moved the earlier run in {run} to {aside[0]}' in capsys.readouterr().out
    assert (run/'log.jsonl').read_text() == '{"epoch": 1}\n'


def test_row02_force_refuses_a_run_in_progress(tmp_path):
    run = tmp_path/'runs'/'smoke'/'search'/'improved-s0'
    before = _user_run(run)
    h = subprocess.Popen([sys.executable, '-c', HOLD, str(run)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        h.stdout.readline()
        r = idarts('reproduce', '--profile', 'smoke', '--force', '--stages', 'search_improved_s0', '--root', tmp_path, '--jobs', '1')
        one_line(r, 'stage search_improved_s0', f'{run} is in use by another idarts run (pid {h.pid}', 'wait for it to finish')
    finally: h.kill(); h.wait()
    assert tree(run) == before and sorted(p.name for p in run.parent.iterdir()) == ['improved-s0']
    assert not (tmp_path/'runs'/'smoke'/'stages'/'search_improved_s0.json').exists()   # never "up to date" afterwards


# --- row 3: ship publishes only <space>-s<N> runs, all or nothing ------------------------------------------------------
def test_row03_ship_skips_moved_aside_runs_and_is_all_or_nothing(tmp_path):
    from idarts.api import ship
    from idarts.core import IdartsError
    sr = tmp_path/'runs'/'smoke'/'search'
    for n in ('improved-s0', 'improved-s0.old', 'improved-s0.old-20250101-120000'):
        (sr/n).mkdir(parents=True); (sr/n/'genotype.json').write_text(json.dumps(GENO))
    assert [p.name for p in ship(tmp_path, 'smoke', dest=tmp_path/'zoo')] == ['improved-smoke-s0.json']
    assert sorted(p.name for p in (tmp_path/'zoo'/'genotypes').iterdir()) == ['improved-smoke-s0.json']
    (sr/'original-s1').mkdir(); (sr/'original-s1'/'genotype.json').write_text('{"normal": [["bogus", 0]]}')
    z2 = tmp_path/'zoo2'
    with pytest.raises(IdartsError, match='original-s1/genotype.json'): ship(tmp_path, 'smoke', dest=z2)
    assert not z2.exists()                                                # nothing written before the bad run was found


# --- rows 4-5: data lr never replaces a user's file, never writes into a set ------------------------------------------
@needs_data
def test_row04_data_lr_keeps_the_users_file(tmp_path):
    mine = tmp_path/'mine'; mine.mkdir(); (mine/'babyx4.png').write_bytes(b'my own picture')
    before = tree(mine)
    one_line(idarts('data', 'lr', 'Set5', '--scale', '4', '--out', mine), f'{mine/"babyx4.png"}: exists', '--overwrite')
    assert tree(mine) == before
    r = idarts('data', 'lr', 'Set5', '--scale', '4', '--out', mine, '--overwrite'); assert r.returncode == 0, r.stderr
    assert len(list(mine.iterdir())) == 5


@needs_data
def test_row05_data_lr_refuses_the_sets_own_folder(tmp_path):
    hr = tmp_path/'data'/'benchmark'/'Set5'/'HR'; hr.mkdir(parents=True)
    for p in sorted((Path(DATA)/'benchmark'/'Set5'/'HR').iterdir()): (hr/p.name).write_bytes(p.read_bytes())
    before = tree(hr)
    for extra in ([], ['--overwrite']):
        one_line(idarts('data', 'lr', 'Set5', '--scale', '4', '--out', hr, *extra, env=dict(IDARTS_DATA=str(tmp_path/'data'))),
                 f'--out {hr}: is the folder of the Set5 images', 'choose another folder')
    assert tree(hr) == before


# --- row 6: eval never writes its CSV over the model it evaluates ------------------------------------------------------
@needs_data
def test_row06_eval_out_is_never_the_model(tmp_path):
    m = _tiny_model(tmp_path/'m.pt'); run = tmp_path/'run'; run.mkdir(); _tiny_model(run/'model.pt')
    before = tree(tmp_path)
    one_line(idarts('eval', '--model', m, '--sets', 'Set5', '--out', m, '--overwrite'), f'--out {m}: is a file of the model being evaluated')
    one_line(idarts('eval', '--model', run, '--sets', 'Set5', '--out', run/'model.pt', '--overwrite'), 'is a file of the model being evaluated')
    assert tree(tmp_path) == before
