"""Project the wall time of a stage group (`make study` by default) from the stage records of a cache that has run part of it.

Each stage of the group that is not up to date before the group starts (for `study`: not a stage of the `paper` group) gets
its recorded seconds where it has run, else the mean of its kind among the recorded ones (kind: the notebook, the space,
and for searches the order); a kind with no record at all (the exact second-order searches, last in the plan) gets
`--second-ratio` times the first-order search mean, any other (the tables: seconds) 0 s. `idarts.reproduce.simulate`, the scheduler's own placement model,
then places them on `--slots` slots in plan order. Prints the per-kind seconds, the stage-seconds, the projected makespan
and its lower bound (stage-seconds / slots): when the two agree, no reordering of stages can shorten the run.

    python benchmarks/group_wall.py [--root .] [--profile cpu] [--group study] [--slots 2] [--second-ratio 4.2] [--exclude STAGE ...]

Measured 2026-12-07 on the shared 2-core AMD EPYC (a fresh clone at 48fefc0; `make reproduce` 05:22-06:17 UTC, then
`make study` 06:17-06:49, stopped for a test run), excluding `train_improved_s1_t1` (it shared the machine with a
5-minute pytest): search 321-324 s, training 913 s (improved) and 449 s (original), evaluation 58 s, Hessian stage 120 s
(means of that night's records); second-order ratio 4.2 (the committed study run: 1,077-1,175 s against first-order
searches of 246-277 s):

    62 stages, 19633 stage-s (9 measured), makespan 164.3 min, bound 163.6 min

(with `--second-ratio 3.4`, about 1,100 s per second-order search: 160.0 min). `make study`'s budget is 120 min.
"""
import argparse, json, statistics
from pathlib import Path

from idarts.reproduce import plan, simulate


def kind(st) -> tuple:
    p = st.params
    return (st.notebook, p.get('space') or p.get('label') or '', p.get('order', '') if st.notebook == 'search.ipynb' else '',
            'bicubic' if p.get('bicubic') else '')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--root', default='.'); ap.add_argument('--profile', default='cpu'); ap.add_argument('--group', default='study')
    ap.add_argument('--slots', type=int, default=2); ap.add_argument('--second-ratio', type=float, default=4.2)
    ap.add_argument('--exclude', nargs='*', default=[], help='stages whose records were disturbed: projected like unrun ones')
    a = ap.parse_args(argv)
    rec_dir = Path(a.root)/'runs'/a.profile/'stages'
    recs = {p.stem: json.loads(p.read_text()) for p in rec_dir.glob('*.json')} if rec_dir.is_dir() else {}
    recs = {n: r for n, r in recs.items() if n not in a.exclude}
    before = {s.name for s in plan(a.profile, 'paper')} if a.group != 'paper' else set()
    allst = plan(a.profile, a.group)
    st = [s for s in allst if s.name not in before]
    by_kind: dict = {}
    for s in allst:
        if s.name in recs: by_kind.setdefault(kind(s), []).append(recs[s.name]['seconds'])
    mean = {k: statistics.mean(v) for k, v in by_kind.items()}
    first = [v for k, v in mean.items() if k[0] == 'search.ipynb' and k[2] == 'first']
    def guess(s):
        k = kind(s)
        if k in mean: return mean[k]
        if s.notebook == 'search.ipynb' and first: return a.second_ratio * statistics.mean(first)
        same_nb = [v for kk, v in mean.items() if kk[0] == s.notebook]
        return statistics.mean(same_nb) if same_nb else 0.
    secs = {s.name: recs[s.name]['seconds'] if s.name in recs else guess(s) for s in st}
    for k in sorted({kind(s) for s in st}): print(f"{' '.join(x for x in k if x):40s} {mean.get(k, float('nan')):8.1f} s (recorded mean)")
    sch = simulate(st, secs, list(range(a.slots)))
    total = sum(secs.values())
    print(f"{len(st)} stages, {total:.0f} stage-s ({sum(s.name in recs for s in st)} measured), "
          f"makespan {max((x['end'] for x in sch), default=0.) / 60:.1f} min, bound {total / a.slots / 60:.1f} min")


if __name__ == '__main__':
    main()
