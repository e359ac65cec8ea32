"pytest never downloads: data sets missing from the data root stay errors (what CI and `make test` also set)."
import os

os.environ.setdefault('IDARTS_OFFLINE', '1')
