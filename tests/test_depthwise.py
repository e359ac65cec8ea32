"""The fast depthwise backward (`IDARTS_DW_BACKWARD=fast`, nbs/03_ops) gives the gradients PyTorch's own does.

Checked where it matters: a DARTS second-order hypergradient (whose alpha-only passes must skip the weight
gradient without losing anything), the weight gradient of a supernet, both search spaces; and a final network's
training gradient under channels_last. Tolerances are relative to each gradient's norm (float32 sums in
another order)."""
import pytest
import torch

from idarts.architect import Architect
from idarts.core import set_seed
from idarts.ops import DW_BACKWARD_ENV
from idarts.search_net import SearchNetwork


def _flat(xs): return torch.cat([x.reshape(-1) for x in xs])


def _close(a, b, rel=1e-4):
    a, b = _flat(a), _flat(b)
    assert (a - b).norm() <= rel * b.norm(), float((a - b).norm() / b.norm())


def _supernet_grads(space, monkeypatch, mode):
    monkeypatch.setenv(DW_BACKWARD_ENV, mode)
    torch.set_num_threads(1)
    set_seed(0)
    model = SearchNetwork(8, 2, 2, space)
    w_optim = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9)
    arch = Architect(model, 0.9, 3e-4, order='second')
    g = torch.Generator().manual_seed(1)
    trn = torch.rand(2, 3, 12, 12, generator=g), torch.rand(2, 3, 24, 24, generator=g)
    val = torch.rand(2, 3, 12, 12, generator=g), torch.rand(2, 3, 24, 24, generator=g)
    _, dalpha = arch.unrolled_grad(*trn, *val, 0.05, w_optim)
    dw = torch.autograd.grad(model.loss(*trn), list(model.weights()))
    return dalpha, dw


@pytest.mark.parametrize('space', ['improved', 'original'])
def test_second_order_step_matches_native(space, monkeypatch):
    a_native, w_native = _supernet_grads(space, monkeypatch, 'native')
    a_fast, w_fast = _supernet_grads(space, monkeypatch, 'fast')
    _close(w_fast, w_native)
    _close(a_fast, a_native, rel=1e-3)  # the finite difference divides by eps = 0.01 / ||dw'||


def test_training_gradient_matches_native_channels_last(monkeypatch):
    from idarts.genotype import Genotype
    from idarts.sr_net import build_model, model_spec
    geno = Genotype([('sep_conv_5x5', 0), ('dil_conv_3x3', 1), ('dil_conv_5x5', 2), ('skip_connect', 0),
                     ('sep_conv_3x3', 3), ('sep_conv_3x3', 2), ('dil_conv_5x5', 4), ('skip_connect', 1)], space='improved')
    x = torch.rand(2, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    grads = {}
    for mode in ('native', 'fast'):
        monkeypatch.setenv(DW_BACKWARD_ENV, mode)
        set_seed(0)
        m = build_model(model_spec('darts', genotype=geno, cells=2, channels=8, scale=2))
        grads[mode] = torch.autograd.grad(m(x).abs().mean(), list(m.parameters()))
    _close(grads['fast'], grads['native'])


def test_search_command_records_the_switch(tmp_path):
    "`idarts search --dw-backward fast` runs (second order, one-sided) and its run directory says which backward it used."
    import json, os, subprocess, sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    data = os.environ.get('IDARTS_DATA') or str((root.parent/'shared'/'data').resolve())
    if not (Path(data)/'train'/'T91').is_dir(): pytest.skip('needs the T91 images (IDARTS_DATA)')
    env = {k: v for k, v in os.environ.items() if k != DW_BACKWARD_ENV}
    env.update(IDARTS_DATA=data, OMP_NUM_THREADS='1')
    r = subprocess.run([sys.executable, '-m', 'idarts', 'search', '--profile', 'smoke', '--order', 'second-forward',
                        '--dw-backward', 'fast', '--set', 'epochs=1', '--out', str(tmp_path/'run'), '-q'],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert cfg['env']['switches'][DW_BACKWARD_ENV] == 'fast' and cfg['config']['order'] == 'second-forward'
