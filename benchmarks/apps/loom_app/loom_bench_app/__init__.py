"""Loom benchmark application: users, records, notes and two custom use cases.

``config/bench.yaml`` puts this folder's parent on ``sys.path`` (``app.code_path``).
"""
