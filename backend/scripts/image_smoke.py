"""Run in the image's build stage after the venv is trimmed: the build fails if something the app
needs went with the trim (an image format uploads accept, or a module the app imports)."""

import importlib
import io

from PIL import Image

for image_format in ("PNG", "JPEG", "WEBP", "GIF"):
    encoded = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(encoded, image_format)
    encoded.seek(0)
    with Image.open(encoded) as image:
        image.load()
        assert (image.format, image.size) == (image_format, (64, 48)), image_format
        image.getexif()
        image.copy().save(io.BytesIO(), image_format)

for module in (
    "fastapi",
    "uvicorn",
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "limits.aio.storage",
    "pypdf",
    "boto3",
    "langchain.chat_models",
    "langchain_google_genai",
    "langchain_openai",
    "langchain_ollama",
):
    importlib.import_module(module)
print("image smoke test: images decode, modules import")
