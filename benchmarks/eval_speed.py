"""The full Bicubic table (Set5, Set14, B100, Urban100 x2/x3/x4), timed: idarts.metrics against scikit-image.

Both score the *same* precomputed, border-shaved Y arrays (float64) in the same process:
scikit-image's `peak_signal_noise_ratio(data_range=255)` and `structural_similarity(gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255)` (the standard ssim_index protocol) against
`idarts.metrics.psnr` / `ssim`. Checks: every value agrees within 1e-4, idarts is at least 2x faster.
Also reports the end-to-end time of `evaluate_sets` (load, crop, MATLAB-bicubic down and up, metrics).

One torch thread (scipy.ndimage, under scikit-image, is single-threaded, so this compares like with
like; the project's CPUs are shared). Run: `IDARTS_DATA=../shared/data .venv/bin/python benchmarks/eval_speed.py`
(`--sets Set5,Set14` for a quicker run). Exit status 1 when a check fails.
"""
import argparse, sys, time

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr, structural_similarity as sk_ssim

from idarts.data import imresize, list_images, load_image, modcrop
from idarts.evaluate import bicubic_method, evaluate_sets, format_table
from idarts.metrics import _prep_np, psnr, ssim


def sk_metrics(pairs):
    return [(sk_psnr(b, a, data_range=255),
             sk_ssim(b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)) for a, b in pairs]


def id_metrics(pairs):
    return [(psnr(a, b, border=0), ssim(a, b, border=0)) for a, b in pairs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sets', default='Set5,Set14,B100,Urban100'); ap.add_argument('--scales', default='2,3,4')
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--chunk', type=int, default=20, help='images held in memory at once')
    ap.add_argument('--repeat', type=int, default=3, help='time each chunk this many times, keep the fastest (shared CPUs are noisy)')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    sets, scales = a.sets.split(','), [int(s) for s in a.scales.split(',')]

    t0 = time.perf_counter()
    rows, _ = evaluate_sets(bicubic_method(), sets, scales, progress=False)
    t_e2e = time.perf_counter() - t0
    print(format_table(rows))
    print(f"\nend to end (load, modcrop, imresize down+up, idarts metrics): {t_e2e:.1f} s for {sum(r['n_images'] for r in rows)} image scorings\n")

    t_sk = t_id = c_sk = c_id = 0.; n = 0; worst_p = worst_s = 0.; table = []
    for st in sets:
        for s in scales:
            paths = list_images(st, strict=True); vals = {'sk': [], 'id': []}; ts = [0., 0.]
            for i in range(0, len(paths), a.chunk):
                pairs = []
                for p in paths[i:i + a.chunk]:
                    hr = modcrop(load_image(p), s); sr = imresize(imresize(hr, 1 / s), s)
                    pairs.append((_prep_np(sr, s, True), _prep_np(hr, s, True)))  # Y (gray as is), shaved, float64
                best, cpu = [float('inf')] * 2, [float('inf')] * 2
                for rep in range(a.repeat):
                    for k in ((0, 1) if rep % 2 == 0 else (1, 0)):            # alternate who goes first
                        t, c = time.perf_counter(), time.process_time()
                        v = sk_metrics(pairs) if k == 0 else id_metrics(pairs)
                        best[k] = min(best[k], time.perf_counter() - t); cpu[k] = min(cpu[k], time.process_time() - c)
                        if rep == 0: vals['sk' if k == 0 else 'id'] += v
                t_sk += best[0]; t_id += best[1]; c_sk += cpu[0]; c_id += cpu[1]; ts[0] += best[0]; ts[1] += best[1]
                n += len(pairs)
            d = np.abs(np.array(vals['sk']) - np.array(vals['id']))
            finite = np.isfinite(d[:, 0])
            worst_p = max(worst_p, d[finite, 0].max() if finite.any() else 0.); worst_s = max(worst_s, d[:, 1].max())
            table.append((st, s, *np.mean(vals['id'], 0), *np.mean(vals['sk'], 0), *ts))

    print(f"{'set':9s} {'scale':>5s}  {'idarts PSNR/SSIM':>18s}  {'scikit-image':>18s}  {'sk s':>6s}  {'idarts s':>8s}  ratio")
    for st, s, p, q, p2, q2, tsk, tid in table:
        print(f"{st:9s} {'x' + str(s):>5s}  {p:9.4f}/{q:.6f}  {p2:9.4f}/{q2:.6f}  {tsk:6.2f}  {tid:8.2f}  {tsk / tid:.2f}x")
    ratio, cratio = t_sk / t_id, c_sk / c_id
    print(f"\nmetrics on {n} identical Y pairs ({a.threads} torch thread; fastest of {a.repeat} runs per chunk of {a.chunk} images):")
    print(f"  wall time: scikit-image {t_sk:.2f} s, idarts {t_id:.2f} s, ratio {ratio:.2f}x")
    print(f"  CPU time:  scikit-image {c_sk:.2f} s, idarts {c_id:.2f} s, ratio {cratio:.2f}x")
    print(f"largest per-image difference: PSNR {worst_p:.2e} dB, SSIM {worst_s:.2e}")
    ok_val, ok_speed = worst_p < 1e-4 and worst_s < 1e-4, ratio >= 2
    print(f"values agree within 1e-4: {'PASS' if ok_val else 'FAIL'}; idarts >= 2x faster (wall): {'PASS' if ok_speed else 'FAIL'}")
    return 0 if ok_val and ok_speed else 1


if __name__ == '__main__':
    sys.exit(main())
