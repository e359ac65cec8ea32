"""Seconds per search step (alpha step + weight step), first vs second order, both search spaces.

One step = `Architect.step` on a val batch, then an SGD step (momentum, weight decay, grad clip 5) on a
train batch, exactly as `idarts.search` does it. Supernet C16, K4 cells, batch 8, LR patches 24x24, x4,
random data (data loading is not timed), one CPU thread. Prints seconds per step and the ratio
second/first order for each space.

    python benchmarks/search_step.py [--steps 5] [--warmup 1] [--threads 1] [--device cpu]
"""
import argparse, time
import torch
from idarts.architect import Architect
from idarts.core import get_device, hardware, set_seed
from idarts.search_net import SearchNetwork


def time_steps(space, order, C=16, cells=4, batch=8, patch=24, scale=4, steps=3, warmup=1, device='cpu'):
    "Mean seconds per search step after `warmup` steps."
    set_seed(0)
    dev = get_device(device)
    model = SearchNetwork(C, cells, scale, space).to(dev)
    w_optim = torch.optim.SGD(model.weights(), lr=1e-2, momentum=0.9, weight_decay=1e-3)
    arch = Architect(model, 0.9, 1e-3, order=order)
    g = torch.Generator().manual_seed(1)
    def batch_():
        lr = torch.rand(batch, 3, patch, patch, generator=g)
        return lr.to(dev), torch.rand(batch, 3, patch * scale, patch * scale, generator=g).to(dev)
    data = [(batch_(), batch_()) for _ in range(2)]
    def step(i):
        (tl, th), (vl, vh) = data[i % 2]
        arch.step(tl, th, vl, vh, w_optim.param_groups[0]['lr'], w_optim)
        w_optim.zero_grad(set_to_none=True)
        model.loss(tl, th).backward()
        torch.nn.utils.clip_grad_norm_(model.weights(), 5.)
        w_optim.step()
    for i in range(warmup): step(i)
    if dev.type == 'cuda': torch.cuda.synchronize()
    t = time.perf_counter()
    for i in range(steps): step(i)
    if dev.type == 'cuda': torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=5); ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--device', default='cpu')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    print(f"search step, C16 K4 B8 LR24 x4, {a.steps} timed steps after {a.warmup} warm-up; {hardware()}")
    print(f"{'space':10s} {'first s/step':>13s} {'second s/step':>14s} {'second/first':>13s}")
    for space in ('original', 'improved'):
        t1 = time_steps(space, 'first', steps=a.steps, warmup=a.warmup, device=a.device)
        t2 = time_steps(space, 'second', steps=a.steps, warmup=a.warmup, device=a.device)
        print(f"{space:10s} {t1:13.3f} {t2:14.3f} {t2 / t1:13.2f}", flush=True)


if __name__ == '__main__':
    main()
