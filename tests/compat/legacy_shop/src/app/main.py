from loom.rest.fastapi.auto import create_app

app = create_app("config/api.yaml")
