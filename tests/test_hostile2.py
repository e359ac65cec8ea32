"""A hostile but ordinary user, second pass (issue 22): one test per row of the issue's table. Each asserts the one
`idarts: error:` line (or the corrected output) and that the user's files are byte-identical afterwards."""
import hashlib, json, os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from test_hostile import GENO, _cmd, _env, _img, idarts, one_line

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
def test_row04_data_lr_keeps_the_users_file(tmp_path, data_dir):
    mine = tmp_path/'mine'; mine.mkdir(); (mine/'babyx4.png').write_bytes(b'my own picture')
    before = tree(mine)
    one_line(idarts('data', 'lr', 'Set5', '--scale', '4', '--out', mine), f'{mine/"babyx4.png"}: exists', '--overwrite')
    assert tree(mine) == before
    r = idarts('data', 'lr', 'Set5', '--scale', '4', '--out', mine, '--overwrite'); assert r.returncode == 0, r.stderr
    assert len(list(mine.iterdir())) == 5


def test_row05_data_lr_refuses_the_sets_own_folder(tmp_path, data_dir):
    hr = tmp_path/'data'/'benchmark'/'Set5'/'HR'; hr.mkdir(parents=True)
    for p in sorted((data_dir/'benchmark'/'Set5'/'HR').iterdir()): (hr/p.name).write_bytes(p.read_bytes())
    before = tree(hr)
    for extra in ([], ['--overwrite']):
        one_line(idarts('data', 'lr', 'Set5', '--scale', '4', '--out', hr, *extra, env=dict(IDARTS_DATA=str(tmp_path/'data'))),
                 f'--out {hr}: is the folder of the Set5 images', 'choose another folder')
    assert tree(hr) == before


# --- row 6: eval never writes its CSV over the model it evaluates ------------------------------------------------------
def test_row06_eval_out_is_never_the_model(tmp_path, data_dir):
    m = _tiny_model(tmp_path/'m.pt'); run = tmp_path/'run'; run.mkdir(); _tiny_model(run/'model.pt')
    before = tree(tmp_path)
    one_line(idarts('eval', '--model', m, '--sets', 'Set5', '--out', m, '--overwrite'), f'--out {m}: is a file of the model being evaluated')
    one_line(idarts('eval', '--model', run, '--sets', 'Set5', '--out', run/'model.pt', '--overwrite'), 'is a file of the model being evaluated')
    assert tree(tmp_path) == before


# --- row 7: EXIF orientation applied (CLI and API) ---------------------------------------------------------------------
def test_row07_exif_orientation_is_applied(tmp_path):
    import idarts as pkg
    a = (np.random.default_rng(0).random((12, 20, 3)) * 255).astype(np.uint8)
    ex = Image.Exif(); ex[0x0112] = 6
    Image.fromarray(a).save(tmp_path/'r.png', exif=ex)
    before = tree(tmp_path)
    r = idarts('upscale', tmp_path/'r.png', '--model', 'bicubic', '--scale', '2', '--out', tmp_path/'o')
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path/'o'/'r_x2.png').size == (24, 40)              # upright: 12 wide, 20 high, doubled
    assert pkg.upscale(tmp_path/'r.png', 'bicubic', scale=2).size == (24, 40)
    assert pkg.upscale(Image.open(tmp_path/'r.png'), 'bicubic', scale=2).size == (24, 40)
    assert {k: v for k, v in tree(tmp_path).items() if not k.startswith('o/')} == before


# --- rows 8-9: PIL images through the same checks as files ------------------------------------------------------------
@pytest.mark.parametrize('img,words', [
    (lambda: Image.fromarray(np.full((8, 8), 40000, np.uint16)), '16-bit image (mode I;16) is not supported'),
    (lambda: Image.fromarray(np.full((8, 8), .5, np.float32)), '32-bit image (mode F) is not supported'),
    (lambda: Image.fromarray(np.dstack([np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 100, np.uint8)])), 'has transparent pixels (64 with alpha < 255)'),
], ids=['row08-16bit', 'row08-modeF', 'row09-rgba'])
def test_row08_09_pil_images_are_checked_like_files(img, words):
    import idarts as pkg
    with pytest.raises(pkg.IdartsError, match=r'upscale: the PIL image: ' + words.replace('(', r'\(').replace(')', r'\)')):
        pkg.upscale(img(), 'bicubic', scale=2)


# --- rows 10-11: untrusted JSON: genotypes and .safetensors sidecars ---------------------------------------------------
@pytest.mark.parametrize('text,words', [
    (json.dumps({**GENO, 'space': ['improved']}), "'space' must be a space name (text)"),
    (json.dumps({**GENO, 'space': {'a': 1}}), "'space' must be a space name"),
    (json.dumps({**GENO, 'concat': None}), "'concat' must be the list [2, 3, 4, 5], got None"),
    ('[' * 100000 + ']' * 100000, 'JSON nested too deeply'),
], ids=['row10-space-list', 'row10-space-object', 'row10-concat-null', 'row10-deep'])
def test_row10_bad_genotype_json_is_one_line(tmp_path, text, words):
    (tmp_path/'g.json').write_text(text)
    one_line(idarts('info', '--genotype', tmp_path/'g.json', '--cells', '2', '--channels', '8'), f"{tmp_path/'g.json'}: {words}")


def _tiny_safetensors(tmp_path):
    from idarts.api import export
    m = _tiny_model(tmp_path/'m.pt')
    return export(m, tmp_path/'x.safetensors')


@pytest.mark.parametrize('side,words', [
    (b'{not json', 'x.json: not valid JSON'), (b'[1, 2]', 'x.json: not an idarts model description'),
    (b'\xff\xfe{}', 'x.json: not UTF-8'), ('scale', "scale='4' must be a whole number from 2 to 4"),
    ('channels', 'channels=-3 must be a whole number'), ('channels16', 'channels=16.5 must be a whole number'),
    ('channels2', 'channels=200000 must be a whole number from 1 to 4096'),
], ids=['row11-notjson', 'row11-list', 'row11-utf8', 'row11-scale-str', 'row11-neg', 'row11-float', 'row11-huge'])
def test_row11_bad_sidecar_is_one_line(tmp_path, side, words):
    f = _tiny_safetensors(tmp_path)
    spec = json.loads(__import__('safetensors').safe_open(str(f), 'pt').metadata()['idarts_spec'])
    bad = dict(scale=dict(spec, scale='4'), channels=dict(spec, channels=-3), channels16=dict(spec, channels=16.5),
               channels2=dict(spec, channels=200000))
    (tmp_path/'x.json').write_bytes(side if isinstance(side, bytes) else json.dumps(dict(spec=bad[side])).encode())
    before = tree(tmp_path)
    _img(tmp_path/'a.png', 8, 8)
    one_line(idarts('upscale', tmp_path/'a.png', '--model', f, '--out', tmp_path/'o'), words)
    assert {k: v for k, v in tree(tmp_path).items() if k != 'a.png'} == before


# --- row 12: search --resume of an incomplete checkpoint, or of a training run ----------------------------------------
def test_row12_resume_errors_are_one_line(tmp_path, data_dir):
    from test_hostile import FAST
    run = tmp_path/'run'
    r = idarts('search', '--out', run, *FAST, '--set', 'epochs=2'); assert r.returncode == 0, r.stderr
    ck = torch.load(run/'checkpoint.pt', weights_only=True); ck['epoch'] = 1
    del ck['a_optim']; torch.save(ck, run/'checkpoint.pt')
    (run/'genotype.json').unlink()
    before = tree(run)
    one_line(idarts('search', '--resume', run, '-q'), f"{run/'checkpoint.pt'}: not a complete search checkpoint (no 'a_optim' entry)")
    ck['a_optim'] = {}; ck['model'] = {('renamed.' + k): v for k, v in ck['model'].items()}; torch.save(ck, run/'checkpoint.pt')
    before = tree(run)
    one_line(idarts('search', '--resume', run, '-q'), 'not a complete search checkpoint (parts that do not fit this search)')
    assert tree(run) == before
    tr = tmp_path/'tr'; tr.mkdir(); (tr/'config.json').write_text(json.dumps(dict(kind='train', config={'profile': 'smoke'})))
    one_line(idarts('search', '--resume', tr, '-q'), f'--resume {tr}: this is a train run, not a search run', f'idarts train --resume {tr}')


# --- row 13: the output's size is checked before a large upscale starts (no gigabytes allocated) ----------------------
def _big_png_header(path, w, h):
    "A PNG that declares w x h pixels and holds almost nothing: the header trick (decoding it would fail, reading its size does not)."
    import struct, zlib
    def chunk(k, d): return struct.pack('>I', len(d)) + k + d + struct.pack('>I', zlib.crc32(k + d) & 0xffffffff)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
                     chunk(b'IDAT', zlib.compress(b'\x00' * 100)) + chunk(b'IEND', b''))


def test_row13_output_size_checked_before_upscaling(tmp_path):
    import resource
    _big_png_header(tmp_path/'big.png', 12000, 12000)
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
    r = subprocess.run(_cmd('upscale', tmp_path/'big.png', '--model', 'bicubic', '--out', tmp_path/'o'), capture_output=True,
                       text=True, env=_env(), timeout=120, preexec_fn=limit)
    one_line(r, f"{tmp_path/'big.png'}: the x4 output (48000x48000 pixels, 6.4 GiB as 8-bit) does not fit the memory left",
             'upscale a crop or a smaller image')
    assert not (tmp_path/'o'/'big_x4.png').exists()


# --- row 14: counts have upper bounds -----------------------------------------------------------------------------------
def test_row14_huge_epochs_is_refused(tmp_path):
    one_line(idarts('train', '--arch', 'edsr-baseline', '--profile', 'smoke', '--out', tmp_path/'r', '--set', 'epochs=99999999999999999999'),
             'epochs=99999999999999999999: must be >= 1 and <= 1000000000')
    assert not (tmp_path/'r'/'log.jsonl').exists()


# --- row 15: API argument errors raise pkg.IdartsError with one sentence --------------------------------------------
def test_row15_api_argument_errors(tmp_path):
    import idarts as pkg
    from idarts.core import IdartsError
    assert pkg.IdartsError is IdartsError
    cases = [(lambda: pkg.load('improved-cpu', device='gpu7'), "device='gpu7': not a device torch knows"),
             (lambda: pkg.upscale(np.zeros((8, 8, 3), np.uint8), 'bicubic', tile=2.5), 'upscale: tile=2.5 must be a whole number'),
             (lambda: pkg.upscale(np.zeros((0, 0, 3), np.uint8), 'bicubic'), 'upscale: the image is empty (0x0 pixels)'),
             (lambda: pkg.export(torch.nn.Conv2d(3, 3, 1), tmp_path/'c.safetensors'), 'export: Conv2d has no idarts model spec')]
    if not torch.cuda.is_available(): cases.append((lambda: pkg.load('improved-cpu', device='cuda'), 'sees no CUDA GPU'))
    for f, words in cases:
        with pytest.raises(pkg.IdartsError) as e: f()
        assert words in str(e.value) and '\n' not in str(e.value), (words, str(e.value))
    assert not (tmp_path/'c.safetensors').exists()


# --- row 16: clear lines: file-size limit, huge PNG, --out a file, IDARTS_DATA a file, a pickle with code ---------------
def test_row16_unclear_messages_are_clear(tmp_path):
    class Evil:
        def __reduce__(self): return (print, ('pwned',))
    torch.save({'model': Evil()}, tmp_path/'evil.pt')
    _img(tmp_path/'a.png', 8, 8); (tmp_path/'afile').write_text('x')
    before = tree(tmp_path)
    r = idarts('upscale', tmp_path/'a.png', '--model', tmp_path/'evil.pt', '--out', tmp_path/'o')
    one_line(r, f"{tmp_path/'evil.pt'}: refused: it holds Python objects beyond tensors"); assert 'pwned' not in r.stdout
    one_line(idarts('data', 'lr', 'Set5', '--scale', '4', '--out', tmp_path/'afile'), f"--out {tmp_path/'afile'}: is a file, not a directory")
    one_line(idarts('eval', '--model', 'bicubic', '--sets', 'Set5', env=dict(IDARTS_DATA=str(tmp_path/'afile'))),
             f"data root {tmp_path/'afile'}: is a file, not a folder")
    Image.MAX_IMAGE_PIXELS  # the bomb limit: 100000 x 100000 is far over it
    _big_png_header(tmp_path/'huge.png', 100000, 100000)
    line = one_line(idarts('upscale', tmp_path/'huge.png', '--model', 'bicubic', '--out', tmp_path/'o2'), f"{tmp_path/'huge.png'}: too large to read",
                    'downscale or crop it first')
    assert 're-download' not in line
    assert {k: v for k, v in tree(tmp_path).items() if k != 'huge.png'} == before


def test_row16_file_size_limit_names_the_file(tmp_path, data_dir):
    import resource
    from test_hostile import FAST
    lim = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    r = subprocess.run(_cmd('search', '--out', tmp_path/'r', *FAST), capture_output=True, text=True, env=_env(), timeout=300, preexec_fn=lim)
    one_line(r, f"{tmp_path/'r'/'checkpoint.pt'}: cannot write it (File too large)")


# --- row 17: an animated GIF is named in a notice; a folder keeps going past a bad image --------------------------------
def test_row17_frames_notice_and_keep_going(tmp_path):
    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (10, 200)]
    frames[0].save(tmp_path/'anim.gif', save_all=True, append_images=frames[1:])
    r = idarts('upscale', tmp_path/'anim.gif', '--model', 'bicubic', '--scale', '2', '--out', tmp_path/'o'); assert r.returncode == 0, r.stderr
    assert f"idarts: note: {tmp_path/'anim.gif'}: has 2 frames (animated or multi-page); only the first is used" in r.stderr
    d = tmp_path/'pics'; d.mkdir()
    for n in 'abcde': _img(d/f'{n}.png', 8, 10)
    (d/'c.png').write_bytes(b'\x89PNG\r\n\x1a\nbroken')
    before = tree(d)
    line = one_line(idarts('upscale', d, '--model', 'bicubic', '--scale', '2', '--out', tmp_path/'o3'),
                    '1 of 5 images failed (the other 4 are in', f"cannot decode {d/'c.png'}")
    assert sorted(p.name for p in (tmp_path/'o3').iterdir()) == ['a_x2.png', 'b_x2.png', 'd_x2.png', 'e_x2.png']
    one_line(idarts('upscale', d, '--model', 'bicubic', '--scale', '2', '--out', tmp_path/'o4', '--fail-fast'), f"cannot decode {d/'c.png'}")
    assert tree(d) == before
