"""Packaging from settings.ini (the nbdev 2 layout)."""
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
c = cfg['DEFAULT']
setuptools.setup(
    name=c['lib_name'], version=c['version'], description=c['description'],
    author=c['author'], author_email=c['author_email'], license='Apache-2.0',
    packages=setuptools.find_packages(include=['idarts', 'idarts.*']),
    package_data={'idarts': ['*.tsv', '*.json', 'zoo/genotypes/*.json', 'zoo/models/*.json', 'zoo/models/*.safetensors']},
    python_requires='>=' + c['min_python'],
    install_requires=c.get('requirements', '').split(),
    extras_require={'dev': c.get('dev_requirements', '').split()},
    entry_points={'console_scripts': c.get('console_scripts', '').split(),
                  'nbdev': [f"{c['lib_path']}={c['lib_path']}._modidx:d"]},
    long_description=open('README.md', encoding='utf-8').read(), long_description_content_type='text/markdown',
)
