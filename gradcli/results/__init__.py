"""Frozen plain-data results; to_dict() is the JSON contract."""
