"""Synthetic data: a deterministic generator of persons, employers, employment spells and the
contribution ledger, the demo data set and its organisations and users (``ansinh generate``,
``ansinh demo``). Not a store of its own: it writes into the registry and contributions tables.
"""
