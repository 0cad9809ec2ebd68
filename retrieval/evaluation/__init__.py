"""Measuring retrieval and offline answers on question files."""
