"Training across processes and kills: DDP equivalence (gloo, 2 processes), exact resume after SIGKILL, the NaN guard."
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest
import torch

from idarts.core import IdartsError, set_seed, config_dict, config_from_dict, load_checkpoint, make_config, read_jsonl
from idarts.genotype import Genotype
from idarts import train as T

IMPROVED = Genotype([('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 2), ('skip_connect', 0),
                     ('dil_conv_3x3', 3), ('sep_conv_3x3', 2), ('dil_conv_5x5', 4), ('skip_connect', 1)], space='improved')

pytestmark = pytest.mark.usefixtures('data_dir')   # T91 and Set5 under the data root


@pytest.fixture(autouse=True)
def one_thread():
    "In-process training on one thread (like the subprocesses): faster than contended threads on small CPUs."
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _env():
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}


ORIGINAL = Genotype([('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_5x5', 2),
                     ('dil_conv_3x3', 1), ('skip_connect', 2), ('avg_pool_3x3', 0), ('dil_conv_5x5', 3)], space='original')


def _config(tmp_path, genotype=IMPROVED, **over):
    g = tmp_path/'genotype.json'; genotype.to_json(g)
    cfg = make_config(T.TrainConfig, 'smoke', genotype=str(g), **over)
    p = tmp_path/f'cfg-{len(list(tmp_path.glob("cfg-*.json")))}.json'
    p.write_text(json.dumps(config_dict(cfg)))
    return cfg, p


def _train_cmd(cfg_path, out, *extra, nproc=1):
    pre = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}'] if nproc > 1 else [sys.executable]
    return pre + ['-m', 'idarts', 'train-worker', '--config', str(cfg_path), '--out', str(out), '-q', *extra]


def _finish(p, timeout=240):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, out.decode() + err.decode()


def _weights(run):
    return load_checkpoint(Path(run)/'model.pt')['model']


@pytest.mark.parametrize('genotype', [IMPROVED, ORIGINAL], ids=['improved', 'original'])
def test_ddp_two_processes_match_one(tmp_path, genotype):
    "2 gloo processes x half the batch == 1 process x the whole batch, after 6 Adam steps (batch norm synchronised)."
    cfg, c = _config(tmp_path, genotype, epochs=2, iters_per_epoch=3, batch=4, n_val=1)
    one = subprocess.Popen(_train_cmd(c, tmp_path/'one'), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    two = subprocess.Popen(_train_cmd(c, tmp_path/'two', nproc=2), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _finish(one); _finish(two)
    a, b = _weights(tmp_path/'one'), _weights(tmp_path/'two')
    assert a.keys() == b.keys()
    set_seed(cfg.seed); init = T.build_model(T.config_spec(cfg)).state_dict()
    moved = max((a[k] - init[k]).abs().max().item() for k in a)
    diff = max((a[k] - b[k]).abs().max().item() for k in a)
    mean = (sum((a[k] - b[k]).abs().sum().item() for k in a if a[k].is_floating_point())
            / sum(a[k].numel() for k in a if a[k].is_floating_point()))
    assert moved > 1e-3, moved            # training did change the weights...
    # ...identically in both runs, up to float rounding (Adam turns a rounding difference in a near-zero
    # gradient into at most ~lr = 1e-3; unsynchronised batch norm would differ by ~0.3)
    assert diff < 1e-4 and mean < 1e-7, (diff, mean)
    la, lb = read_jsonl(tmp_path/'one'/'log.jsonl'), read_jsonl(tmp_path/'two'/'log.jsonl')
    assert [r['epoch'] for r in lb] == [1, 2]
    for ra, rb in zip(la, lb): assert abs(ra['loss'] - rb['loss']) < 1e-5   # the logged loss is the global batch's


def _adam_moments(run):
    "Adam's first and second moments in `run`'s checkpoint, by parameter: after one step, 0.1 g and 0.001 g^2 (g the gradient)."
    st = load_checkpoint(Path(run)/'checkpoint.pt')['optimizer']['state']
    return [(st[i]['exp_avg'], st[i]['exp_avg_sq']) for i in sorted(st)]


def test_uneven_shards_three_processes_match_one(tmp_path):
    """The paper's batch 16 on 3 processes (shares 6, 5, 5, losses weighted by `shard_weight`) takes the one-process
    step: the same gradient (Adam's moments after one step) and the same weights, up to float rounding."""
    cfg, c = _config(tmp_path, epochs=1, iters_per_epoch=1, batch=16, n_val=1)
    one = subprocess.Popen(_train_cmd(c, tmp_path/'one'), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    three = subprocess.Popen(_train_cmd(c, tmp_path/'three', nproc=3), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _finish(one); _finish(three)
    a, b = _weights(tmp_path/'one'), _weights(tmp_path/'three')
    set_seed(cfg.seed); init = T.build_model(T.config_spec(cfg)).state_dict()
    params = [k for k in a if a[k].is_floating_point() and 'running_' not in k]   # weights (not batch-norm statistics)
    moved = max((a[k] - init[k]).abs().max().item() for k in params)
    diff = max((a[k] - b[k]).abs().max().item() for k in params)
    diff_bn = max((a[k] - b[k]).abs().max().item() for k in a if 'running_' in k)
    ma, mb = _adam_moments(tmp_path/'one'), _adam_moments(tmp_path/'three')
    g_scale = max(m.abs().max().item() for m, _ in ma)
    g_diff = max((m - n).abs().max().item() for (m, _), (n, _) in zip(ma, mb))
    print(f"uneven shards 6,5,5 vs one process, one step: max |weight diff| {diff:.3g} (largest step {moved:.3g}); "
          f"max |gradient diff| {g_diff / 0.1:.3g} (max |gradient| {g_scale / 0.1:.3g}); batch-norm statistics {diff_bn:.3g}")
    assert moved > 1e-4 and diff_bn < 1e-4, (moved, diff_bn)
    # rounding: ~3e-5 of the largest gradient; plain DDP averaging of the 6,5,5 shares (no `shard_weight`): ~3e-2 (tried)
    assert g_diff < 3e-4 * g_scale, (g_diff, g_scale)
    assert diff < 1e-4, diff                 # plain averaging: 2e-3 (Adam's first step flips signs of small gradients)
    la, lb = read_jsonl(tmp_path/'one'/'log.jsonl'), read_jsonl(tmp_path/'three'/'log.jsonl')
    assert abs(la[0]['loss'] - lb[0]['loss']) < 1e-6            # the logged loss is the global batch's mean


def test_batch_smaller_than_processes_is_a_clear_error(tmp_path):
    cfg, c = _config(tmp_path, batch=1)
    r = subprocess.run(_train_cmd(c, tmp_path/'odd', nproc=2), env=_env(), capture_output=True, text=True, timeout=240)
    assert r.returncode != 0 and 'does not split over 2 processes' in r.stderr


def test_resume_after_sigkill_is_exact(tmp_path):
    "Kill -9 a run once the log shows an epoch; --resume ends with the weights of the uninterrupted run, bit for bit."
    cfg, c = _config(tmp_path, epochs=6, iters_per_epoch=15)
    ref = subprocess.Popen(_train_cmd(c, tmp_path/'ref'), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run = tmp_path/'killed'
    p = subprocess.Popen(_train_cmd(c, run), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.time()
    while not ((run/'log.jsonl').exists() and read_jsonl(run/'log.jsonl')):
        assert p.poll() is None, p.communicate()[1].decode()
        assert time.time() - t0 < 120, 'no epoch logged'
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL); p.wait()
    done = len(read_jsonl(run/'log.jsonl'))
    assert not (run/'model.pt').exists() and done < cfg.epochs, 'the run finished before it was killed'
    _finish(subprocess.Popen(_train_cmd(c, run, '--resume'), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    _finish(ref)
    a, b = _weights(tmp_path/'ref'), _weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    la, lb = read_jsonl(tmp_path/'ref'/'log.jsonl'), read_jsonl(run/'log.jsonl')
    assert [r['epoch'] for r in lb] == list(range(1, cfg.epochs + 1))
    assert [r['loss'] for r in la] == [r['loss'] for r in lb]
    assert [r['val_psnr'] for r in la] == [r['val_psnr'] for r in lb]


def test_resume_with_another_network_names_the_checkpoint(tmp_path):
    cfg, c = _config(tmp_path, epochs=1, iters_per_epoch=1, n_val=1)
    T.train(cfg, tmp_path/'run', progress=False)
    other, c2 = _config(tmp_path, epochs=1, iters_per_epoch=1, n_val=1, channels=12)
    r = subprocess.run(_train_cmd(c2, tmp_path/'run', '--resume'), env=_env(), capture_output=True, text=True, timeout=240)
    assert r.returncode == 2 and 'checkpoint.pt: checkpoint holds a different network' in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_nan_guard_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    cfg, _ = _config(tmp_path, epochs=3, iters_per_epoch=2, n_val=1)
    n = {'calls': 0}
    def l1_then_nan(sr, hr):
        n['calls'] += 1
        l = torch.nn.functional.l1_loss(sr, hr)
        return l * float('nan') if n['calls'] == 2 * cfg.iters_per_epoch + 1 else l   # 1st step of epoch 3
    monkeypatch.setitem(T.LOSSES, 'l1', l1_then_nan)
    with pytest.raises(IdartsError, match='not finite') as e:
        T.train(cfg, tmp_path/'nan', progress=False)
    assert 'epoch 3, step 1' in str(e.value) and 'checkpoint.pt (epoch 2)' in str(e.value)
    ck = load_checkpoint(tmp_path/'nan'/'checkpoint.pt')
    assert ck['epoch'] == 2 and not (tmp_path/'nan'/'model.pt').exists()
    assert all(torch.isfinite(v).all() for v in ck['model'].values() if v.is_floating_point())
    assert [r['epoch'] for r in read_jsonl(tmp_path/'nan'/'log.jsonl')] == [1, 2]
    # the intact checkpoint loads and resumes (here with the loss healthy again)
    monkeypatch.setitem(T.LOSSES, 'l1', torch.nn.functional.l1_loss)
    T.train(cfg, tmp_path/'nan', resume=True, progress=False)
    assert load_checkpoint(tmp_path/'nan'/'model.pt')['epoch'] == 3


def test_dataloader_workers_do_not_change_training(tmp_path):
    "The data of a step is a pure function of the step: 2 DataLoader workers train the same weights as none."
    cfg, _ = _config(tmp_path, epochs=1, iters_per_epoch=3, n_val=1)
    T.train(cfg, tmp_path/'w0', progress=False)
    T.train(config_from_dict(T.TrainConfig, {**config_dict(cfg), 'num_workers': 2}), tmp_path/'w2', progress=False)
    a, b = _weights(tmp_path/'w0'), _weights(tmp_path/'w2')
    assert all(torch.equal(a[k], b[k]) for k in a)
