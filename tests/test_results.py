"""The README's statements about the committed `cpu` results are those of the committed tables: every number checked here
is recomputed from `tables/cpu/` and must appear in the README as written, so a regenerated table cannot leave the README
behind (and no README number about these results is typed by hand)."""
import csv, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT/'tables/cpu'
SETS = ('Set5', 'Set14', 'B100', 'Urban100')


@pytest.fixture(scope='module')
def readme():
    return re.sub(r'\s+', ' ', (ROOT/'README.md').read_text())   # line breaks inside a sentence do not matter


def _rows(path):
    return list(csv.DictReader(open(path, encoding='utf-8')))


def _psnr(cell: str) -> str:
    "'29.34 ± 0.08 / 0.8322 ± 0.0019' -> '29.34 ± 0.08'"
    return cell.split(' / ')[0]


def _md_column(path, key: str, col: str) -> dict:
    "{row[key]: [row[col], ...]} of the Markdown table in `path` whose header has both columns."
    tables, cur = [], []
    for l in Path(path).read_text().splitlines() + ['']:
        if l.startswith('|'): cur.append([c.strip() for c in l.strip().strip('|').split('|')])
        elif cur: tables, cur = tables + [cur], []
    head, *rows = next(t for t in tables if key in t[0] and col in t[0])
    out = {}
    for cells in rows[1:]:   # rows[0] is the alignment line
        row = dict(zip(head, cells))
        out.setdefault(row[key], []).append(row[col])
    return out


@pytest.mark.parametrize('table, method', [('table2.csv', 'Ours'), ('table2.csv', 'Original DARTS'),
                                           ('study/table2.csv', 'Ours'), ('study/table2.csv', 'Original DARTS')])
def test_table2_means(readme, table, method):
    rows = _rows(TABLES/table)
    key = 'method' if 'method' in rows[0] else 'Method'
    row = next(r for r in rows if r[key] == method and r['source'].startswith('computed'))
    means = ' / '.join(_psnr(row[s]) for s in SETS)
    assert f"{means} dB" in readme or f"{method} {means}" in readme or f"DARTS {means}" in readme, means


def test_study_differences(readme):
    d = {r['set']: r for r in _rows(TABLES/'study/differences.csv')}
    means = ' / '.join(f"{float(d[s]['mean']):.2f}" for s in SETS)
    cis = ', '.join(f"{float(d[s]['lo']):.2f}..{float(d[s]['hi']):+.2f}" for s in SETS)
    assert f"Ours − Original: {means} dB" in readme, means
    assert f"Welch 95 % CIs {cis}" in readme, cis
    for s in SETS: assert f"{s} *{d[s]['verdict']}*" in readme, (s, d[s]['verdict'])
    signs = [d[s]['sign'] for s in SETS]
    words = {0: 'none', 1: 'one', 2: 'two', 3: 'three', 4: 'all four'}
    assert 'positive' not in signs and "no set shows the paper's improved space ahead of original DARTS" in readme
    assert f"{words[signs.count('negative')]} show it behind" in readme, signs
    held = [s for s in SETS if d[s]['sign'] == 'negative' and float(d[s]['p_holm']) < 0.05]   # the signs that survive Holm's adjustment
    assert len(held) == signs.count('negative') and f"the {words[len(held)]} hold for the four sets together" in readme, held
    adj = ', '.join(f"{s} {float(d[s]['p_holm']):.2g}" if float(d[s]['p_holm']) < 0.01 else f"{s} {float(d[s]['p_holm']):.3f}" for s in held)
    assert f"adjusted p {adj};" in readme, adj
    split = (TABLES/'study/notes.md').read_text()   # the README's example of the training SD's interval is the notes'
    m = re.search(r"Original DARTS Set5: search [0-9.]+, training ([0-9.]+) \(95 % CI ([0-9.]+) to ([0-9.]+), (\d+) df;", split)
    assert m and f"Original DARTS Set5: {m[1]}, 95 % CI {m[2]} to {m[3]} dB" in readme and f"rests on {m[4]} df" in readme, m
    need = ' / '.join(d[s]['seeds_for_0.1dB'] for s in SETS)
    assert f"Seeds per space for a ±0.1 dB interval at this spread: {need}." in readme, need


def test_study_final_skips(readme):
    fin = _md_column(TABLES/'darts_es.md', 'runs', 'final_skips')
    for space in ('original', 'improved'):
        assert f"{space} {', '.join(fin[space])}" in readme, (space, fin[space])


def test_long_final_skips(readme):
    fin = _md_column(TABLES/'long.md', 'variant', 'final_skips_per_seed')   # the 50-epoch row of each variant comes first
    at10 = _md_column(TABLES/'long.md', 'variant', 'skips_at_10')
    assert f"original DARTS ends at {fin['original'][0]} skips (at epoch 10 of the same runs {at10['original'][0]})" in readme
    assert f"improved at {fin['improved'][0]} and original-crc at {fin['original-crc'][0]}" in readme
    rising = _md_column(TABLES/'long.md', 'variant', 'still_rising')
    assert all(rising[v][0] == '0' for v in rising) and "no seed's count rose over its last 5 epochs" in readme
    es = _md_column(TABLES/'long.md', 'runs', 'stop_epoch')
    assert all(e == 'nan' for e in es['original']) and 'never fires on the 50-epoch original searches' in readme
    assert f"fires at epochs {' and '.join(sorted(es['improved'], key=int))} on the improved ones" in readme


def test_ablation_per_seed(readme):
    per = {r['variant']: r['final_skips_per_seed'] for r in _rows(TABLES/'ablation.csv')}
    mean = {r['variant']: float(r['final_skips_mean']) for r in _rows(TABLES/'ablation.csv')}
    assert f"({per['improved-rcb']} final skips against {per['improved']})" in readme
    assert f"from {mean['original']:.1f} ({per['original']}) to {mean['original-crc']:.1f} ({per['original-crc']})" in readme
    assert f"({per['improved-pool']}; {per['improved-noid']}; {per['improved-concat']})" in readme
    assert f"({per['original-nopool']}; {per['original-id']}; {per['original-mean']})" in readme
    assert all(mean[v] < 4 for v in ('improved-pool', 'improved-noid', 'improved-concat', 'improved-nobn', 'original-crc'))
    assert all(mean[v] >= 4 for v in ('improved-rcb', 'original-nopool', 'original-id', 'original-mean'))
    assert f"beyond the paper, brings no collapse ({per['improved-nobn']})" in readme


def test_remedies(readme):
    "Per-seed skips, cost ratios and every computed finding of `make remedies` appear in the README as the table has them."
    rows = {r['method']: r for r in _rows(TABLES/'remedies.csv')}
    for name, r in list(rows.items())[2:]:   # the six remedies; the two references come first
        assert f"{name} {r['final skips (per seed)']}" in readme, (name, r['final skips (per seed)'])
        assert f"{name} {r['search cost vs plain DARTS']}" in readme, (name, r['search cost vs plain DARTS'])
    assert f"plain DARTS {rows['original DARTS (plain)']['final skips (per seed)']}" in readme
    assert "its logs repeat the reference searches' (every value but the seconds): yes, every seed" in (TABLES/'remedies.md').read_text()
    found = [re.sub(r'\s+', ' ', l[2:]) for l in (TABLES/'remedies_findings.md').read_text().splitlines() if l.startswith('- ')]
    assert len(found) == len(rows) - 2 + 3
    for f in found: assert f in readme, f


def test_remedies_darts_es_never_fired(readme):
    "The README says DARTS-ES never fired and so repeats plain DARTS: its stop epochs are empty and its cells and PSNRs are plain DARTS's."
    rows = {r['method']: r for r in _rows(TABLES/'remedies.csv')}
    es, plain = rows['darts-es'], rows['original DARTS (plain)']
    assert 'DARTS-ES (window 3, lag 2, ratio 0.75, as in the study) never fired' in readme
    assert set(es['stop epoch (per seed)'].split(', ')) == {'-'}
    assert es['final skips (per seed)'] == plain['final skips (per seed)']
    for s in SETS: assert es[f'{s} x4'] == plain[f'{s} x4'], s
    for k in range(3):
        a, b = _rows(TABLES/f'remedies/results/darts-es-s{k}.csv'), _rows(TABLES/f'results/original-s{k}.csv')
        assert [(r['set'], r['psnr']) for r in a] == [(r['set'], r['psnr']) for r in b], k
