"""Repositories: the abstract contracts (``abc``) and their adapters (``sqlalchemy``)."""
