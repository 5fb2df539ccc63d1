"""Reproductions of the papers' experiments, one module each (the framework replaces this file at merge)."""
