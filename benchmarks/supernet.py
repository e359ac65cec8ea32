"""Step time and peak memory of the search supernet: checkpointing none vs cell vs mixedop.

One search step = forward + backward of the L1 loss (what the weight and alpha updates both cost).
The three modes run in one process on identical networks (same weights and alphas), each after a
warm-up step. Peak memory is the peak of live *tensor* memory during one step, above what was
allocated before it (model, data, gradients):
on CUDA `torch.cuda.max_memory_allocated`; on CPU the running sum, in time order, of the
allocations and frees that `torch.profiler` (profile_memory=True) attributes to each op (exact
sizes, op granularity). We do not use the process's peak RSS: on CPU it is dominated by one-time
oneDNN kernel/primitive caches (~80 MB at the first step here) and by freed buffers that glibc
keeps, so it made a checkpointed cell look *bigger* than a plain one. Step time, without the
profiler, over steps interleaved between the modes: on CPU the process CPU time (`time.process_time`,
robust to other jobs on a shared machine; with one thread it is the compute), on CUDA wall time.
We print the minimum and the median. Ratios are against `checkpointing='none'` of the same space.

    python benchmarks/supernet.py                       # C16 K4 B8, 24x24 LR patches, x4, CPU, 1 thread
    python benchmarks/supernet.py --device cuda --C 64 --cells 8 --batch 16 --patch 24
"""
import argparse, contextlib, os, statistics, time


@contextlib.contextmanager
def quiet_stderr():
    "Silence file descriptor 2 (the profiler's C++ start/stop chatter)."
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try: yield
    finally: os.dup2(saved, 2); os.close(saved); os.close(null)


def peak_cpu_tensor_bytes(fn) -> int:
    "Peak live tensor bytes while `fn()` runs: the time-ordered running sum of per-op allocations/frees."
    from torch.profiler import ProfilerActivity, profile
    with quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof: fn()
    live = peak = 0
    for e in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += e.self_cpu_memory_usage; peak = max(peak, live)
    return peak


def run_space(a, space, modes):
    import torch
    from idarts.search_net import SearchNetwork
    dev = torch.device(a.device)
    torch.manual_seed(0)
    lr = torch.rand(a.batch, 3, a.patch, a.patch, device=dev)
    hr = torch.rand(a.batch, 3, a.patch * a.scale, a.patch * a.scale, device=dev)
    nets = {}
    for mode in modes:
        torch.manual_seed(1)  # the same weights and alphas in every mode
        nets[mode] = SearchNetwork(C=a.C, cells=a.cells, scale=a.scale, space=space, checkpointing=mode).to(dev)
        # gradients exist before the measured step, so its peak is the activations (and their gradients)
        for p in nets[mode].parameters(): p.grad = torch.zeros_like(p)
    def step(mode):
        net = nets[mode]
        net.zero_grad(set_to_none=False)
        net.loss(lr, hr).backward()
        if dev.type == 'cuda': torch.cuda.synchronize()
    res = {}
    for mode in modes:
        step(mode)  # warm-up
        if dev.type == 'cuda':
            torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
            step(mode); peak = torch.cuda.max_memory_allocated() - base
        else: peak = peak_cpu_tensor_bytes(lambda: step(mode))
        res[mode] = dict(peak_mb=peak / 2**20, times=[])
    for _ in range(a.steps):  # interleaved, so that load changes on a shared machine hit every mode alike
        for mode in modes:
            clock = time.perf_counter if dev.type == 'cuda' else time.process_time
            t = clock(); step(mode); res[mode]['times'].append(clock() - t)
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--C', type=int, default=16); p.add_argument('--cells', type=int, default=4)
    p.add_argument('--batch', type=int, default=8); p.add_argument('--patch', type=int, default=24)
    p.add_argument('--scale', type=int, default=4); p.add_argument('--steps', type=int, default=5)
    p.add_argument('--threads', type=int, default=1); p.add_argument('--device', default='cpu')
    p.add_argument('--spaces', default='improved,original'); p.add_argument('--modes', default='none,cell,mixedop')
    a = p.parse_args()
    print(f"supernet step (forward+backward): C={a.C} cells={a.cells} batch={a.batch} LR {a.patch}x{a.patch} x{a.scale}, "
          f"{a.device}, {a.threads} thread(s), {a.steps} interleaved timed steps per mode; peak = live tensor memory of a step above the pre-step state")
    import torch
    torch.set_num_threads(a.threads)
    print(f"{'space':10s} {'checkpointing':13s} {'peak MB':>9s} {'step s min':>10s} {'median':>8s} "
          f"{'mem ratio':>10s} {'time ratio min':>15s} {'median':>7s}")
    modes = a.modes.split(',')
    for space in a.spaces.split(','):
        res = run_space(a, space, modes)
        b = res[modes[0]]
        for mode, r in res.items():
            tmin, tmed = min(r['times']), statistics.median(r['times'])
            print(f"{space:10s} {mode:13s} {r['peak_mb']:9.1f} {tmin:10.3f} {tmed:8.3f} {b['peak_mb'] / r['peak_mb']:9.2f}x "
                  f"{tmin / min(b['times']):14.2f}x {tmed / statistics.median(b['times']):6.2f}x")
    print(f"load average after the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == '__main__':
    main()
