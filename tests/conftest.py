"""Fixtures shared by the test packages (defined in ``tests/newsfixtures.py``)."""

from newsfixtures import news_site, shared_dir  # noqa: F401  (registers the fixtures)
