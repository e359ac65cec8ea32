"""A search killed with SIGKILL in the middle of an epoch and resumed ends exactly where an uninterrupted one does, with
the remedies that draw from torch's global generator (P-DARTS' skip dropout, SDARTS-RS' noise) as well: weights, alphas,
log, genotype and the generators' states.

Driven through the `idarts search` command (idarts.cli) in subprocesses, on CPU with one thread, with the
`smoke` profile stretched to a few steps per epoch so that the kill lands inside an epoch."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures('data_dir')   # T91 under the data root

SETS = ['--set', 'epochs=4', '--set', 'steps_per_epoch=5']  # 5 steps: epochs end inside a pass of the data
CLI = [sys.executable, '-c', 'import sys; from idarts.cli import main; sys.exit(main())', 'search']


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONHASHSEED='0')


def _run(args, **kw):
    return subprocess.run(CLI + args + ['-q'], env=_env(), capture_output=True, text=True, timeout=120, **kw)


def _log(run):
    p = run/'log.jsonl'
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else []


def _final(run):
    ck = torch.load(run/'checkpoint.pt', weights_only=True)
    return ck['epoch'], ck['model'], ck['a_optim'], ck['rng']


def _strip(recs):
    return [{k: v for k, v in r.items() if k != 'seconds'} for r in recs]


REMEDIES = {'plain': [], 'pdarts': ['--set', 'space=original', '--set', 'pdarts_skip_dropout=0.7'],
            'sdarts-rs': ['--set', 'space=original', '--set', 'sdarts_eps=0.3']}


@pytest.mark.parametrize('remedy', REMEDIES)
def test_sigkill_mid_epoch_then_resume_is_exact(tmp_path, remedy):
    ref, cut, sets = tmp_path/'ref', tmp_path/'cut', SETS + REMEDIES[remedy]
    r = _run(['--profile', 'smoke', '--out', str(ref)] + sets)
    assert r.returncode == 0, r.stderr

    p = subprocess.Popen(CLI + ['--profile', 'smoke', '--out', str(cut), '-q'] + sets, env=_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while len(_log(cut)) < 2 and p.poll() is None and time.time() - t0 < 90: time.sleep(0.02)
    assert p.poll() is None, 'the search ended before it could be killed'
    time.sleep(min(0.5 * _log(cut)[1]['seconds'], 2.))   # about half-way into epoch 2
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL
    n_before = len(_log(cut))
    assert n_before < 5, 'the kill came after the last epoch'
    assert not (cut/'genotype.json').exists()
    ck = torch.load(cut/'checkpoint.pt', weights_only=True)
    assert ck['streams']['train']['pos'] != 0   # the resumed data streams start inside a pass

    r = _run(['--resume', str(cut)])
    assert r.returncode == 0, r.stderr
    (e1, m1, a1, g1), (e2, m2, a2, g2) = _final(ref), _final(cut)
    assert e1 == e2 == 4
    assert torch.equal(g1['torch'], g2['torch']) and g1['python'] == g2['python']   # restarting the streams drew nothing
    assert torch.equal(m1['alpha_normal'], m2['alpha_normal'])
    assert all(torch.equal(m1[k], m2[k]) for k in m1)
    assert torch.equal(a1['state'][0]['exp_avg'], a2['state'][0]['exp_avg'])
    assert _strip(_log(ref)) == _strip(_log(cut))
    assert (ref/'genotype.json').read_text() == (cut/'genotype.json').read_text()


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    run = tmp_path/'run'
    r = _run(['--profile', 'smoke', '--out', str(run), '--set', 'epochs=1'])
    assert r.returncode == 0, r.stderr
    cfg = json.loads((run/'config.json').read_text()); cfg['config']['w_lr'] = 0.5
    (run/'config.json').write_text(json.dumps(cfg))           # a hand-edited config no longer matches the checkpoint
    r = _run(['--resume', str(run)])
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert 'checkpoint.pt' in r.stderr and "different ['w_lr']" in r.stderr
