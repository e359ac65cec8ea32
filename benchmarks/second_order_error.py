"""Error of DARTS' finite-difference second-order step against the exact one (double backward), on the cpu-profile supernet.

The second-order (unrolled) hypergradient is dalpha L_val(w', alpha) - eta * H dw', with H dw' the mixed second
derivative of L_trn times dw' = dw' L_val(w', alpha). DARTS takes H dw' by a central finite difference of radius r
(`Architect(fd='central', fd_r=r)`, r = 0.01 by default); `Architect(fd='exact')` takes it by double backward
(`idarts.architect.mixed_hvp_exact`). For each space, on the cpu profile's supernet (`SearchNetwork(16, 3, 4, space)`)
with real T91 patches (train and val halves and streams as `idarts.search._search_setup` makes them, batch 8, LR 16x16,
x4), in float64, at initialisation and after `--steps` first-order search steps (float32, as the search runs them:
an Adam alpha step on a val batch, then an SGD weight step, lr 1e-2, momentum 0.9, weight decay 1e-3, clip 5), prints:

- `term`: the relative error of the finite difference's second-order term eta * H dw' against the exact one;
- `whole`: the error of the whole hypergradient, eta * |H_fd dw' - H dw'| / |exact hypergradient|;
- `|term|/|grad|`: the size of the exact second-order term relative to the whole hypergradient;
- `exact vs ref`: `Architect(fd='exact')`'s hypergradient against differentiating L_val(w'(alpha), alpha) through
  the virtual step with `create_graph` (the definition of DARTS' second-order gradient);

then the seconds of one second-order hypergradient (float32, same process, interleaved rounds, best of each):
`fd='exact'` against `fd='central'`.

    python benchmarks/second_order_error.py [--steps 20] [--rounds 3] [--spaces original improved] [--threads 1]

Measured 2026-12-06 on the shared 2-core AMD EPYC, one thread (29 min wall on a loaded machine, about 6 min of CPU):

| space | steps | exact vs ref | term r=0.01 | whole r=0.01 | term r=0.001 | whole r=0.001 | term r=0.0001 | whole r=0.0001 | |term|/|grad| |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| original | 0 | 1.55e-17 | 7.71e-01 | 5.74e-03 | 1.37e+00 | 1.02e-02 | 3.72e+00 | 2.77e-02 | 7.45e-03 |
| original | 20 | 4.25e-16 | 6.39e-01 | 5.78e-03 | 1.03e+00 | 9.33e-03 | 3.46e+00 | 3.13e-02 | 9.05e-03 |
| improved | 0 | 3.09e-17 | 1.73e-01 | 7.39e-03 | 2.17e-01 | 9.27e-03 | 2.07e-01 | 8.85e-03 | 4.27e-02 |
| improved | 20 | 3.01e-16 | 3.54e+00 | 3.73e-02 | 3.45e+00 | 3.63e-02 | 4.30e+00 | 4.53e-02 | 1.05e-02 |

| space | fd=central s | fd=exact s | exact/central |
|---|---:|---:|---:|
| original | 1.846 | 3.079 | 1.67 |
| improved | 3.987 | 8.921 | 2.24 |

At DARTS' r = 0.01 the finite difference's second-order term is off by 17-354% (a smaller r does not help: the
direction dw' is concentrated on few weights, whose perturbation crosses ReLU / max-pool / L1 kinks), but that term is
only 0.7-4.3% of the hypergradient at eta = 1e-2, so the whole hypergradient is off by 0.6-3.7%. The exact step costs
1.7-2.2x DARTS' (timed while two searches shared the machine): its double backward runs the depthwise convolutions'
backward of backward, which is slow on CPU.
"""
import argparse, time
import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call
from idarts.architect import Architect, _flat, hessian_vector_product, mixed_hvp_exact
from idarts.core import hardware, make_config, set_seed
from idarts.data import PatchDataset, list_images, split_images
from idarts.search import SearchConfig, search_stream
from idarts.search_net import SearchNetwork

RS = (1e-2, 1e-3, 1e-4)


def rel(a, b) -> float: return (_flat(a) - _flat(b)).norm().item() / _flat(b).norm().item()


def streams(cfg):
    "The train and val patch streams of a search with `cfg` (as `_search_setup`)."
    paths = [p for name in cfg.data for p in list_images(name)][:cfg.n_images]
    trn_paths, val_paths = split_images(paths, cfg.seed)
    mk = lambda ps: PatchDataset(ps, cfg.scale, cfg.patch_hr // cfg.scale, augment=True, skip_small=True)
    return search_stream(mk(trn_paths), cfg, 0), search_stream(mk(val_paths), cfg, 1)


def unrolled_parts(model, arch, trn, val, eta, wo):
    "dalpha L_val(w', alpha) and dw' L_val(w', alpha) at the virtual step w' (as `Architect.unrolled_grad` takes them)."
    names = [n for n, _ in model.named_weights()]
    wp = [w.requires_grad_() for w in arch.virtual_step(*trn, eta, wo)]
    g = torch.autograd.grad(F.l1_loss(functional_call(model, dict(zip(names, wp)), (val[0],)), val[1]), list(model.alphas()) + wp)
    n = len(list(model.alphas()))
    return list(g[:n]), list(g[n:])


def reference_grad(model, wo, mom, wd, eta, trn, val):
    "dalpha L_val(w'(alpha), alpha), differentiating through the virtual step (create_graph)."
    names, weights = [n for n, _ in model.named_weights()], list(model.weights())
    gw = torch.autograd.grad(model.loss(*trn), weights, create_graph=True)
    buf = lambda w: wo.state[w]['momentum_buffer'] if w in wo.state and 'momentum_buffer' in wo.state[w] else torch.zeros_like(w)
    wp = [w - eta * (mom * buf(w) + g + wd * w) for w, g in zip(weights, gw)]
    return torch.autograd.grad(F.l1_loss(functional_call(model, dict(zip(names, wp)), (val[0],)), val[1]), list(model.alphas()))


def errors(model, wo, cfg, trn, val) -> dict:
    "The finite difference's errors against the exact step, in float64, at the model's current state (model left in float32)."
    eta, mom, wd = cfg.w_lr, cfg.w_momentum, cfg.w_weight_decay
    model.double()
    for st in wo.state.values():
        if 'momentum_buffer' in st: st['momentum_buffer'] = st['momentum_buffer'].double()
    trn, val = [x.double() for x in trn], [x.double() for x in val]
    try:
        ax = Architect(model, mom, wd, order='second', fd='exact')
        da, dw = unrolled_parts(model, ax, trn, val, eta, wo)
        h_ex = mixed_hvp_exact(model, dw, *trn)
        _, g_x = ax.unrolled_grad(*trn, *val, eta, wo)
        assert rel(g_x, [a - eta * h for a, h in zip(da, h_ex)]) < 1e-12
        row = {'exact vs ref': rel(g_x, reference_grad(model, wo, mom, wd, eta, trn, val))}
        for r in RS:
            h_fd = hessian_vector_product(model, dw, *trn, r=r)
            row[f'term r={r:g}'] = rel(h_fd, h_ex)
            row[f'whole r={r:g}'] = eta * (_flat(h_fd) - _flat(h_ex)).norm().item() / _flat(g_x).norm().item()
        row['|term|/|grad|'] = eta * _flat(h_ex).norm().item() / _flat(g_x).norm().item()
        return row
    finally:
        model.float()
        for st in wo.state.values():
            if 'momentum_buffer' in st: st['momentum_buffer'] = st['momentum_buffer'].float()


def time_ratio(model, wo, cfg, trn, val, rounds) -> tuple:
    "Best seconds of one second-order hypergradient (float32), fd='central' and fd='exact', interleaved rounds."
    archs = {fd: Architect(model, cfg.w_momentum, cfg.w_weight_decay, order='second', fd=fd) for fd in ('central', 'exact')}
    best = {fd: float('inf') for fd in archs}
    for fd, a in archs.items(): a.hypergradient(*trn, *val, cfg.w_lr, wo)   # warm-up
    for _ in range(rounds):
        for fd, a in archs.items():
            t = time.perf_counter()
            a.hypergradient(*trn, *val, cfg.w_lr, wo)
            best[fd] = min(best[fd], time.perf_counter() - t)
    return best['central'], best['exact']


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=20, help='first-order search steps before the second measurement')
    ap.add_argument('--rounds', type=int, default=3, help='timing rounds (best of each)')
    ap.add_argument('--spaces', nargs='+', default=['original', 'improved'])
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    cfg = make_config(SearchConfig, 'cpu', data=('T91',))
    print(f"second-order error, SearchNetwork({cfg.channels}, {cfg.cells}, {cfg.scale}), T91 patches batch {cfg.batch} "
          f"LR {cfg.patch_hr // cfg.scale}, eta {cfg.w_lr}, float64; {a.threads} thread(s); {hardware()}\n")
    cols = ['exact vs ref'] + [f'{k} r={r:g}' for r in RS for k in ('term', 'whole')] + ['|term|/|grad|']
    rows, times = [], {}
    for space in a.spaces:
        set_seed(cfg.seed)
        trn_s, val_s = streams(cfg)
        model = SearchNetwork(cfg.channels, cfg.cells, cfg.scale, space)
        wo = torch.optim.SGD(model.weights(), lr=cfg.w_lr, momentum=cfg.w_momentum, weight_decay=cfg.w_weight_decay)
        arch = Architect(model, cfg.w_momentum, cfg.w_weight_decay, a_lr=cfg.a_lr, a_weight_decay=cfg.a_weight_decay)
        probe = next(trn_s), next(val_s)                       # the batches the errors are measured on
        rows.append((space, 0, errors(model, wo, cfg, *probe)))
        for _ in range(a.steps):
            (tl, th), (vl, vh) = next(trn_s), next(val_s)
            arch.step(tl, th, vl, vh, cfg.w_lr, wo)
            wo.zero_grad(set_to_none=True)
            model.loss(tl, th).backward()
            torch.nn.utils.clip_grad_norm_(model.weights(), cfg.grad_clip)
            wo.step()
        probe = next(trn_s), next(val_s)
        rows.append((space, a.steps, errors(model, wo, cfg, *probe)))
        times[space] = time_ratio(model, wo, cfg, *probe, a.rounds)
    print('| space | steps | ' + ' | '.join(cols) + ' |')
    print('|---|---:|' + '---:|' * len(cols))
    for space, steps, row in rows: print(f'| {space} | {steps} | ' + ' | '.join(f'{row[c]:.2e}' for c in cols) + ' |')
    print(f'\nOne second-order hypergradient, float32, after {a.steps} steps (best of {a.rounds}):\n')
    print('| space | fd=central s | fd=exact s | exact/central |')
    print('|---|---:|---:|---:|')
    for space, (tc, te) in times.items(): print(f'| {space} | {tc:.3f} | {te:.3f} | {te / tc:.2f} |')


if __name__ == '__main__':
    main()
