"""The import graph of `idarts/` (issue 23 items 2 and 7), read from the source with `ast`: every `import idarts.x`,
`from idarts.x import ...`, `from .x import ...` and `importlib.import_module('idarts.x')`, at module level and inside
functions (lazy). `pytest -s tests/test_imports.py` prints it. It fails on a circle (module level or lazy), and on an
edge from a module to one of a later notebook (the order of `nbs/NN*_*.ipynb`): a notebook uses only what came before."""
import ast, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT/'idarts'


def notebook_order():
    "Module name -> position of its notebook in `nbs/` (file-name order), from each notebook's `#| default_exp`."
    order = {}
    for i, nb in enumerate(sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))):
        for c in json.loads(nb.read_text())['cells']:
            m = re.search(r'^#\|\s*default_exp\s+(\S+)', ''.join(c['source']), re.M)
            if m: order[m.group(1)] = i; break
    return order


def _target(node, mods):
    "The idarts modules one import node names (a name that is no module file means the package, `__init__`)."
    if isinstance(node, ast.Import):
        return [n.name.split('.')[1] if n.name.count('.') else '__init__' for n in node.names
                if n.name == 'idarts' or n.name.startswith('idarts.')]
    if isinstance(node, ast.ImportFrom):
        if node.level == 0 and node.module and (node.module == 'idarts' or node.module.startswith('idarts.')): base = node.module.split('.')[1:]
        elif node.level == 1: base = node.module.split('.') if node.module else []
        else: return []
        if base: return [base[0]]
        return [n.name if n.name in mods else '__init__' for n in node.names]
    if (isinstance(node, ast.Call) and getattr(node.func, 'attr', getattr(node.func, 'id', None)) == 'import_module'
            and node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith('idarts.')):
        return [node.args[0].value.split('.')[1]]
    return []


def import_graph():
    """{module: {imported module: 'module' | 'lazy'}} (lazy wins only when there is no module-level import of it), and
    the count of imports inside functions: (of idarts modules, all)."""
    mods = {p.stem for p in PKG.glob('*.py')} - {'_modidx'}
    graph, n_idarts, n_all = {}, 0, 0
    for p in sorted(PKG.glob('*.py')):
        if p.stem == '_modidx': continue   # nbdev's symbol index: no imports, no notebook
        edges = graph.setdefault(p.stem, {})
        def walk(node, in_fn):
            nonlocal n_idarts, n_all
            for ch in ast.iter_child_nodes(node):
                fn = in_fn or isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                ts = [t for t in _target(ch, mods) if t != p.stem]
                if in_fn and isinstance(ch, (ast.Import, ast.ImportFrom)):
                    n_all += 1; n_idarts += bool(_target(ch, mods))
                for t in ts:
                    if not in_fn or edges.get(t) != 'module': edges[t] = 'lazy' if in_fn else 'module'
                walk(ch, fn)
        walk(ast.parse(p.read_text()), False)
    return graph, (n_idarts, n_all)


def cycles(graph):
    "Strongly connected components with more than one module (Tarjan), each sorted."
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in graph.get(v, {}):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index: visit(v)
    return out


def shortest_cycles(graph, comp):
    "The shortest circle through each module of a strongly connected component (deduplicated): the imports to cut."
    out = []
    for v in comp:
        prev, todo = {v: None}, [v]
        while todo:   # breadth first from v until an edge comes back to v
            nxt = []
            for a in todo:
                for b in graph.get(a, {}):
                    if b == v and 'back' not in prev: prev['back'] = a
                    if b in comp and b not in prev: prev[b] = a; nxt.append(b)
            todo = [] if 'back' in prev else nxt
        if 'back' not in prev: continue
        path = [prev['back']]
        while path[-1] != v: path.append(prev[path[-1]])
        cyc = path[::-1]
        i = cyc.index(min(cyc)); cyc = cyc[i:] + cyc[:i]
        if cyc not in out: out.append(cyc)
    return sorted(out, key=len)


def upward(graph, order):
    "Edges from a module to one whose notebook comes later."
    return sorted((a, b, k) for a, es in graph.items() for b, k in es.items()
                  if a in order and b in order and order[b] > order[a])


def report():
    graph, (n_idarts, n_all) = import_graph()
    order = notebook_order()
    cyc, up = cycles(graph), upward(graph, order)
    lines = ['idarts import graph (module -> imports; * = inside a function only):']
    for a in sorted(graph, key=lambda m: (order.get(m, 99), m)):
        es = graph[a]
        lines.append(f'  {a:11s} -> ' + (', '.join(f"{b}{'*' if k == 'lazy' else ''}" for b, k in
                                                 sorted(es.items(), key=lambda e: (order.get(e[0], 99), e[0]))) or '-'))
    lines.append(f'imports inside functions: {n_all} in all, {n_idarts} of idarts modules')
    lines.append(f'circles (strongly connected modules): {len(cyc)}')
    for c in cyc:
        lines.append(f'  {", ".join(c)}; shortest circles:')
        lines += [f'    {" -> ".join(x + ("*" if graph[x][y] == "lazy" else "") for x, y in zip(k, k[1:] + k[:1]))} -> {k[0]}'
                  for k in shortest_cycles(graph, c)]
    lines.append(f'edges to a later notebook: {len(up)}' + ''.join(f'\n  {a} -> {b}{" (lazy)" if k == "lazy" else ""}' for a, b, k in up))
    return graph, cyc, up, '\n'.join(lines)


def test_import_graph():
    graph, cyc, up, text = report()
    print(text)
    assert set(notebook_order()) >= set(graph), f'modules without a notebook: {set(graph) - set(notebook_order())}'
    assert not cyc, f'import circles: {cyc}\n{text}'
    assert not up, f'imports of a later notebook\'s module: {up}\n{text}'





def test_version_from_the_leaf():
    "`__version__` lives in `idarts._version` (imports nothing) and is settings.ini's `version`."
    import configparser
    ini = configparser.ConfigParser(); ini.read(ROOT/'settings.ini')
    tree = ast.parse((PKG/'_version.py').read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    import idarts, idarts._version
    assert idarts.__version__ == idarts._version.__version__ == ini['DEFAULT']['version']
if __name__ == '__main__': print(report()[-1])
