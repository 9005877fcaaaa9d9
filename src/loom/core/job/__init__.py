"""Background jobs: declaration (``job``), dispatch (``service``) and backends."""
