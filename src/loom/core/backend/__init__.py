"""Storage backends as the 0.2 API named them; ``sqlalchemy`` is the only one."""
