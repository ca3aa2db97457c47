"""Sphere: publish an email newsletter and its web archive from a git repository."""

__version__ = "0.1.0"
