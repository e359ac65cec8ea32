"""idarts.download against a local HTTP server (127.0.0.1, nothing touches the internet):
verified downloads, Range resume, interrupted transfers, tampering, zip/tar slip, the DIV2K hash rules."""
import hashlib, io, os, tarfile, threading, zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from idarts.core import IdartsError
from idarts import download
from idarts.data import data_root, ensure_dataset, list_images
from idarts.download import (PUBLISHED, download_dataset, download_file, manifest_rows, read_sums, safe_extract, sha256_file)


class Server:
    "Serves `files` {url path: bytes}; honours `Range: bytes=N-` unless `ranges` is False; `cut` bytes then drops the connection."
    def __init__(self):
        self.files, self.log, self.ranges, self.cut = {}, [], True, None
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_GET(self):
                data = srv.files.get(self.path)
                if data is None: self.send_error(404); return
                rng = self.headers.get('Range')
                start = int(rng.split('=')[1].split('-')[0]) if rng and srv.ranges else 0
                if start >= len(data) and start:
                    self.send_response(416); self.send_header('Content-Range', f'bytes */{len(data)}')
                    srv.log.append((self.path, start, 0))  # logged before the reply: the client may be done before we return
                    self.send_header('Content-Length', '0'); self.end_headers(); return
                body = data[start:]
                sent = body if srv.cut is None else body[:srv.cut]
                srv.log.append((self.path, start, len(sent)))
                self.send_response(206 if start else 200)
                if start: self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
                self.send_header('Content-Length', str(len(body))); self.end_headers()
                if srv.cut is not None: self.close_connection = True
                self.wfile.write(sent); self.wfile.flush()

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.url = f'http://127.0.0.1:{self.httpd.server_port}'
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def srv():
    s = Server(); yield s; s.httpd.shutdown(); s.httpd.server_close()


PAYLOAD = os.urandom(500_000)
GOOD = hashlib.sha256(PAYLOAD).hexdigest()


def test_download_ok(srv, tmp_path):
    srv.files['/f.bin'] = PAYLOAD
    p = download_file(f'{srv.url}/f.bin', tmp_path / 'sub' / 'f.bin', GOOD, progress=False)
    assert p.read_bytes() == PAYLOAD and sha256_file(p) == GOOD
    assert not (tmp_path / 'sub' / 'f.bin.part').exists()
    download_file(f'{srv.url}/f.bin', p, GOOD, progress=False)
    assert len(srv.log) == 1  # verified file kept, not fetched again


def test_resume_from_part(srv, tmp_path):
    srv.files['/f.bin'] = PAYLOAD
    (tmp_path / 'f.bin.part').write_bytes(PAYLOAD[:200_000])
    p = download_file(f'{srv.url}/f.bin', tmp_path / 'f.bin', GOOD, progress=False)
    assert p.read_bytes() == PAYLOAD
    assert srv.log == [('/f.bin', 200_000, 300_000)]  # only the missing bytes travelled


def test_interrupted_then_resumed(srv, tmp_path):
    srv.files['/f.bin'] = PAYLOAD; srv.cut = 100_000
    with pytest.raises(IdartsError, match='rerun the same command to resume'):
        download_file(f'{srv.url}/f.bin', tmp_path / 'f.bin', GOOD, progress=False)
    part = tmp_path / 'f.bin.part'
    assert part.read_bytes() == PAYLOAD[:100_000] and not (tmp_path / 'f.bin').exists()
    srv.cut = None
    assert download_file(f'{srv.url}/f.bin', tmp_path / 'f.bin', GOOD, progress=False).read_bytes() == PAYLOAD
    assert srv.log[-1] == ('/f.bin', 100_000, 400_000)


def test_server_without_range_and_complete_part(srv, tmp_path):
    srv.files['/f.bin'] = PAYLOAD; srv.ranges = False
    (tmp_path / 'f.bin.part').write_bytes(b'garbage' * 10)
    assert download_file(f'{srv.url}/f.bin', tmp_path / 'f.bin', GOOD, progress=False).read_bytes() == PAYLOAD
    srv.ranges = True  # a .part that already holds every byte: 416, then verified and renamed
    (tmp_path / 'g.bin.part').write_bytes(PAYLOAD)
    assert download_file(f'{srv.url}/f.bin', tmp_path / 'g.bin', GOOD, progress=False).read_bytes() == PAYLOAD
    assert srv.log[-1] == ('/f.bin', len(PAYLOAD), 0)


def test_tampered_rejected_good_file_untouched(srv, tmp_path):
    srv.files['/f.bin'] = PAYLOAD[:-1] + bytes([PAYLOAD[-1] ^ 1])
    dest = tmp_path / 'f.bin'; dest.write_bytes(b'an older, locally damaged copy')
    with pytest.raises(IdartsError, match=r'f\.bin.*tampered or corrupted download; retry') as e:
        download_file(f'{srv.url}/f.bin', dest, GOOD, progress=False)
    assert f'{srv.url}/f.bin' in str(e.value) and '\n' not in str(e.value)
    assert dest.read_bytes() == b'an older, locally damaged copy'  # only a verified download replaces a file
    assert not (tmp_path / 'f.bin.part').exists()


def test_dataset_tampered_file_rejected_others_kept(srv, tmp_path, data_dir):
    rows = manifest_rows('Set5')
    srv.files = {f"/{r['source_repo']}/HEAD/{r['source_path']}": (data_dir / r['path']).read_bytes() for r in rows}
    root = tmp_path / 'data'
    d = download_dataset('Set5', root=root, base_url=srv.url, progress=False)
    assert sorted(p.name for p in d.iterdir()) == ['baby.png', 'bird.png', 'butterfly.png', 'head.png', 'woman.png']
    assert all(sha256_file(root / r['path']) == r['sha256'] for r in rows)
    mtimes = {r['path']: (root / r['path']).stat().st_mtime_ns for r in rows}
    bfly = next(r for r in rows if r['path'].endswith('HR/butterfly.png'))
    key = f"/{bfly['source_repo']}/HEAD/{bfly['source_path']}"
    srv.files[key] = srv.files[key][:-10] + b'0123456789'
    (root / bfly['path']).unlink()
    n = len(srv.log)
    with pytest.raises(IdartsError, match=r'Set5: 1 of 20 files failed.*butterfly\.png.*tampered or corrupted'):
        download_dataset('Set5', root=root, base_url=srv.url, progress=False)
    assert [p for p, *_ in srv.log[n:]] == [key]  # the verified files were not fetched again
    assert not (root / bfly['path']).exists() and not list(root.rglob('*.part'))
    assert all((root / p).stat().st_mtime_ns == t for p, t in mtimes.items() if p != bfly['path'])


def _zip(path, members):
    with zipfile.ZipFile(path, 'w') as z:
        for name, data in members: z.writestr(name, data)
    return path


def _tar(path, members):
    with tarfile.open(path, 'w') as t:
        for m in members:
            ti = tarfile.TarInfo(m[0])
            if len(m) == 3: ti.type, ti.linkname = m[1], m[2]; t.addfile(ti)
            else: ti.size = len(m[1]); t.addfile(ti, io.BytesIO(m[1]))
    return path


def test_zip_slip_refused(tmp_path):
    for bad in ['../evil.txt', 'ok/../../evil.txt', '/abs/evil.txt']:
        a = _zip(tmp_path / 'a.zip', [('ok/a.png', b'1'), (bad, b'x')])
        with pytest.raises(IdartsError, match='would be written outside'):
            safe_extract(a, tmp_path / 'out')
        assert not list((tmp_path / 'out').iterdir()) and not (tmp_path / 'evil.txt').exists()


def test_tar_slip_refused(tmp_path):
    cases = [([('ok/a', b'1'), ('../evil', b'x')], 'would be written outside'),
             ([('/idarts-evil', b'x')], 'would be written outside'),
             ([('ok/l', tarfile.SYMTYPE, '../../etc/passwd')], 'symlink pointing outside'),
             ([('ok/l', tarfile.SYMTYPE, '/etc/passwd')], 'symlink pointing outside'),
             ([('ok/h', tarfile.LNKTYPE, '../outside')], 'hard link pointing outside'),
             ([('ok/d', tarfile.CHRTYPE, '')], 'device or special file')]
    for i, (members, msg) in enumerate(cases):
        out = tmp_path / f'out{i}'
        with pytest.raises(IdartsError, match=msg) as e:
            safe_extract(_tar(tmp_path / f'a{i}.tar', members), out)
        assert repr(members[-1][0]) in str(e.value)  # the error names the member
        assert not list(out.iterdir())
    # a link chain that only escapes on disk is stopped by the data filter
    with pytest.raises(IdartsError):
        safe_extract(_tar(tmp_path / 'chain.tar', [('a', tarfile.SYMTYPE, '.'), ('a/b', tarfile.SYMTYPE, '..'),
                                                   ('a/b/escaped', b'x')]), tmp_path / 'chain')
    assert not (tmp_path / 'escaped').exists()
    ok = safe_extract(_tar(tmp_path / 'ok.tar', [('s/a', b'1'), ('s/l', tarfile.SYMTYPE, 'a')]), tmp_path / 'ok')
    assert (ok / 's' / 'l').read_bytes() == b'1'


def _valid_zip(n=100):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for i in range(801, 801 + n): z.writestr(f'DIV2K_valid_HR/{i:04d}.png', b'png%d' % i)
    return buf.getvalue()


def test_div2k_published_hashes():
    assert PUBLISHED == {'DIV2K_train_HR.zip': (3530603713, '9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335'),
                         'DIV2K_valid_HR.zip': (448993893, '20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc')}


def test_div2k_not_published_archive_refused(srv, tmp_path):
    srv.files['/DIV2K_valid_HR.zip'] = _valid_zip(); root = tmp_path / 'data'
    with pytest.raises(IdartsError, match='not the expected 448993893'):   # no flag needed: the published size/hash decide
        download_dataset('DIV2K_valid', root=root, base_url=srv.url, progress=False)
    assert not list((root / 'DIV2K').glob('*.zip*')) and read_sums(root) == {} and len(srv.log) == 1
    with pytest.raises(IdartsError, match='published sha256'):
        download_dataset('DIV2K_valid', root=root, sha256='ab' * 32, base_url=srv.url, progress=False)
    assert len(srv.log) == 1


def test_div2k_published_verified_and_resumed(srv, tmp_path, monkeypatch):
    arch = _valid_zip(); h = hashlib.sha256(arch).hexdigest(); root = tmp_path / 'data'
    monkeypatch.setitem(PUBLISHED, 'DIV2K_valid_HR.zip', (len(arch), h))   # the fake archive plays the published one
    srv.files['/DIV2K_valid_HR.zip'] = arch; srv.cut = len(arch) // 3
    with pytest.raises(IdartsError, match='rerun the same command to resume'):
        download_dataset('DIV2K_valid', root=root, base_url=srv.url, progress=False)
    srv.cut = None
    d = download_dataset('DIV2K_valid', root=root, base_url=srv.url, progress=False)
    assert srv.log[-1] == ('/DIV2K_valid_HR.zip', len(arch) // 3, len(arch) - len(arch) // 3)   # resumed
    assert len(list(d.glob('*.png'))) == 100 and read_sums(root) == {'DIV2K_valid_HR.zip': h}
    assert not (root / 'DIV2K' / 'DIV2K_valid_HR.zip').exists() and not list((root / 'DIV2K').glob('.extract-*'))
    (d / '0801.png').unlink(); srv.files['/DIV2K_valid_HR.zip'] = arch[:-4] + b'XXXX'   # same size, other bytes
    with pytest.raises(IdartsError, match='tampered or corrupted'):
        download_dataset('DIV2K_valid', root=root, trust=True, base_url=srv.url, progress=False)


def test_div2k_hash_rules_without_published(srv, tmp_path, monkeypatch):
    monkeypatch.setattr(download, 'PUBLISHED', {})   # an archive whose hash is not published: the user decides
    arch = _valid_zip(); h = hashlib.sha256(arch).hexdigest()
    srv.files['/DIV2K_valid_HR.zip'] = arch; root = tmp_path / 'data'
    with pytest.raises(IdartsError, match='--sha256 HASH.*--trust-on-first-use'):
        download_dataset('DIV2K_valid', root=root, base_url=srv.url, progress=False)
    assert srv.log == []  # nothing downloaded without a decision
    with pytest.raises(IdartsError, match='tampered or corrupted'):
        download_dataset('DIV2K_valid', root=root, sha256='ab' * 32, base_url=srv.url, progress=False)
    assert not list((root / 'DIV2K').glob('*.zip*')) and read_sums(root) == {}
    d = download_dataset('DIV2K_valid', root=root, sha256=h.upper(), base_url=srv.url, progress=False)
    assert len(list(d.glob('*.png'))) == 100 and read_sums(root) == {'DIV2K_valid_HR.zip': h}
    # later downloads enforce the recorded hash, even with --trust-on-first-use
    (d / '0801.png').unlink(); srv.files['/DIV2K_valid_HR.zip'] = arch[:-4] + b'XXXX'
    with pytest.raises(IdartsError, match='tampered or corrupted'):
        download_dataset('DIV2K_valid', root=root, trust=True, base_url=srv.url, progress=False)
    srv.files['/DIV2K_valid_HR.zip'] = arch
    assert len(list(download_dataset('DIV2K_valid', root=root, trust=True, base_url=srv.url, progress=False).glob('*.png'))) == 100


def test_trust_on_first_use_records(srv, tmp_path, monkeypatch):
    monkeypatch.setattr(download, 'PUBLISHED', {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for i in range(1, 801): z.writestr(f'DIV2K_train_HR/{i:04d}.png', b'p')
    srv.files['/DIV2K_train_HR.zip'] = buf.getvalue(); root = tmp_path / 'data'
    download_dataset('DIV2K', root=root, trust=True, base_url=srv.url, progress=False)
    line = (root / 'DIV2K' / 'SHA256SUMS').read_text()
    assert line == f"{hashlib.sha256(buf.getvalue()).hexdigest()}  DIV2K_train_HR.zip\n"


def _serve_set(srv, name, data_dir):
    rows = manifest_rows(name)
    srv.files.update({f"/{r['source_repo']}/HEAD/{r['source_path']}": (data_dir / r['path']).read_bytes() for r in rows})
    return rows


def test_fetch_on_demand(srv, tmp_path, monkeypatch, data_dir):
    "A stage's `list_images` fetches a missing set from the mirror (verified), resumes an incomplete one, and never with IDARTS_OFFLINE=1."
    rows = _serve_set(srv, 'Set5', data_dir); root = tmp_path / 'data'
    monkeypatch.setenv('IDARTS_DOWNLOAD_URL', srv.url); monkeypatch.setenv('IDARTS_DATA', str(root))
    monkeypatch.setenv('IDARTS_OFFLINE', '1')
    with pytest.raises(IdartsError, match=f'Set5: not found at {root}/benchmark/Set5/HR; run `idarts data download Set5`') as e:
        list_images('Set5')
    assert '\n' not in str(e.value) and srv.log == []
    monkeypatch.delenv('IDARTS_OFFLINE')
    assert [p.name for p in list_images('Set5')] == ['baby.png', 'bird.png', 'butterfly.png', 'head.png', 'woman.png']
    assert all(sha256_file(root / r['path']) == r['sha256'] for r in rows) and len(srv.log) == len(rows)
    (root / 'benchmark/Set5/HR/bird.png').unlink()          # incomplete (an interrupted earlier fetch): only the gap travels
    assert len(list_images('Set5')) == 5 and srv.log[-1][0].endswith('bird.png') and len(srv.log) == len(rows) + 1
    monkeypatch.setenv('IDARTS_OFFLINE', '0')                # '0' means online
    (root / 'benchmark/Set5/HR/head.png').unlink(); assert len(list_images('Set5')) == 5
    monkeypatch.setenv('IDARTS_OFFLINE', '1')                # offline: an incomplete set stays a warning
    (root / 'benchmark/Set5/HR/baby.png').unlink()
    with pytest.warns(UserWarning, match='found 4 images'): assert len(list_images('Set5')) == 4


def test_fetch_on_demand_parallel_stages_fetch_once(srv, tmp_path, monkeypatch, data_dir):
    rows = _serve_set(srv, 'Set5', data_dir); monkeypatch.setenv('IDARTS_DOWNLOAD_URL', srv.url); monkeypatch.delenv('IDARTS_OFFLINE', raising=False)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(3) as ex: got = list(ex.map(lambda _: len(list_images('Set5', root=tmp_path)), range(3)))
    assert got == [5, 5, 5] and sorted(p for p, *_ in srv.log) == sorted({p for p, *_ in srv.log})   # every file once


def test_fetch_on_demand_tampered_and_misplaced(srv, tmp_path, monkeypatch):
    monkeypatch.setenv('IDARTS_DOWNLOAD_URL', srv.url); monkeypatch.delenv('IDARTS_OFFLINE', raising=False)
    rows = manifest_rows('T91')
    srv.files.update({f"/{r['source_repo']}/HEAD/{r['source_path']}": b'not the image' for r in rows})
    with pytest.raises(IdartsError, match=r'T91: 91 of 91 files failed.*tampered or corrupted'):
        list_images('T91', root=tmp_path)
    assert not list(tmp_path.rglob('*.bmp'))                 # nothing unverified is kept
    mine = tmp_path / 'mine'; (mine / 'T91').mkdir(parents=True); (mine / 'T91' / 't1.bmp').write_bytes(b'x')   # misplaced
    n = len(srv.log)
    with pytest.raises(IdartsError, match='wrong layout'): list_images('T91', root=mine)
    assert len(srv.log) == n                                 # misplaced images are reported, not re-downloaded
    with pytest.raises(IdartsError, match='manga109.org'): list_images('Manga109', root=tmp_path)   # not downloadable


def test_bad_names(tmp_path):
    with pytest.raises(IdartsError, match='unknown data set'): download_dataset('Set6', root=tmp_path)
    with pytest.raises(IdartsError, match='manga109.org'): download_dataset('Manga109', root=tmp_path)
    with pytest.raises(IdartsError, match='--sha256 applies to DIV2K'): download_dataset('Set5', root=tmp_path, sha256='0' * 64)
