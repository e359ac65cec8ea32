"""`make reproduce EXECUTOR=...` through submitit (issue 25): Ctrl-C cancels every job the runner submitted. (The smoke
profile's tables through submitit's local executor equal the local runner's: `tests/test_reproduce.py`.)"""
import os, re, signal, subprocess, sys, time
from pathlib import Path


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg', PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")


def _alive(pid):
    try: return Path(f'/proc/{pid}/stat').read_text().split()[2] != 'Z'
    except OSError: return False


def _processes_under(root):
    "Pids of processes whose command line names `root` (the stage processes papermill starts there)."
    out = []
    for p in Path('/proc').iterdir():
        if p.name.isdigit():
            try: cmd = (p/'cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
            except OSError: continue
            if str(root) in cmd and _alive(int(p.name)): out.append(int(p.name))
    return out


def test_ctrl_c_cancels_the_submitted_jobs(tmp_path):
    "SIGINT to `idarts reproduce --executor submitit-local` (only the runner: on Slurm the jobs are elsewhere) cancels its running jobs."
    root = tmp_path/'root'
    p = subprocess.Popen([sys.executable, '-m', 'idarts', 'reproduce', '--profile', 'smoke', '--root', str(root),
                          '--executor', 'submitit-local'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=_env(), start_new_session=True)
    lines, jobs, t0 = [], [], time.time()
    while len(jobs) < 2:   # both CPU slots hold a search job
        line = p.stdout.readline()
        assert line and time.time() - t0 < 300, ''.join(lines)
        lines.append(line)
        jobs += re.findall(r'submitted as local job (\d+)', line)
    time.sleep(3)
    assert all(_alive(int(j)) for j in jobs), 'the jobs ended before the interrupt'
    os.kill(p.pid, signal.SIGINT)
    out = ''.join(lines) + p.communicate(timeout=120)[0]
    print(out)
    assert p.returncode == 130, out
    assert re.search(r'cancelled 2 local job\(s\): search_\w+ \(\d+\), search_\w+ \(\d+\)', out), out
    t0 = time.time()
    while (any(_alive(int(j)) for j in jobs) or _processes_under(root)) and time.time() - t0 < 60: time.sleep(0.5)
    assert not any(_alive(int(j)) for j in jobs), 'a job is still running'
    assert not _processes_under(root), f'stage processes left: {_processes_under(root)}'
    assert not list((root/'runs/smoke/stages').glob('search_*.json')), 'an interrupted search has no record'
