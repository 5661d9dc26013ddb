"""The store: tables, engine factory, migrations."""

from monogram.store.engine import Store, make_engine, migrate
from monogram.store.tables import metadata

__all__ = ["Store", "make_engine", "metadata", "migrate"]
