"""Documentation links resolve inside the repository, and nothing cites a file outside it.

For every notebook under `nbs/` (recursively) and for `README.md`, the markdown text is scanned for

- markdown links and images, `[text](target)` and `![alt](target)`, and HTML `src=`/`href=` attributes:
  the target, without its `#anchor` and `?query`, must exist relative to the file's folder
  (URLs with a scheme, such as `http(s)://` and `mailto:`, and pure `#anchor` links are skipped);
- repository paths written as inline code, such as `figures/cpu/fig2_original_skips.png`: a code span
  that starts with a folder of the repository that is tracked (`figures/`, `tables/`, `benchmarks/`,
  `tests/`, `nbs/`, `idarts/`) must name something that exists, relative to the repository root
  (the way the notebooks write them) or to the file's folder. Generated outputs (`runs/...`, data)
  and templates (`tables/<profile>/...`) are not checked.

Fenced code blocks are ignored. A second test asserts that no markdown cell, no exported code cell of
`nbs/` and no module of `idarts/` cites `NOTES.md`: the specification the code follows lives in the
repository (`nbs/specification.ipynb`).
"""
import json
import re
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'

_FENCE = re.compile(r'^\s*(```|~~~).*?^\s*\1[^\n]*$', re.M | re.S)
_CODE_SPAN = re.compile(r'(`+)(.+?)\1', re.S)
_LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+(?:"[^"]*"|\'[^\']*\'))?\s*\)')
_HTML = re.compile(r'\b(?:src|href)\s*=\s*["\']([^"\']+)["\']', re.I)
_SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')
_REPO_DIRS = ('figures/', 'tables/', 'benchmarks/', 'tests/', 'nbs/', 'idarts/')
_EXPORT = re.compile(r'^\s*#\s*\|?\s*export[si]?\b', re.M)


def _rel(p: Path) -> str: return p.relative_to(ROOT).as_posix()


def doc_files() -> list[Path]:
    "Every notebook under nbs/ (checkpoints excluded) and README.md."
    nbs = [p for p in sorted(NBS.rglob('*.ipynb')) if '.ipynb_checkpoints' not in p.parts]
    return nbs + [ROOT / 'README.md']


def cells(path: Path) -> list[tuple[str, str, str]]:
    "`(cell id, cell type, source)` of a notebook; README.md is one markdown 'cell'."
    if path.suffix != '.ipynb': return [('', 'markdown', path.read_text(encoding='utf-8'))]
    nb = json.loads(path.read_text(encoding='utf-8'))
    return [(c.get('id', ''), c['cell_type'], ''.join(c['source'])) for c in nb['cells']]


def targets(md: str) -> tuple[list[str], list[str]]:
    "The link/image targets and the inline-code repository paths of a markdown text."
    md = _FENCE.sub('', md)
    spans = []
    def _hide(m):
        spans.append(m.group(2).strip()); return '\x00'
    md = _CODE_SPAN.sub(_hide, md)
    links = _LINK.findall(md) + _HTML.findall(md)
    paths = [s for s in spans if s.startswith(_REPO_DIRS) and not re.search(r'[\s<>{}*?$]', s)]
    return links, paths


def _local(target: str) -> str | None:
    "The file part of a link target, or None for URLs with a scheme and pure anchors."
    if not target or target.startswith('#') or _SCHEME.match(target): return None
    return unquote(re.split(r'[#?]', target, maxsplit=1)[0]) or None


def broken_links() -> list[str]:
    bad = []
    for f in doc_files():
        for cid, kind, src in cells(f):
            if kind != 'markdown': continue
            where = f'{_rel(f)}' + (f' [{cid}]' if cid else '')
            links, paths = targets(src)
            for t in links:
                p = _local(t)
                if p is None: continue
                dest = (ROOT / p.lstrip('/')) if p.startswith('/') else (f.parent / p)
                if not dest.exists(): bad.append(f'{where}: {t}')
            for p in paths:
                if not ((ROOT / p).exists() or (f.parent / p).exists()): bad.append(f'{where}: `{p}`')
    return bad


def test_targets_parsed():
    "The parser finds what it should and skips what it should (so the link test can fail)."
    md = ('See [a](../figures/x.png#top), ![b](img/y.png "t"), [`c`](README.md?raw=1), [d](https://x.org/a.png), '
          '[e](mailto:a@b.c), [f](#anchor), `figures/cpu/z.png`, `runs/cpu/w.png`, `tables/<profile>/notes.md`, '
          '<img src="z.svg">.\n```\n[g](fenced.png)\n```\n')
    links, paths = targets(md)
    assert links == ['../figures/x.png#top', 'img/y.png', 'README.md?raw=1', 'https://x.org/a.png',
                     'mailto:a@b.c', '#anchor', 'z.svg'], links
    assert [_local(t) for t in links] == ['../figures/x.png', 'img/y.png', 'README.md', None, None, None, 'z.svg']
    assert paths == ['figures/cpu/z.png'], paths


def test_links_resolve():
    bad = broken_links()
    assert not bad, f'{len(bad)} broken link(s) (file [cell id]: target):\n' + '\n'.join(bad)


def test_no_notes_md():
    "The specification lives in the repository: nothing may cite the outside NOTES.md."
    bad = []
    for f in sorted(NBS.rglob('*.ipynb')):
        if '.ipynb_checkpoints' in f.parts: continue
        for cid, kind, src in cells(f):
            if kind == 'markdown' or (kind == 'code' and _EXPORT.search(src)):
                bad += [f'{_rel(f)} [{cid}] ({kind}): {line.strip()}' for line in src.splitlines() if 'NOTES.md' in line]
    for f in sorted((ROOT / 'idarts').glob('*.py')):
        bad += [f'{_rel(f)}:{i}: {line.strip()}' for i, line in enumerate(f.read_text(encoding='utf-8').splitlines(), 1)
                if 'NOTES.md' in line]
    assert not bad, f'{len(bad)} reference(s) to NOTES.md; cite nbs/specification.ipynb instead:\n' + '\n'.join(bad)
