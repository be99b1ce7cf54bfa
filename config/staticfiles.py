"""Serve plotly.min.js straight from the installed plotly package.

The bundle ships inside the wheel, so pinning plotly pins the JS and no CDN
is needed; this finder exposes that one file (not the package's datasets).
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "plotly.min.js"
PACKAGE_DATA = Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    prefix = "plotly"

    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=PACKAGE_DATA)
        self.storage.prefix = self.prefix

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path == f"{self.prefix}/{PLOTLY_JS}":
            found = str(PACKAGE_DATA / PLOTLY_JS)
            return [found] if find_all else found
        return []  # what Django's own finders return for "not here", whatever find_all is

    def list(self, ignore_patterns):
        yield PLOTLY_JS, self.storage
