"""Helpers for testing code that uses rumpolicy: hypothesis strategies (needs `hypothesis`)."""
