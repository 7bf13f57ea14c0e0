"""Turn stored chat turns into LangChain messages that fit the token budget."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately

from app.llm.types import ChatTurn


def to_message(turn: ChatTurn) -> BaseMessage:
    return HumanMessage(turn.content) if turn.role == "user" else AIMessage(turn.content)


def build_prompt(system_prompt: str, turns: Sequence[ChatTurn], token_budget: int) -> list[BaseMessage]:
    """System prompt first (Gemini honours it only there), then the newest turns that fit the budget.

    Counting is approximate and local: a remote count-tokens call per turn would cost a round trip.
    The newest turn is always kept, even when it alone exceeds the budget.
    """
    system = SystemMessage(system_prompt)
    remaining = token_budget - count_tokens_approximately([system])
    kept: list[BaseMessage] = []
    for turn in reversed(turns):
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
