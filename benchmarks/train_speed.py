"""Training patches/s and inference seconds per megapixel at the `cpu` profile's size, by memory layout.

The network of a hand-written improved-space cell at the `cpu` profile's size (C, K, batch, HR patch
from `TrainConfig.PROFILES['cpu']`), x4, one training step = forward, L1, backward, Adam (as
`idarts.train` does it) on random batches. Three layouts, ratios against the first:

- `nchw`: activations and weights contiguous (the network's `channels_last=False`);
- `auto`: the network's default (`channels_last=None`: NHWC activations on CPU, NCHW elsewhere),
  which is what `TrainConfig(channels_last=False)` trains with;
- `channels_last`: weights and batches NHWC too (`TrainConfig(channels_last=True)`).

Inference: seconds per output megapixel for a 128x128 LR input (512x512 out), no grad. With
`--bf16` the same is timed under bfloat16 autocast; with `--compile` the `auto` layout is also timed
under `torch.compile` (inductor; compile time printed, not counted). The training step's FLOPs
(`FlopCounterMode`, grouped-conv weight gradients counted right, see `search_step.py`) give the
effective GFLOP/s of each variant, against a 2048x2048 fp32 matmul peak measured in the same run. Also times the real data stream (`StepPatches`
on T91 + BSD200) when the data is present, to show whether loading limits training.

    python benchmarks/train_speed.py [--steps 5] [--warmup 1] [--threads 1] [--device cpu] [--bf16] [--compile]

Measured 2026-12-01 (2-core AMD EPYC, one thread, `--steps 3 --compile`, 4.35 GFLOP per step): nchw 53.7,
auto 104.3 (1.94x, 28.4 GFLOP/s = 31% of a 93 GFLOP/s matmul peak), channels_last 95.5 patches/s;
auto under torch.compile 20.3 patches/s (0.19x of auto; inference 0.43x) after 197 s of compilation:
the cpu profile trains eager.
"""
import argparse, os, time
import torch
import torch.nn.functional as F
from idarts.core import get_device, hardware, make_config, set_seed
from idarts.genotype import Genotype
from idarts.sr_net import build_model, count_params, model_spec
from idarts.train import TrainConfig
from search_step import matmul_peak, step_flops  # benchmarks/ is on sys.path when this file is run as a script

GENOTYPE = Genotype([('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 2), ('skip_connect', 0),
                     ('dil_conv_3x3', 3), ('sep_conv_3x3', 2), ('dil_conv_5x5', 4), ('skip_connect', 1)], space='improved')
LAYOUTS = ('nchw', 'auto', 'channels_last')


def _model(cfg, layout, dev, compiled=False):
    set_seed(0)
    m = build_model(model_spec('darts', genotype=GENOTYPE, cells=cfg.cells, channels=cfg.channels, scale=cfg.scale))
    m.channels_last = {'nchw': False, 'auto': None, 'channels_last': True}[layout]
    mf = torch.channels_last if layout == 'channels_last' else torch.contiguous_format
    m = m.to(dev, memory_format=mf)
    return (torch.compile(m) if compiled else m), mf


def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()


def train_step(cfg, layout, dev, bf16=False, compiled=False):
    "A function doing one training step of the network in `layout`."
    m, mf = _model(cfg, layout, dev, compiled)
    opt = torch.optim.Adam(m.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(1); p = cfg.patch_hr // cfg.scale
    x = torch.rand(cfg.batch, 3, p, p, generator=g).to(dev, memory_format=mf)
    y = torch.rand(cfg.batch, 3, cfg.patch_hr, cfg.patch_hr, generator=g).to(dev, memory_format=mf)
    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16): out = m(x)
        loss = F.l1_loss(out.float(), y); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return step


def train_rate(cfg, layout, dev, steps=5, warmup=1, bf16=False, compiled=False) -> float:
    "Training patches per second (random batches, data loading not timed)."
    step = train_step(cfg, layout, dev, bf16, compiled)
    for _ in range(warmup): step()
    _sync(dev); t = time.perf_counter()
    for _ in range(steps): step()
    _sync(dev)
    return cfg.batch * steps / (time.perf_counter() - t)


@torch.no_grad()
def infer_s_per_mp(cfg, layout, dev, side=128, reps=3, bf16=False, compiled=False) -> float:
    "Seconds per output (HR) megapixel for one `side`x`side` LR image."
    m, mf = _model(cfg, layout, dev, compiled); m.eval()
    x = torch.rand(1, 3, side, side).to(dev, memory_format=mf)
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16): m(x)
    _sync(dev); t = time.perf_counter()
    for _ in range(reps):
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16): m(x)
    _sync(dev)
    return (time.perf_counter() - t) / reps / ((side * cfg.scale) ** 2 / 1e6)


def data_rate(cfg, n=64) -> float | None:
    "Patches per second of the real training stream (`StepPatches`), or None without the data."
    import warnings
    from idarts.core import IdartsError
    from idarts.train import train_dataset
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore'); t = time.perf_counter(); ds = train_dataset(cfg)
            print(f"data set build (load + MATLAB LR of every image): {time.perf_counter() - t:.1f} s")
    except IdartsError: return None
    ds[0]; t = time.perf_counter()
    for q in range(1, n + 1): ds[q]
    return n / (time.perf_counter() - t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=5); ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--device', default='cpu')
    ap.add_argument('--bf16', action='store_true', help='also time bfloat16 autocast')
    ap.add_argument('--compile', action='store_true', help="also time the 'auto' layout under torch.compile")
    ap.add_argument('--profile', default='cpu', help="TrainConfig profile whose sizes are timed (default: cpu)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    cfg = make_config(TrainConfig, a.profile, genotype='-')
    m, _ = _model(cfg, 'nchw', dev)
    print(f"train step at profile {a.profile!r}: improved cell, C{cfg.channels} K{cfg.cells} x{cfg.scale}, "
          f"{count_params(m) / 1e3:.0f}k params, batch {cfg.batch}, HR patch {cfg.patch_hr}; {a.steps} timed steps "
          f"after {a.warmup}; {hardware()}")
    peak = matmul_peak(dev)
    gflop = step_flops(lambda i: train_step(cfg, 'nchw', dev)()) / 1e9
    print(f"one training step: {gflop:.2f} GFLOP; 2048^2 fp32 matmul peak {peak:.1f} GFLOP/s")
    variants = [(l, False, False) for l in LAYOUTS] + ([(l, True, False) for l in LAYOUTS] if a.bf16 else [])
    variants += [('auto', False, True)] if a.compile else []
    print(f"{'layout':22s} {'train patches/s':>16s} {'ratio':>6s} {'GFLOP/s':>8s} {'% peak':>7s} {'infer s/MP':>11s} {'ratio':>6s}")
    base, rates = None, {}
    for layout, bf16, compiled in variants:
        t = time.perf_counter()
        r = train_rate(cfg, layout, dev, a.steps, a.warmup, bf16, compiled)
        s = infer_s_per_mp(cfg, layout, dev, bf16=bf16, compiled=compiled)
        if compiled: print(f"(torch.compile: first steps incl. compilation and timing took {time.perf_counter() - t:.0f} s)")
        base = base or (r, s)
        if not compiled: rates[layout, bf16] = r
        name = layout + (' +bf16' if bf16 else '') + (' +compile' if compiled else '')
        rate = gflop * r / cfg.batch
        print(f"{name:22s} {r:16.1f} {r / base[0]:6.2f} {rate:8.2f} {100 * rate / peak:7.1f} {s:11.3f} {base[1] / s:6.2f}",
              flush=True)
    d = data_rate(cfg)
    if d is not None:
        print(f"data stream (StepPatches, {', '.join(cfg.data)}): {d:.0f} patches/s = {d / rates['auto', False]:.1f}x "
              f"the training rate of 'auto' (what TrainConfig trains with)")
    print("ratios: > 1 is faster than nchw (training: patches/s ratio; inference: time ratio nchw/variant)")


if __name__ == '__main__':
    main()
