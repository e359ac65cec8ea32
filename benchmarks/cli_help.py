"""`idarts --help` wall time: the median of 10 runs in fresh processes, now and at commit f3f13e6 (before issue 12).

The old tree is taken with `git archive f3f13e6 idarts` into a temporary folder and run the same way as the current
one (`python -c "from idarts.cli import main; main(['--help'])"` with that folder first on `sys.path`), so the two
numbers differ only by what `idarts/cli.py` and `idarts/__init__.py` import. The installed console script
(`idarts --help`) and `python -m idarts --help` are timed too. Check: the current `--help` is under 0.5 s and
imports no torch (exit status 1 otherwise). The CPU time (user + system) is printed too: on a loaded machine the wall time
is mostly waiting for a core, the CPU time is what the command costs. Run: `.venv/bin/python benchmarks/cli_help.py [--runs 10] [--old f3f13e6]`.
The machine's load moves these numbers; compare the two columns of one run, not runs of different days.
"""
import argparse, os, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELP = "import sys; sys.path.insert(0, {root!r}); from idarts.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\nprint('torch' in sys.modules, file=sys.stderr)"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime

def median_wall(cmd, runs: int, cwd=None) -> tuple[float, float, str]:
    "Median wall time and median CPU time (user + system) of `cmd` over `runs` fresh processes, and the last stderr."
    ts, cs, err = [], [], ''
    for _ in range(runs):
        t, c = time.perf_counter(), _cpu()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env={**os.environ, 'OMP_NUM_THREADS': '1'})
        ts.append(time.perf_counter() - t); cs.append(_cpu() - c); err = r.stderr
        if r.returncode != 0: raise SystemExit(f"{cmd}: exit {r.returncode}: {r.stderr[-500:]}")
    return statistics.median(ts), statistics.median(cs), err


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--old', default='f3f13e6', help='the commit to compare with ("" to skip)')
    a = ap.parse_args()
    rows = []
    now, cpu, err = median_wall([sys.executable, '-c', HELP.format(root=str(ROOT))], a.runs, cwd=tempfile.gettempdir())
    torch_now = err.strip().endswith('True')
    rows.append(('idarts.cli --help, this tree', now, cpu, torch_now))
    script = Path(sys.executable).parent/'idarts'
    if script.exists(): rows.append(('idarts --help (console script)', *median_wall([str(script), '--help'], a.runs)[:2], None))
    rows.append(('python -m idarts --help', *median_wall([sys.executable, '-m', 'idarts', '--help'], a.runs, cwd=ROOT)[:2], None))
    if a.old:
        with tempfile.TemporaryDirectory() as d:
            arch = subprocess.run(['git', 'archive', a.old, 'idarts'], cwd=ROOT, capture_output=True)
            if arch.returncode == 0:
                subprocess.run(['tar', '-x', '-C', d], input=arch.stdout, check=True)
                old, ocpu, err = median_wall([sys.executable, '-c', HELP.format(root=d)], a.runs, cwd=d)
                rows.append((f'idarts.cli --help at {a.old}', old, ocpu, err.strip().endswith('True')))
            else: print(f"(no commit {a.old} here: {arch.stderr.decode().strip()})")
    print(f"median of {a.runs} fresh processes, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"  {'':38s} {'wall':>8s} {'CPU':>8s}")
    for name, t, c, tor in rows: print(f"  {name:38s} {t:6.3f} s {c:6.3f} s" + ('' if tor is None else f"   torch imported: {tor}"))
    ok = now < 0.5 and not torch_now
    print('check: --help under 0.5 s without torch:', 'ok' if ok else 'FAILED')
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
