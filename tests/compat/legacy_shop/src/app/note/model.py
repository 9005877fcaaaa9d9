# Notes are declared in app.user.model (User counts them); this module re-exports them
# the way 0.2 apps split models across packages.
from app.user.model import Note

__all__ = ["Note"]
