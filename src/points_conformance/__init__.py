"""Conformance harness for the loyalty Points and Points Ledger REST APIs."""

from __future__ import annotations

__version__ = "0.1.0"
