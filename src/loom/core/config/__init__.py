"""Configuration: YAML loading (``loader``) shared by the API and the worker."""

from loom.core.config.loader import ConfigError, load_config, resolve, select

__all__ = ["ConfigError", "load_config", "resolve", "select"]
