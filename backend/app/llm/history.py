"""Turn stored chat turns into LangChain messages that fit the token budget."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately

from app.llm.attachments import build_user_message, estimate_tokens
from app.llm.types import Attachment, ChatTurn

UNSEEN_IMAGE = "[An image was sent here; the current model cannot see images.]"


def to_message(turn: ChatTurn) -> BaseMessage:
    return HumanMessage(turn.content) if turn.role == "user" else AIMessage(turn.content)


def build_prompt(
    system_prompt: str, turns: Sequence[ChatTurn], token_budget: int, *, vision: bool = False, pdfs: bool | None = None
) -> list[BaseMessage]:
    """System prompt first (Gemini honours it only there), then the newest turns that fit the budget.

    Counting is approximate and local: a remote count-tokens call per turn would cost a round trip.
    An attachment counts what the model is charged for it (`estimate_tokens`), not its base64 size.
    The newest turn is always kept, even when it alone exceeds the budget. Raises CannotReadImages
    when the newest turn has an image and the model has no vision (the chat checks that before
    storing anything); an older turn's image becomes a note for such a model. `pdfs`: the model
    reads PDFs itself (default: as `vision`).
    """
    system = SystemMessage(system_prompt)
    remaining = token_budget - count_tokens_approximately([system])
    kept: list[BaseMessage] = []
    for turn in reversed(turns):
        if turn.role == "user" and turn.attachments:
            message, cost = _with_attachments(turn, remaining, vision=vision, pdfs=pdfs, newest=not kept)
        else:
            message = to_message(turn)
            cost = count_tokens_approximately([message])
        if kept and cost > remaining:
            break
        kept.append(message)
        remaining -= cost
    kept.reverse()
    # A conversation must start with the user: drop an assistant turn cut loose from its question.
    while len(kept) > 1 and isinstance(kept[0], AIMessage):
        kept.pop(0)
    return [system, *kept]


def _with_attachments(
    turn: ChatTurn, remaining: int, *, vision: bool, pdfs: bool | None, newest: bool
) -> tuple[BaseMessage, int]:
    attachments: Sequence[Attachment] = turn.attachments
    if not vision and not newest:
        attachments = [Attachment(a.name, "text/plain", text=UNSEEN_IMAGE) if a.is_image else a for a in attachments]
    text_cost = count_tokens_approximately([HumanMessage(turn.content)])
    # Text taken from files (PDFs without vision, text files) gets what the budget has left.
    text_budget = max(0, remaining - text_cost)
    message = build_user_message(turn.content, attachments, vision=vision, text_budget_tokens=text_budget, pdfs=pdfs)
    cost = text_cost + sum(
        estimate_tokens(a, vision=vision, text_budget_tokens=text_budget, pdfs=pdfs) for a in attachments
    )
    if not vision and isinstance(message.content, list):
        # Only text blocks are left: one string, which every local and Ollama chat template takes.
        message = HumanMessage("\n\n".join(str(block["text"]) for block in message.content if isinstance(block, dict)))
    return message, cost
