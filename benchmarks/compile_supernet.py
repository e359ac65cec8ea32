"""torch.compile (inductor) on the cpu-profile supernet: eager vs compiled fwd+bwd step, and the compile time.

Measured once on the 2-core AMD EPYC (one thread, improved space, C16 K3, batch 8, LR 16, x4): eager 0.28-0.39 s,
compiled 0.48 s per step (0.81x) after 169 s of compilation, so the cpu profile runs eager. Ratios within one run.
Run: `.venv/bin/python benchmarks/compile_supernet.py [--space original]`.
"""
import argparse, time

import torch
import torch.nn.functional as F

from idarts.search_net import SearchNetwork


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--space', default='improved'); ap.add_argument('--steps', type=int, default=5)
    a = ap.parse_args(argv)
    torch.set_num_threads(1); torch.manual_seed(0)
    m = SearchNetwork(16, 3, 4, a.space)
    x, y = torch.rand(8, 3, 16, 16), torch.rand(8, 3, 64, 64)

    def step(f): F.l1_loss(f(x), y).backward()

    def bench(f):
        step(f); t = time.perf_counter()
        for _ in range(a.steps): step(f)
        return (time.perf_counter() - t) / a.steps

    eager = bench(m)
    mc = torch.compile(m)
    t = time.perf_counter(); step(mc); compile_s = time.perf_counter() - t
    comp = bench(mc)
    eager2 = bench(m)
    print(f"{a.space}: eager {min(eager, eager2):.3f} s/step, compiled {comp:.3f} s/step "
          f"({min(eager, eager2) / comp:.2f}x), first compiled step (compilation) {compile_s:.0f} s")


if __name__ == '__main__':
    main()
