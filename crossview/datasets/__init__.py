"""Readers for real data sets (nothing is downloaded: you point them at files you have)."""

from .h36m import H36MFrames, load_h36m

__all__ = ["H36MFrames", "load_h36m"]
