"""Stages on GPUs (issue 25): each stage's process sees only its own devices (the real papermill executor, three GPUs
named on this CPU), and a training stage with `--gpus-per-train 2` trains under torchrun with two gloo processes."""
import json, os, subprocess, sys, threading, time
from pathlib import Path

import pytest
import torch

from idarts.core import load_checkpoint, load_json, make_config
from idarts.genotype import Genotype
from idarts.reproduce import _execute, plan, reproduce
from idarts import train as T

ENV_KEYS = ('CUDA_VISIBLE_DEVICES', 'IDARTS_TRAIN_PROCS')
PROBE = {'cells': [
    {'cell_type': 'code', 'execution_count': None, 'metadata': {'tags': ['parameters']}, 'outputs': [], 'source': "record = ''"},
    {'cell_type': 'code', 'execution_count': None, 'metadata': {}, 'outputs': [],
     'source': f"import json, os, time\njson.dump({{k: os.environ.get(k) for k in {ENV_KEYS!r}}}, open(record, 'w'))"}],
    'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}}, 'nbformat': 4, 'nbformat_minor': 5}


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg', PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


def _write_outputs(params, cwd):
    for st in plan(params['profile']):
        if st.params == params:
            for o in st.outputs: (Path(cwd)/o).parent.mkdir(parents=True, exist_ok=True); (Path(cwd)/o).write_text('x')


def test_each_stage_process_sees_only_its_devices(tmp_path, monkeypatch):
    """Every smoke stage runs the real executor (papermill, a kernel) on a probe notebook that records its environment:
    a training gets 2 of the 3 GPUs and 2 processes, any other stage 1 GPU, and no two stages running at once share one."""
    monkeypatch.setenv('PATH', _env()['PATH'])
    probe = tmp_path/'probe.ipynb'; probe.write_text(json.dumps(PROBE))
    nbd = tmp_path/'nbs'; nbd.mkdir()
    for s in plan('smoke'): (nbd/s.notebook).write_text(json.dumps({'cells': [{'source': s.notebook}]}))
    spans, lock = {}, threading.Lock()
    def probing(nb_in, nb_out, params, cwd, env=None):
        n = Path(nb_out).stem
        with lock: spans[n] = [time.time(), None]
        _execute(probe, nb_out, dict(record=str(Path(nb_out).with_suffix('.env.json'))), cwd, env)
        _write_outputs(params, cwd)
        with lock: spans[n][1] = time.time()
    root = tmp_path/'root'
    reproduce('smoke', root=root, nb_dir=nbd, executor=probing, quiet=True, gpus=['0', '1', '2'], gpus_per_train=2)
    seen = {n: json.loads((root/f'runs/smoke/notebooks/{n}.env.json').read_text()) for n in spans}
    assert sorted(seen) == sorted(s.name for s in plan('smoke'))
    for n, e in seen.items():
        train = n.startswith('train_')
        assert len(e['CUDA_VISIBLE_DEVICES'].split(',')) == (2 if train else 1), (n, e)
        assert e['IDARTS_TRAIN_PROCS'] == ('2' if train else None), (n, e)
        assert load_json(root/f'runs/smoke/stages/{n}.json')['devices'] == e['CUDA_VISIBLE_DEVICES'].split(',')
    pairs = [(a, b) for a in spans for b in spans if a < b and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]]
    assert pairs, 'no two stages ran side by side'
    for a, b in pairs:
        assert not set(seen[a]['CUDA_VISIBLE_DEVICES'].split(',')) & set(seen[b]['CUDA_VISIBLE_DEVICES'].split(',')), (a, b, seen[a], seen[b])
    print({n: e['CUDA_VISIBLE_DEVICES'] for n, e in seen.items()})


def test_cpu_only_stage_gets_no_device_variables(tmp_path):
    "Without GPUs (this machine) and one process per training, the executor is called as before: no environment at all."
    if torch.cuda.is_available(): pytest.skip('a machine with GPUs places stages on them')
    nbd = tmp_path/'nbs'; nbd.mkdir()
    for s in plan('smoke'): (nbd/s.notebook).write_text(json.dumps({'cells': [{'source': s.notebook}]}))
    calls = []
    def plain(nb_in, nb_out, params, cwd):   # the old four-argument executor
        calls.append(Path(nb_out).stem); _write_outputs(params, cwd); Path(nb_out).write_text('{}')
    recs = reproduce('smoke', root=tmp_path/'r', nb_dir=nbd, executor=plain, quiet=True)
    assert len(calls) == len(plan('smoke')) and not any('devices' in r or 'nproc' in r for r in recs)


def test_training_stage_under_torchrun_with_two_processes(tmp_path, data_dir):
    """The smoke training stage (the real train.ipynb through `idarts reproduce --gpus-per-train 2`) trains with two gloo
    processes under torchrun: its notebook says so, its record keeps nproc 2, and the weights are those of one process."""
    g = Genotype([('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 2), ('skip_connect', 0),
                  ('dil_conv_3x3', 3), ('sep_conv_3x3', 2), ('dil_conv_5x5', 4), ('skip_connect', 1)], space='improved')
    root = tmp_path/'root'
    gp = root/'runs/smoke/search/improved-s0/genotype.json'; gp.parent.mkdir(parents=True); g.to_json(gp)
    r = subprocess.run([sys.executable, '-m', 'idarts', 'reproduce', '--profile', 'smoke', '--root', str(root),
                        '--stages', 'train_improved_s0', '--gpus-per-train', '2'], capture_output=True, text=True, env=_env(), timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert '[train_improved_s0] running train.ipynb (torchrun, 2 processes) ...' in r.stdout, r.stdout
    nb = (root/'runs/smoke/notebooks/train_improved_s0.ipynb').read_text()
    assert 'training with 2 processes under torchrun (DDP)' in nb
    assert load_json(root/'runs/smoke/stages/train_improved_s0.json')['nproc'] == 2
    cfg = make_config(T.TrainConfig, 'smoke', genotype=str(gp), seed=0)
    torch.set_num_threads(1)
    T.train(cfg, tmp_path/'one', progress=False, nproc=1)
    a, b = load_checkpoint(tmp_path/'one'/'model.pt')['model'], load_checkpoint(root/'runs/smoke/train/improved-s0/model.pt')['model']
    diff = max((a[k] - b[k]).abs().max().item() for k in a if a[k].is_floating_point())
    print(f'train stage under torchrun (2 gloo processes) vs one process: max |weight diff| {diff:.3g}')
    assert diff < 1e-4, diff
