"""Seconds per search step of each remedy for skip collapse (06b_remedies) relative to plain DARTS, in one process.

One step = what a step of the loop in `idarts.search.search` does: `Architect.step` (first order) on a val batch, then an SGD step
(momentum, weight decay, grad clip 5) on a train batch, with the remedy's hooks for the epoch (`remedy_schedule`,
`set_mixed_ops`, `beta_reg`, `perturbed_forward`). The `cpu` profile's supernet on the original space by default
(C16, K3 cells, batch 8, HR patches 64 = LR 16, x4), random data (loading is not timed), one thread. The variants
are timed in interleaved rounds (the order reversed every other round); the best round of each is reported (the
machine is shared: darts-plus, whose step is the plain one, shows the noise of the ratios).

- darts-minus, beta-darts, pdarts (dropout; the cap costs nothing in the step), sdarts-rs: per-step hooks, timed
  in the middle of a 10-epoch search (epoch 5);
- darts-plus: no per-step work (its rule reads the log once per epoch): ratio 1 by construction, fewer epochs when it stops;
- darts-es: a plain step plus, once per epoch, the exact Hessian extremes on `hessian_patches` eval patches
  (`hessian_extremes`, Lanczos); reported per epoch as (steps * step + Hessian) / (steps * plain step) with
  `--steps-per-epoch` (default 36: about the cpu profile's T91 + BSD200 train half, 2 patches an image, batch 8).

    python benchmarks/remedies_cost.py [--steps 3] [--warmup 1] [--rounds 2] [--threads 1] [--space original]
                                       [--C 16] [--cells 3] [--batch 8] [--patch-lr 16] [--steps-per-epoch 36]

Measured on the shared 2-core AMD EPYC, one thread (`--rounds 4 --steps 2`): plain 1.97 s/step; darts-minus 1.02x,
beta-darts 1.00x, pdarts 1.07x, darts-plus 0.99x (the plain step: the noise), sdarts-rs 1.05x, darts-es 1.04x per step
plus 45 s of exact Hessian per epoch (23 products on 4 patches): 1.68x per epoch of 36 steps. An earlier run with
the plain step always first (`--rounds 2`) gave 0.82-0.94x for every remedy: order effects of ~20 %.
"""
import argparse, copy, time
import torch
import torch.nn.functional as F

from idarts.core import make_config
from idarts.search import SearchConfig, make_architect
from idarts.search_net import SearchNetwork
from idarts.hessian import hessian_extremes
from idarts.remedies import beta_reg, perturbed_forward, remedy_schedule, set_mixed_ops
from idarts.reproduce import REMEDIES

def step(model, arch, w_optim, cfg, rem, batch):
    trn_lr, trn_hr, val_lr, val_hr = batch
    if rem: set_mixed_ops(model, rem.get('aux_beta', 0.), rem.get('skip_drop', 0.))
    reg = (lambda al, lam=rem['beta_lambda']: lam * beta_reg(al)) if 'beta_lambda' in rem else None
    arch.step(trn_lr, trn_hr, val_lr, val_hr, w_optim.param_groups[0]['lr'], w_optim, reg=reg)
    w_optim.zero_grad(set_to_none=True)
    sr = model(trn_lr) if 'sdarts_eps' not in rem else perturbed_forward(model, trn_lr, rem['sdarts_eps'])
    F.l1_loss(sr, trn_hr).backward()
    torch.nn.utils.clip_grad_norm_(list(model.weights()), cfg.grad_clip)
    w_optim.step()

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for k, v in dict(steps=3, warmup=1, rounds=2, threads=1, C=16, cells=3, batch=8, patch_lr=16, steps_per_epoch=36, epoch=5).items():
        ap.add_argument(f"--{k.replace('_', '-')}", type=int, default=v)
    ap.add_argument('--space', default='original')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    base = make_config(SearchConfig, 'cpu', space=a.space, channels=a.C, cells=a.cells, batch=a.batch, patch_hr=a.patch_lr * 4)
    batch = [torch.rand(a.batch, 3, a.patch_lr, a.patch_lr), torch.rand(a.batch, 3, 4 * a.patch_lr, 4 * a.patch_lr)] * 2
    net0 = SearchNetwork(a.C, a.cells, 4, a.space)
    variants = {'plain': {}} | {r: over for r, over in REMEDIES.items()}
    runs = {}
    for name, over in variants.items():
        cfg = make_config(SearchConfig, 'cpu', space=a.space, channels=a.C, cells=a.cells, batch=a.batch, patch_hr=a.patch_lr * 4, **over)
        model = copy.deepcopy(net0).train()
        w_optim = torch.optim.SGD(model.weights(), lr=cfg.w_lr, momentum=cfg.w_momentum, weight_decay=cfg.w_weight_decay)
        runs[name] = (cfg, model, make_architect(model, cfg), w_optim, remedy_schedule(cfg, a.epoch))
    best = {n: float('inf') for n in variants}
    for i in range(a.rounds):   # the order alternates between rounds: no variant always runs first
        for n, (cfg, model, arch, wo, rem) in (list(runs.items()) if i % 2 == 0 else list(runs.items())[::-1]):
            for _ in range(a.warmup): step(model, arch, wo, cfg, rem, batch)
            t0 = time.perf_counter()
            for _ in range(a.steps): step(model, arch, wo, cfg, rem, batch)
            best[n] = min(best[n], (time.perf_counter() - t0) / a.steps)
    cfg, model = runs['darts-es'][0], runs['darts-es'][1]
    lr, hr = batch[2][:cfg.hessian_patches], batch[3][:cfg.hessian_patches]
    t0 = time.perf_counter(); h = hessian_extremes(model, lr, hr, weight_decay=cfg.a_weight_decay); t_h = time.perf_counter() - t0
    p = best['plain']
    print(f"{a.space} space, C{a.C} K{a.cells} batch {a.batch} LR {a.patch_lr}x{a.patch_lr} x4, {a.threads} thread(s), "
          f"best of {a.rounds} rounds x {a.steps} steps; schedule of epoch {a.epoch} of {base.epochs}")
    print(f"{'variant':<12} {'s/step':>8} {'vs plain':>9}")
    for n, s in best.items():
        note = ''
        if n == 'darts-es':
            note = (f"  + exact Hessian {t_h:.2f} s/epoch ({h['hvps']} products, {cfg.hessian_patches} patches): "
                    f"{(a.steps_per_epoch * s + t_h) / (a.steps_per_epoch * p):.2f}x per epoch of {a.steps_per_epoch} steps")
        if n == 'darts-plus': note = '  (no per-step work; fewer epochs when it stops)'
        print(f"{n:<12} {s:8.3f} {s / p:8.2f}x{note}")

if __name__ == '__main__': main()
