"""Test doubles for outside services (a fake Gemini HTTP server, ...)."""
