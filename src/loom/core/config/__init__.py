"""Configuration: YAML loading (``loader``) shared by the API and the worker."""

from loom.core.config.loader import (
    ConfigError,
    config_error,
    load_config,
    resolve,
    section,
    select,
    source_of,
)

__all__ = [
    "ConfigError",
    "config_error",
    "load_config",
    "resolve",
    "section",
    "select",
    "source_of",
]
