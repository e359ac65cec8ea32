"""Seconds per search step (alpha step + weight step), first vs second order, both search spaces.

One step = `Architect.step` on a val batch, then an SGD step (momentum, weight decay, grad clip 5) on a
train batch, exactly as `idarts.search` does it. Supernet C16, K4 cells, batch 8, LR patches 24x24, x4 by
default (`--C 64 --batch 16` is the paper's search width and batch), random data (data loading is not timed),
one CPU thread. For each space, in one process, times:

- `first`: first order;
- `second fd=central`: second order with DARTS' central difference (`Architect(fd='central')`, the default);
- `second fd=forward`: second order with the one-sided difference (`Architect(fd='forward')`,
  `SearchConfig(order='second-forward')`: one forward-backward pass fewer, reusing the virtual step's alpha gradient).

and prints seconds per step, the ratios second/first, and the effective GFLOP/s of each step (FLOPs
of one step counted by `torch.utils.flop_counter.FlopCounterMode`, divided by its time) against the
peak of a 2048x2048 fp32 matmul measured in the same run. Rounds are interleaved (`--rounds`), the
best round of each variant is reported (the machine is shared; the minimum is the least disturbed).

    python benchmarks/search_step.py [--steps 3] [--warmup 1] [--rounds 2] [--threads 1] [--device cpu]
                                     [--spaces original improved] [--fd central forward]
                                     [--C 16] [--cells 4] [--batch 8]

Measured 2026-12-02 on the shared 2-core AMD EPYC, one thread; seconds move by up to 1.3x between runs of the
same variant (other tenants), so ranges are over runs:
- C16 K4 B8 (`--steps 2 --rounds 3-5`, 4 runs): first order 0.83-1.08 s; second/first 2.37-2.85 (central),
  2.13-2.85 (forward); FLOPs 2.62x (central) and 2.24x (forward). 12-15 GFLOP/s, 13-20% of the matmul peak.
- C64 K2 B16 (`--C 64 --cells 2 --batch 16 --steps 1-2 --rounds 3-4`, 4 runs of improved, 3 of original): first order 3.9-4.7 s, 32-44 GFLOP/s
  (34-52% of the peak: the 64x64 pointwise convolutions are near the matmul rate); second/first 2.50-2.78 (central),
  2.18-2.57 (forward), FLOPs 2.63x and 2.27x.
The exact second order cannot reach 2.2x on CPU: it runs 4 forward, 4 input-gradient and 3 weight-gradient passes
per step against 2, 2 and 1 (2.2x if every pass cost the same), and a depthwise weight gradient costs 2-7x its
forward pass here (5x5 and dilated kernels: oneDNN's generic grouped path), even compiled.
Tried and not kept (ratios eager/variant, same process): fusing the 4 conv branches of a mixed op
(pointwise convs as one grouped or block-diagonal 1x1 conv, the softmax weights folded into the last
1x1 conv): 0.74-0.87x fwd+bwd; polyphase (space-to-batch) instead of dilated depthwise convs: 0.54-0.72x;
torch.compile of the supernet: 0.81x (benchmarks/compile_supernet.py); 1x1 convolutions as `F.linear` on the
NHWC view: 0.89-1.39x per op (forward and backward), not tried in the step; the depthwise weight gradient as 3x3 windows (4-9 oneDNN calls)
or on polyphase subgrids: slower than the compiled tap sums. A fast depthwise backward (custom autograd.Function:
input gradient as the flipped-kernel forward conv, 5x5 and dilated weight gradients as inductor-compiled tap sums,
weight gradients skipped in alpha-only passes via the autograd engine's execution query; session of 2026-12-02,
commit 131617e): improved space at C64 K2 B16 1.20-1.45x (3 runs), original space 0.92-1.07x, C16 K4 B8 0.71-1.32x,
cpu-profile training 1.0-1.21x: below the 1.3x bar in most settings, so not kept.
"""
import argparse, time
import torch
from idarts.architect import Architect
from idarts.core import get_device, hardware, set_seed
from idarts.dryrun import flop_counter
from idarts.search_net import SearchNetwork


def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()


def make_step(space, order, fd='central', C=16, cells=4, batch=8, patch=24, scale=4, device='cpu'):
    "A `step(i)` function doing one full search step, and its device (the depthwise backward is the one in force when it runs)."
    set_seed(0)
    dev = get_device(device)
    model = SearchNetwork(C, cells, scale, space).to(dev)
    w_optim = torch.optim.SGD(model.weights(), lr=1e-2, momentum=0.9, weight_decay=1e-3)
    arch = Architect(model, 0.9, 1e-3, order=order, fd=fd)
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
    return step, dev


def time_steps(step, dev, steps=3, warmup=1):
    "Mean seconds per call of `step` after `warmup` calls."
    for i in range(warmup): step(i)
    _sync(dev)
    t = time.perf_counter()
    for i in range(steps): step(i)
    _sync(dev)
    return (time.perf_counter() - t) / steps


def step_flops(step) -> int:
    """FLOPs of one call of `step` (convolutions and matmuls, forward and backward), counted by `idarts.dryrun.flop_counter`
    (grouped convolutions' weight gradients counted once, not `groups` times over as torch 2.13's own formula does)."""
    with flop_counter() as fc:
        step(0)
    return fc.get_total_flops()


def matmul_peak(dev, n=2048, reps=3) -> float:
    "GFLOP/s of an n x n fp32 matmul (best of `reps`)."
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    a @ b
    best = float('inf')
    for _ in range(reps):
        _sync(dev)
        t = time.perf_counter()
        a @ b
        _sync(dev)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--rounds', type=int, default=2, help='interleaved rounds; the best round of each variant is shown')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--spaces', nargs='+', default=['original', 'improved'])
    ap.add_argument('--fd', nargs='+', default=['central', 'forward'], choices=['central', 'forward'],
                    help="finite differences of the second order to time (Architect(fd=...))")
    ap.add_argument('--C', type=int, default=16, help='supernet channels (the paper searches with 64)')
    ap.add_argument('--cells', type=int, default=4, help='supernet cells (the paper: 8)')
    ap.add_argument('--batch', type=int, default=8, help='batch size (the paper: 16)')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    peak = matmul_peak(dev)
    size = dict(C=a.C, cells=a.cells, batch=a.batch)
    print(f"search step, C{a.C} K{a.cells} B{a.batch} LR24 x4, {a.steps} timed steps after {a.warmup} warm-up, best of "
          f"{a.rounds} rounds; {hardware()}; 2048^2 fp32 matmul peak {peak:.1f} GFLOP/s")
    print(f"{'space':9s} {'variant':18s} {'s/step':>8s} {'/first':>7s} {'GFLOP/step':>11s} {'GFLOP/s':>8s} {'% peak':>7s}")
    variants = [('first', 'central')] + [('second', fd) for fd in a.fd]
    for space in a.spaces:
        steps = {v: make_step(space, *v, device=a.device, **size) for v in variants}
        best = {v: float('inf') for v in variants}
        for _ in range(a.rounds):
            for v, (step, d) in steps.items(): best[v] = min(best[v], time_steps(step, d, a.steps, a.warmup))
        for v in variants:
            fl = step_flops(make_step(space, *v, device=a.device, **size)[0]) / 1e9
            name = v[0] if v[0] == 'first' else f"second fd={v[1]}"
            rate = fl / best[v]
            print(f"{space:9s} {name:18s} {best[v]:8.3f} {best[v] / best[variants[0]]:7.2f} {fl:11.2f} {rate:8.2f} "
                  f"{100 * rate / peak:7.1f}", flush=True)
    print("/first: seconds per step over the first order's; % peak: effective GFLOP/s over the matmul peak")


if __name__ == '__main__':
    main()
