"""The FastAPI adapter: ``auto.create_app`` builds the app from config."""
