"""Synthetic business-document generator (content, rendering, dataset writer).

Kept import-free so that importing the package costs nothing; import the submodules
(`documents`, `render`, `dataset`) explicitly.
"""
