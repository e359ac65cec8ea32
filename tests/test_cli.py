"The `idarts` command end to end: data, info, eval, upscale, and one-line errors for bad input."
import csv, os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def idarts(*args, env=None, ok=True):
    e = {**os.environ, 'OMP_NUM_THREADS': '1', **(env or {})}
    r = subprocess.run([sys.executable, '-m', 'idarts.cli', *args], capture_output=True, text=True, env=e, timeout=600)
    if ok: assert r.returncode == 0, r.stdout + r.stderr
    return r


def one_line_error(r, *words):
    assert r.returncode == 2, r.stdout + r.stderr
    assert 'Traceback' not in r.stderr, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith('idarts: error:')]  # (progress bars may precede it)
    assert len(lines) == 1, r.stderr
    for w in words: assert w in lines[0], (w, lines[0])


def test_help_lists_subcommands():
    out = idarts('--help').stdout
    for c in ('data', 'info', 'search', 'train', 'eval', 'upscale', 'reproduce'): assert c in out


def test_data_list_shows_present_and_missing():
    out = idarts('data', 'list').stdout
    assert 'Set5' in out and 'present' in out and 'DIV2K' in out and 'missing' in out
    assert 'data.vision.ee.ethz.ch' in out  # how to get DIV2K


def test_data_lr_writes_edsr_names_and_keeps_gray(tmp_path):
    idarts('data', 'lr', 'Set14', '--scale', '3', '--out', str(tmp_path))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 14 and 'bridgex3.png' in names
    assert Image.open(tmp_path/'bridgex3.png').mode == 'L' and Image.open(tmp_path/'babyx3.png' if (tmp_path/'babyx3.png').exists() else tmp_path/'comicx3.png').mode == 'RGB'


def test_missing_data_set_is_one_line_with_the_fix(tmp_path):
    r = idarts('data', 'lr', 'Set5', '--scale', '4', '--out', str(tmp_path/'o'), env=dict(IDARTS_DATA=str(tmp_path)), ok=False)
    one_line_error(r, 'Set5', 'idarts data download Set5')


def test_unknown_set_and_bad_override(tmp_path):
    one_line_error(idarts('data', 'lr', 'Set6', '--scale', '4', '--out', str(tmp_path), ok=False), 'Set6', 'Set5')
    one_line_error(idarts('search', '--profile', 'smoke', '--out', str(tmp_path/'r'), '--set', 'epochz=2', ok=False), 'epochz')
    one_line_error(idarts('search', '--profile', 'tiny', '--out', str(tmp_path/'r'), ok=False), 'tiny', 'smoke')


def test_info_edsr_matches_the_paper():
    out = idarts('info', '--model', 'edsr', '--scale', '4', '--input', '192').stdout
    assert '43.09' in out and '1852.5' in out


def test_eval_bicubic_set5_x4(tmp_path):
    out = tmp_path/'r.csv'; per = tmp_path/'p.csv'
    idarts('eval', '--model', 'bicubic', '--sets', 'Set5', '--scales', '4', '--out', str(out), '--per-image', str(per))
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ['set', 'scale', 'method', 'psnr', 'ssim', 'n_images']
    assert abs(float(rows[0]['psnr']) - 28.42) < 0.03 and abs(float(rows[0]['ssim']) - 0.8104) < 0.002
    assert len(list(csv.DictReader(open(per)))) == 5


def test_upscale_bad_inputs(tmp_path):
    bad = tmp_path/'broken.png'; bad.write_bytes(b'\x89PNG\r\n\x1a\nnot really')
    one_line_error(idarts('upscale', str(bad), '--model', 'bicubic', '--out', str(tmp_path/'o'), ok=False), 'broken.png')
    one_line_error(idarts('upscale', str(tmp_path/'nothere.png'), '--model', 'bicubic', '--out', str(tmp_path/'o'), ok=False), 'nothere.png')
    one_line_error(idarts('eval', '--model', str(tmp_path/'no_run'), '--sets', 'Set5', ok=False), 'no_run')


def test_module_entry_points_parse_in_the_cli(tmp_path):
    "`python -m idarts reproduce` and `python -m idarts train-worker` (what make and torchrun run): one parser, one-line errors."
    e = {**os.environ, 'OMP_NUM_THREADS': '1'}
    run = lambda cmd, *a: subprocess.run([sys.executable, '-m', 'idarts', cmd, *a], capture_output=True, text=True, env=e, timeout=300)
    one_line_error(run('reproduce', '--seeds', '0'), '--seeds', 'idarts reproduce --help')
    one_line_error(run('reproduce', '--group', 'nope'), 'nope')
    one_line_error(run('train-worker', '--out', str(tmp_path/'r')), '--config', 'idarts train-worker --help')
    one_line_error(run('train-worker', '--config', str(tmp_path/'none.json'), '--out', str(tmp_path/'r')), 'none.json')
    h = run('reproduce', '--help').stdout
    assert all(f in h for f in ('--group', '--seeds', '--root', '--jobs', '--stages')), h
    assert '--resume' in run('train-worker', '--help').stdout
