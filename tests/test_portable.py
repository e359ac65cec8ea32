"""No machine-specific path in any notebook (issue 22 row 18): cell sources and saved outputs hold no absolute path of
this machine (a home, a temporary folder, a virtual environment, the checkout)."""
import json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted((ROOT/'nbs').rglob('*.ipynb'))
MACHINE = re.compile(r"(?<![\w.])(/work/|/tmp/|/home/|/root/|/Users/|/private/var/|[A-Za-z]:\\\\Users\\\\)|\.venv/")


def _texts(cell):
    yield 'source', ''.join(cell.get('source', ''))
    for o in cell.get('outputs', []):
        yield 'output', ''.join(o.get('text', ''))
        for v in (o.get('data') or {}).values():
            if isinstance(v, (str, list)): yield 'output', ''.join(v) if isinstance(v, list) else v
        yield 'output', '\n'.join(o.get('traceback', []))


@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NBS])
def test_no_machine_specific_path(nb):
    bad = []
    for i, c in enumerate(json.loads(nb.read_text())['cells']):
        for where, t in _texts(c):
            for m in MACHINE.finditer(t):
                bad.append(f"cell {i} {where}: ...{t[max(0, m.start() - 40):m.end() + 40]!r}...")
    assert not bad, '\n'.join(bad[:10])


ABSOLUTE = re.compile(MACHINE.pattern.replace('|\\.venv/', ''))
TEXT = ('.py', '.md', '.ini', '.cfg', '.toml', '.yml', '.yaml', '.txt', '.in', '.sh', '.tsv', '.csv', '.json')


def _tracked():
    "The repository's tracked files (git), else every file under the checkout but .git and the virtual environment."
    import subprocess
    r = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True)
    if r.returncode == 0 and r.stdout: return [ROOT/p for p in r.stdout.decode().split('\0') if p]
    return [p for p in ROOT.rglob('*') if p.is_file() and not {'.git', '.venv', 'runs'} & set(p.relative_to(ROOT).parts)]


def test_no_machine_specific_path_in_tracked_files():
    """Sources, tests, benchmarks, docs and settings name no absolute path of a machine (issue 23 row 5): the data is
    found through `idarts.data.data_root()` (tests: the `data_dir` fixture), temporary files through `tempfile`."""
    bad = []
    for p in _tracked():
        rel = p.relative_to(ROOT)
        if p.suffix == '.ipynb' or rel == Path('tests/test_portable.py') or not p.is_file(): continue   # notebooks: above
        if not (p.suffix in TEXT or p.name in ('Makefile', 'run', '.gitignore')): continue
        try: text = p.read_text()
        except UnicodeDecodeError: continue
        for i, line in enumerate(text.splitlines(), 1):   # `.venv/` (the checkout's own, relative) is fine outside notebooks
            if ABSOLUTE.search(line): bad.append(f"{rel}:{i}: {line.strip()[:120]}")
    assert not bad, '\n'.join(bad[:20])
