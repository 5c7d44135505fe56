"""Vendor webhook adapters: one module per kind, each defining `ADAPTER` (bot/adapters/base.py)."""
