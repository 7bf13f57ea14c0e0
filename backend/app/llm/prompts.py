"""Prompt texts shared by the providers."""

TITLE_INSTRUCTION = (
    "Write a short title (at most 6 words) for the conversation below, in the same language as "
    "the user's message. Reply with the title only: no quotes, no punctuation at the end."
)
TITLE_MAX_CHARS = 60
