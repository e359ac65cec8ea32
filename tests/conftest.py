"""pytest never downloads: data sets missing from the data root stay errors (what CI and `make test` also set).
Every test finds the data one way: the `data_dir` fixture, `idarts.data.data_root()` (`$IDARTS_DATA`, else the
checkout's `data/`); the `idarts` processes a test starts inherit the environment and resolve the same root."""
import os

import pytest

os.environ.setdefault('IDARTS_OFFLINE', '1')


@pytest.fixture(scope='session')
def data_dir():
    "The data root. A missing root (or later a missing set under it) is an error, never a skip."
    from idarts.data import data_root
    root = data_root()
    if not root.is_dir(): pytest.fail(f"data root {root}: not a folder; set IDARTS_DATA to the data (see README)")
    return root
