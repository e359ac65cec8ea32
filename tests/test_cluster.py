"""`make reproduce EXECUTOR=...` through submitit (issue 25), with submitit's local executor: Ctrl-C cancels every job the
runner submitted; a preempted stage's job is requeued and resumes exactly. (The smoke profile's tables through submitit
equal the local runner's: `tests/test_reproduce.py`.)"""
import json, os, re, signal, subprocess, sys, time
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


def _default_sigint():
    "A Ctrl-C raises in the runner even where this test itself runs with SIGINT ignored (a background job of a shell)."
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_cancels_the_submitted_jobs(tmp_path):
    "SIGINT to `idarts reproduce --executor submitit-local` (only the runner: on Slurm the jobs are elsewhere) cancels its running jobs."
    root = tmp_path/'root'
    p = subprocess.Popen([sys.executable, '-m', 'idarts', 'reproduce', '--profile', 'smoke', '--root', str(root),
                          '--executor', 'submitit-local'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=_env(), start_new_session=True, preexec_fn=_default_sigint)
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


def _task_of(controller: int) -> list[int]:
    "The task processes of a local submitit job (children of its controller)."
    kids = []
    for p in Path('/proc').iterdir():
        try:
            if p.name.isdigit() and int((p/'stat').read_text().rsplit(')', 1)[1].split()[1]) == controller: kids.append(int(p.name))
        except OSError: pass
    return kids


def test_preempted_stage_is_requeued_and_resumes_exactly(tmp_path, monkeypatch):
    """A search stage's job preempted once its first epoch is checkpointed (SIGUSR2, Slurm's preemption signal in submitit) is requeued;
    the rerun stage resumes the run directory and ends with the weights, alphas and log of an uninterrupted run, bit for bit."""
    import threading, torch
    from idarts.cluster import SubmititExecutor
    from idarts.reproduce import PAPER_NBS, _execute, plan
    monkeypatch.setenv('PATH', _env()['PATH'])
    st = next(s for s in plan('smoke') if s.name == 'search_improved_s0')
    n = 6   # epochs: the smoke profile's 2 can end before the signal lands on a loaded machine (the job then is never preempted)
    params = dict(st.params, epochs=n)
    ref, pre = tmp_path/'ref', tmp_path/'pre'
    for r in (ref, pre): (r/'nb').mkdir(parents=True)
    _execute(PAPER_NBS/'search.ipynb', ref/'nb'/'s.ipynb', params, ref)   # uninterrupted, as the local runner does
    sx = SubmititExecutor(pre/'jobs', 'smoke', cluster='local', poll_s=0.2)
    got = {}
    t = threading.Thread(target=lambda: got.update(out=sx(PAPER_NBS/'search.ipynb', pre/'nb'/'s.ipynb', params, pre)))
    t.start()
    run, t0 = pre/params['out'], time.time()
    ck, s1 = run/'checkpoint.pt', run/'snapshots'/'epoch-0001.pt'
    while not (s1.exists() and ck.exists() and ck.stat().st_mtime > s1.stat().st_mtime):   # epoch 1's checkpoint (written after its snapshot)
        assert t.is_alive() and time.time() - t0 < 300, 'the search ended or hung before its first epoch'
        time.sleep(0.05)
    job = sx.jobs['s']
    tasks = _task_of(int(job.job_id))
    assert tasks
    for k in tasks: os.kill(k, signal.SIGUSR2)   # preempted
    t_pre = time.time()
    t.join(300)
    assert got.get('out'), got
    log = (pre/'jobs'/job.job_id/f'{job.job_id}_0_log.out').read_text()
    assert 'this job is preempted' in (pre/'jobs'/job.job_id/f'{job.job_id}_0_log.err').read_text() and 'Requeued job' in log, log
    before = [(run/'snapshots'/f'epoch-{e:04d}.pt').stat().st_mtime < t_pre for e in range(1, n + 1)]
    kept = before.count(True)   # the epochs done before the preemption are kept, not redone; the others are written after it
    assert 1 <= kept < n and before == [True] * kept + [False] * (n - kept), before
    strip = lambda r: [{k: v for k, v in json.loads(l).items() if k != 'seconds'} for l in open(r/params['out']/'log.jsonl')]
    assert strip(ref) == strip(pre)
    assert (ref/params['out']/'genotype.json').read_text() == (pre/params['out']/'genotype.json').read_text()
    a, b = (torch.load(r/params['out']/'checkpoint.pt', weights_only=False) for r in (ref, pre))
    # everything the search computed, and the generators' states (restarting the data streams draws nothing from them)
    for part in ('model', 'w_optim', 'a_optim', 'sched', 'streams', 'epoch', 'config', 'rng'):
        la, lb = list(_leaves(a[part])), list(_leaves(b[part]))
        assert len(la) == len(lb) and all(torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y for x, y in zip(la, lb)), part


def _leaves(x):
    if isinstance(x, dict):
        for v in x.values(): yield from _leaves(v)
    elif isinstance(x, (list, tuple)):
        for v in x: yield from _leaves(v)
    else: yield x
