"""A model's reply chunks one at a time, without LangChain keeping every one of them.

`BaseChatModel.astream` appends each chunk it yields to a list for its end-of-run callbacks and
holds that list until the reply ends: ~1 kB of objects a token, ~100-250 kB for a long reply,
which is most of the memory 1,000 replies at once take (issue 19; measured with tracemalloc:
pydantic model construction of the kept chunks led the allocations). The app registers no
LangChain callbacks and no tracing, so this runs the provider's own `_astream` and yields each
message chunk as `astream` would (with the same response metadata), keeping none of them. A model
with callbacks, a v1 output format or no streaming goes through `astream` as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # LangChain is imported when the first model is built, not at start-up
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage, BaseMessageChunk
    from langchain_core.outputs import ChatGenerationChunk


def _lean(model: BaseChatModel, kwargs: dict[str, Any]) -> bool:
    from langchain_core.language_models import BaseChatModel

    return (
        isinstance(model, BaseChatModel)
        and not model.callbacks
        and getattr(model, "output_version", None) != "v1"
        and model._should_stream(async_api=True, **{**kwargs, "stream": True})
    )


async def stream_chunks(model: BaseChatModel, messages: list[BaseMessage], **kwargs: Any) -> AsyncIterator[Any]:
    """The reply's message chunks, like `model.astream(messages, **kwargs)`."""
    if not _lean(model, kwargs):
        chunks = cast(AsyncGenerator[Any, None], model.astream(messages, **kwargs))
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                yield chunk
        return
    if model.rate_limiter:
        await model.rate_limiter.aacquire(blocking=True)
    stop = kwargs.pop("stop", None)
    generations = cast("AsyncGenerator[ChatGenerationChunk, None]", model._astream(messages, stop=stop, **kwargs))
    async with contextlib.aclosing(generations):
        async for generation in generations:
            message: BaseMessageChunk = generation.message
            if generation.generation_info:  # as astream does: the provider's info joins the metadata
                message.response_metadata = {**generation.generation_info, **message.response_metadata}
            yield message
