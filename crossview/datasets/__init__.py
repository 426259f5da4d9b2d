"""Readers for real data sets (nothing is downloaded: you point them at files you have)."""

from .h36m import H36MFrames, UnsafePickleError, load_h36m, safe_load_pickle

__all__ = ["H36MFrames", "UnsafePickleError", "load_h36m", "safe_load_pickle"]
