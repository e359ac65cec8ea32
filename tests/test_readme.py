"""README.md is the one description of the project; nbs/index.ipynb is the notebooks' front page. They must agree:
nbdev never regenerates the README (`readme_nb` empty), and what both name (title, make targets, notebooks,
environment variables, commands) exists and matches."""
import configparser, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / 'README.md').read_text()
CFG = configparser.ConfigParser(); CFG.read(ROOT / 'settings.ini'); CFG = CFG['DEFAULT']
INDEX = json.loads((ROOT / 'nbs' / 'index.ipynb').read_text())
INDEX_MD = '\n'.join(''.join(c['source']) for c in INDEX['cells'] if c['cell_type'] == 'markdown')


def test_readme_not_generated():
    assert CFG['readme_nb'].strip() == '', 'readme_nb must stay empty: README.md is hand-written (nbdev_readme would overwrite it)'


def test_same_title_and_description():
    assert README.splitlines()[0].startswith(f"# {CFG['lib_name']} ")
    assert INDEX_MD.splitlines()[0] == f"# {CFG['lib_name']}"
    tagline = re.search(r'^> (.+)$', INDEX_MD, re.M).group(1)
    assert tagline.rstrip('.') == CFG['description'].rstrip('.')
    assert '](../README.md)' in INDEX_MD   # the front page points to the README


def _make_targets():
    return set(re.findall(r'^([a-z][\w-]*):', (ROOT / 'Makefile').read_text(), re.M))


def test_make_targets_exist():
    named = set(re.findall(r'`make (?:[A-Z_]+=\S+ )*([a-z][\w-]*)', README + INDEX_MD))
    named |= set(re.findall(r'^make (?:[A-Z_]+=\S+ )*([a-z][\w-]*)', README, re.M))
    assert {'test', 'reproduce', 'lab', 'install', 'export'} <= named, named
    assert named <= _make_targets(), named - _make_targets()


def test_every_notebook_in_readme_table():
    nbs = sorted(p.stem for p in (ROOT / 'nbs').glob('*.ipynb') if p.stem != 'index')
    missing = [n for n in nbs if f'| `{n}` |' not in README]
    assert not missing, f'README.md notebook table lacks {missing}'


def test_env_vars_exist():
    src = '\n'.join(p.read_text() for p in (ROOT / 'idarts').glob('*.py')) + (ROOT / 'Makefile').read_text()
    named = set(re.findall(r'\bIDARTS_[A-Z_]+', README + INDEX_MD))
    assert {'IDARTS_DATA', 'IDARTS_OFFLINE', 'IDARTS_DOWNLOAD_URL'} <= named
    assert all(v in src for v in named), [v for v in named if v not in src]


def test_index_commands_are_readme_commands():
    "A shell block on the front page must be one the README shows too: commands are documented once."
    for block in re.findall(r'```(?:bash|sh)?\n(.*?)```', INDEX_MD, re.S):
        for line in block.strip().splitlines():
            assert line.split('#')[0].strip() in README, line


def test_readme_schedules_are_the_committed_dry_runs():
    "The schedules on 1, 3 and 8 GPUs in the README are what `idarts dryrun --schedule-only` prints from tables/paper/dryrun.json."
    from idarts.dryrun import schedule, schedule_text
    recs = json.loads((ROOT / 'tables' / 'paper' / 'dryrun.json').read_text())['stages']
    for n in (1, 3, 8):
        assert schedule_text(schedule('paper', n, recs, seeds=3)).strip() in README, n
