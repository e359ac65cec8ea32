"The development environment (issue 23 row 6): tqdm's progress bars render as widgets in JupyterLab."
import configparser, re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ipywidgets_in_the_dev_environment():
    ini = configparser.ConfigParser(); ini.read(ROOT/'settings.ini')
    assert 'ipywidgets' in ini['DEFAULT']['dev_requirements'].split()          # pip install -e ".[dev]" (make install)
    assert re.search(r'^\s*-\s*ipywidgets\b', (ROOT/'environment.yml').read_text(), re.M)   # conda env create
