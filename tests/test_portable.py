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
