from monogram.core.errors import MonogramError

__all__ = ["MonogramError"]
__version__ = "0.1.0"
