"""Benchmarks of Личный кабинет ТП: ``python -m bench`` (see ``bench/__main__.py``)."""
