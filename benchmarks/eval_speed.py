"""The full Bicubic table (Set5, Set14, B100, Urban100 x2/x3/x4), end to end: idarts against BasicSR, in one run.

Each pipeline does, for every image and scale: read the HR image, crop it to a multiple of the scale, MATLAB-bicubic
resize down by the scale and back up, and score Y-channel PSNR and SSIM with `scale` pixels shaved.

- **idarts**: `idarts.evaluate.evaluate_sets(bicubic_method(), sets, scales)`, i.e. `idarts eval --model bicubic`
  (uint8 MATLAB-exact resize, float64 metrics), with 1 and with 2 threads (`--threads`).
- **idarts before**: the same protocol as idarts computed it before the fast path (the code of `evaluate_sets` of
  that time: one image and scale at a time, `load_image` per scale, the numpy tap-by-tap `imresize`, `evaluate_pair`).
  It gives the reference values: the new pipeline must agree within 1e-6 dB (it is expected to be bit-identical).
- **BasicSR 1.4.2**, its own functions: `cv2.imread`, `imresize` from `basicsr/utils/matlab_functions.py`
  (float32 in [0, 1], rounded to uint8 after each resize, as its images are saved), and `calculate_psnr` /
  `calculate_ssim` from `basicsr/metrics/psnr_ssim.py` with `crop_border=scale, test_y_channel=True`. BasicSR's package
  `__init__` imports torchvision modules that current torchvision lacks, so its module files are loaded directly.
  BasicSR is needed by this benchmark only, never by idarts or its tests (nbdev 2's setup.py knows no extra but `dev`):
  `.venv/bin/pip install opencv-python-headless && .venv/bin/pip install --no-deps --no-build-isolation basicsr==1.4.2`
  (`--no-deps`: its pinned dependencies are not needed for these two files; `--no-build-isolation`: its setup.py imports torch).

Wall time is the measure; CPU time (all threads) is printed too, since on a shared machine other processes inflate
wall times. Thread counts are set for everything (torch, and OpenCV for BasicSR); BasicSR runs with the same thread counts as idarts.
Run: `IDARTS_DATA=/path/to/data .venv/bin/python benchmarks/eval_speed.py [--threads 1,2] [--sets Set5,Set14]
[--figure figures/perf/eval_vs_megapixels.png] [--json out.json]`. Exit status 1 when idarts differs from its previous
values by 1e-6 dB (PSNR) or 1e-9 (SSIM) or more, or when the MATLAB LR images of Set5 are not reproduced exactly.
"""
import argparse, importlib.util, json, sys, time, types
from pathlib import Path

import numpy as np
import torch

from idarts.data import _imresize_numpy, _resize_plan, data_root, imresize, list_images, load_image, modcrop
from idarts.evaluate import _score_image, bicubic_method, evaluate_sets
from idarts.metrics import evaluate_pair


def load_basicsr():
    "BasicSR's `imresize`, `calculate_psnr`, `calculate_ssim`, loaded from its files without running its package `__init__`."
    import cv2
    root = next((Path(p) / 'basicsr' for p in sys.path if (Path(p) / 'basicsr/utils/matlab_functions.py').is_file()), None)
    if root is None:
        sys.exit("BasicSR is not installed: pip install opencv-python-headless && "
                 "pip install --no-deps --no-build-isolation basicsr==1.4.2")
    for name, sub in (('basicsr', ''), ('basicsr.utils', 'utils'), ('basicsr.metrics', 'metrics')):
        if name not in sys.modules or not getattr(sys.modules[name], '_stub', False):   # empty packages: no __init__
            m = types.ModuleType(name); m.__path__ = [str(root / sub)]; m._stub = True; sys.modules[name] = m

    def load(name, rel):
        spec = importlib.util.spec_from_file_location(name, root / rel)
        mod = importlib.util.module_from_spec(spec); sys.modules[name] = mod; spec.loader.exec_module(mod)
        return mod
    color = load('basicsr.utils.color_util', 'utils/color_util.py')
    sys.modules['basicsr.utils'].bgr2ycbcr = color.bgr2ycbcr          # what basicsr.utils' __init__ would export
    mf = load('basicsr.utils.matlab_functions', 'utils/matlab_functions.py')
    load('basicsr.utils.registry', 'utils/registry.py'); load('basicsr.metrics.metric_util', 'metrics/metric_util.py')
    ps = load('basicsr.metrics.psnr_ssim', 'metrics/psnr_ssim.py')
    return cv2, mf.imresize, ps.calculate_psnr, ps.calculate_ssim


def basicsr_table(bsr, sets, scales, threads):
    "BasicSR end to end; returns {(set, scale, image): (psnr, ssim)}, total seconds, {image path: seconds over all scales}."
    cv2, resize, cpsnr, cssim = bsr
    cv2.setNumThreads(threads); torch.set_num_threads(threads)
    to_u8 = lambda x: np.clip(np.round(x * 255.), 0, 255).astype(np.uint8)
    vals, per = {}, {}
    t0, c0 = time.perf_counter(), time.process_time()
    for st in sets:
        paths = list_images(st, strict=True)
        for s in scales:
            for p in paths:
                t = time.perf_counter()
                hr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)             # BGR (or gray), as BasicSR reads
                hr = hr[:hr.shape[0] - hr.shape[0] % s, :hr.shape[1] - hr.shape[1] % s]
                lr = to_u8(resize(hr.astype(np.float32) / 255., 1 / s))
                sr = to_u8(resize(lr.astype(np.float32) / 255., s))
                vals[st, s, p.stem] = (cpsnr(sr, hr, crop_border=s, test_y_channel=True),
                                       cssim(sr, hr, crop_border=s, test_y_channel=True))
                per[str(p)] = per.get(str(p), 0.) + time.perf_counter() - t
    return vals, time.perf_counter() - t0, per, time.process_time() - c0


def idarts_before(sets, scales):
    "idarts' protocol as computed before the fast path (one image and scale at a time, numpy resize, `evaluate_pair`)."
    ref = lambda img, sc: _imresize_numpy(img, _resize_plan(img.shape[:2], sc), True, True)
    torch.set_num_threads(1)
    vals = {}; t0 = time.perf_counter()
    for st in sets:
        paths = list_images(st, strict=True)
        for s in scales:
            for p in paths:
                hr = modcrop(load_image(p), s)
                vals[st, s, p.stem] = evaluate_pair(ref(ref(hr, 1 / s), s), hr, s)
    return vals, time.perf_counter() - t0


def idarts_table(sets, scales, threads):
    torch.set_num_threads(threads)
    t0, c0 = time.perf_counter(), time.process_time()
    rows, per = evaluate_sets(bicubic_method(), sets, scales, per_image=True, progress=False, threads=threads)
    t, c = time.perf_counter() - t0, time.process_time() - c0
    return {(q['set'], q['scale'], q['image']): (q['psnr'], q['ssim']) for q in per}, t, rows, c


def idarts_per_image(sets, scales):
    "Seconds per HR image (decode once, all scales), one thread: the points of the figure."
    torch.set_num_threads(1); m = bicubic_method(); out = {}
    for st in sets:
        for p in list_images(st, strict=True):
            t = time.perf_counter(); _score_image(m, p, scales); out[str(p)] = time.perf_counter() - t
    return out


def max_diff(a, b):
    d = np.array([np.subtract(a[k], b[k]) for k in a if np.isfinite(a[k][0]) and np.isfinite(b[k][0])])
    return float(np.abs(d[:, 0]).max()), float(np.abs(d[:, 1]).max())


def check_matlab_lr():
    "The Set5 LR images MATLAB made, reproduced exactly (when the data mirror has them)."
    n = 0
    for s in (2, 3, 4):
        for p in list_images('Set5'):
            ref = data_root() / f'benchmark/Set5/LR_bicubic/X{s}/{p.stem}x{s}.png'
            if not ref.exists(): continue
            if not np.array_equal(imresize(modcrop(load_image(p), s), 1 / s), load_image(ref)): return False, n
            n += 1
    return True, n


def figure(path, megapixels, t_id, t_bsr, bsr_threads):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    ks = sorted(megapixels, key=megapixels.get)
    mp = np.array([megapixels[k] for k in ks]); a = np.array([t_id[k] for k in ks]); b = np.array([t_bsr[k] for k in ks])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.scatter(mp, b, s=10, label=f"BasicSR 1.4.2 ({bsr_threads} thread{'s' if bsr_threads > 1 else ''})", color='tab:red')
    ax.scatter(mp, a, s=10, label='idarts (1 thread)', color='tab:blue')
    for y, c in ((b, 'tab:red'), (a, 'tab:blue')):
        k = np.polyfit(mp, y, 1); xs = np.linspace(0, mp.max() * 1.02, 50)
        ax.plot(xs, np.polyval(k, xs), color=c, lw=1, label=f'{k[0]:.2f} s/MP + {k[1] * 1e3:.0f} ms')
    ax.set_xlabel('HR image size (megapixels)'); ax.set_ylabel('seconds per image (x2, x3 and x4)')
    ax.set_title('Bicubic protocol per image: read, crop, resize down and up, Y PSNR/SSIM', fontsize=9)
    ax.set_xlim(0); ax.set_ylim(0); ax.grid(alpha=.3); ax.legend(fontsize=8)
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True); fig.tight_layout(); fig.savefig(path, dpi=120)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sets', default='Set5,Set14,B100,Urban100'); ap.add_argument('--scales', default='2,3,4')
    ap.add_argument('--threads', default='1,2', help='thread counts to time, comma-separated (each for idarts and BasicSR)')
    ap.add_argument('--no-before', action='store_true', help='skip the previous idarts pipeline (no old-vs-new check)')
    ap.add_argument('--figure', help='write the per-image time vs megapixels figure here (one thread)')
    ap.add_argument('--json', help='write all timings and differences here')
    a = ap.parse_args(argv)
    sets, scales = a.sets.split(','), [int(s) for s in a.scales.split(',')]
    threads = [int(t) for t in a.threads.split(',')]
    bsr = load_basicsr()
    list(map(lambda s: list_images(s, strict=True), sets))               # fail early on a missing set
    evaluate_sets(bicubic_method(), sets[:1], scales[:1], progress=False, threads=1)   # warm-up: imports, caches

    res, ok = dict(sets=sets, scales=scales, runs={}), True
    if not a.no_before:
        v_old, t_old = idarts_before(sets, scales); res['runs']['idarts_before_1'] = t_old
        print(f"idarts before the fast path, 1 thread: {t_old:7.1f} s", flush=True)
    for th in threads:
        v_b, t_b, per_b, c_b = basicsr_table(bsr, sets, scales, th)
        v_n, t_n, rows, c_n = idarts_table(sets, scales, th)
        res['runs'][f'basicsr_{th}'] = t_b; res['runs'][f'idarts_{th}'] = t_n
        res['runs'][f'basicsr_{th}_cpu'] = c_b; res['runs'][f'idarts_{th}_cpu'] = c_n
        dp, ds = max_diff(v_n, v_b)
        print(f"{th} thread{'s' if th > 1 else ' '}: BasicSR {t_b:7.1f} s, idarts {t_n:6.1f} s, ratio {t_b / t_n:5.2f}x"
              f"   (max |dPSNR| idarts vs BasicSR {dp:.4f} dB, |dSSIM| {ds:.5f})", flush=True)
        print(f"   CPU time (all threads; less sensitive to other processes on a shared machine): BasicSR {c_b:.1f} s, "
              f"idarts {c_n:.1f} s, ratio {c_b / c_n:.2f}x", flush=True)
        if th == threads[0]: per_b1 = per_b
        if not a.no_before:
            dp, ds = max_diff(v_n, v_old); same = all(v_n[k] == v_old[k] for k in v_old)
            res[f'old_vs_new_{th}'] = dict(max_dpsnr=dp, max_dssim=ds, identical=same)
            print(f"   idarts vs idarts before: max |dPSNR| {dp:.1e} dB, |dSSIM| {ds:.1e}, bit-identical: {same}"
                  f"; speed-up {t_old / t_n:.2f}x", flush=True)
            ok &= dp < 1e-6 and ds < 1e-9
    res['max_vs_basicsr'] = dict(zip(('dpsnr', 'dssim'), max_diff(v_n, v_b)))
    lr_ok, n_lr = check_matlab_lr(); ok &= lr_ok
    print(f"MATLAB's Set5 LR images reproduced exactly: {lr_ok} ({n_lr} images)")
    print(f"{len(v_n)} image-scale pairs; idarts rows:")
    for r in rows: print(f"  {r['set']:9s} x{r['scale']}  {r['psnr']:.4f} / {r['ssim']:.6f}")
    if a.figure:
        per_i = idarts_per_image(sets, scales)
        mp = {k: np.prod(load_image(k).shape[:2]) / 1e6 for k in per_i}
        print(f"wrote {figure(a.figure, mp, per_i, per_b1, threads[0])}")
        res['per_image'] = {k: dict(megapixels=mp[k], idarts=per_i[k], basicsr=per_b1[k]) for k in per_i}
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
