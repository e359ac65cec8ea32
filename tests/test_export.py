"""`idarts export`: each format written by the command, loaded back without idarts' network code (torch.export.load,
onnxruntime, or a fresh build from the .safetensors metadata) and compared with the eager model on two input sizes
(dynamic height and width); an existing file is never replaced without --force."""
import os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch

ENV = {**os.environ, 'OMP_NUM_THREADS': '1'}
SIZES = ((24, 20), (17, 31))
TOL = 1e-5


def export(*args):
    return subprocess.run([sys.executable, '-m', 'idarts', 'export', *map(str, args)], capture_output=True, text=True, env=ENV, timeout=600)


def max_diff(run, net) -> float:
    "Largest |exported - eager| over inputs of both sizes."
    d = 0.
    for h, w in SIZES:
        x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h * w))
        with torch.inference_mode():
            y = torch.as_tensor(np.asarray(run(x)))
            assert y.shape == (1, 3, 4 * h, 4 * w), y.shape
            d = max(d, (y - net(x)).abs().max().item())
    return d


def onnx_runner(path: Path):
    "onnxruntime when installed (the dev extra has it), else the ONNX checker and onnx's reference evaluator."
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
        return lambda x: sess.run(None, {'lr': x.numpy()})[0]
    except ImportError:
        import onnx
        from onnx.reference import ReferenceEvaluator
        onnx.checker.check_model(str(path))
        ref = ReferenceEvaluator(str(path))
        return lambda x: ref.run(None, {'lr': x.numpy()})[0]


@pytest.mark.parametrize('fmt', ['pt2', 'onnx', 'safetensors'])
def test_export_matches_the_eager_model(fmt, tmp_path):
    import idarts
    out = tmp_path/f'improved-cpu.{fmt}'
    r = export('improved-cpu', '--format', fmt, '--out', out)
    assert r.returncode == 0, r.stderr
    net = idarts.load('improved-cpu', device='cpu')
    if fmt == 'pt2': run = torch.export.load(str(out)).module()
    elif fmt == 'onnx': run = onnx_runner(out)
    else:
        run = idarts.load(out, device='cpu')
        assert run is not net and run.idarts_meta['spec'] == net.idarts_meta['spec']
    d = max_diff(run, net)
    print(f'{fmt}: max abs difference {d:.3g} over inputs {SIZES}')
    assert d <= TOL, (fmt, d)


def test_existing_files_are_never_replaced_without_force(tmp_path):
    out = tmp_path/'mine.onnx'
    out.write_bytes(b'my own file')
    r = export('improved-cpu', '--out', out)           # format from the suffix
    assert r.returncode == 2 and 'exists; pass --force' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert out.read_bytes() == b'my own file'
    r = export('original-cpu', '--format', 'safetensors', '--out', tmp_path)
    assert r.returncode == 2 and 'is a directory' in r.stderr, r.stderr
    r = export('original-cpu', '--out', tmp_path/'m.bin')
    assert r.returncode == 2 and 'unknown export format' in r.stderr, r.stderr
    r = export('original-cpu', '--format', 'safetensors', '--out', out.with_suffix('.safetensors'))
    assert r.returncode == 0, r.stderr
    r = export('original-cpu', '--out', out, '--force')
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:20] != b'my own file' and not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]
