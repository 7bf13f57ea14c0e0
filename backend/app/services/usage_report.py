"""The administrator's usage report: totals per day, per user or per model over a date range.

Per day and per user the counts come from `usage_days` (turns, reply and title tokens); the cost
needs the model, so it is summed from the replies (`messages.model`) over the same range, read
through `ix_messages_created_at` (admin-only, bounded by the range). Per model the replies are
the source: `messages` counts replies there, and the title tokens make a row of their own.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Date, Table, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Conversation, Message, UsageDay, User

Group = Literal["day", "user", "model"]
Prices = dict[str, tuple[float, float]]
TITLES_ROW = "(titles)"
MAX_DAYS = 400

_USAGE = cast(Table, UsageDay.__table__)


@dataclass(slots=True)
class UsageRow:
    key: str  # the day (YYYY-MM-DD), the user's email or the model
    user_id: int | None = None
    messages: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    title_input_tokens: int = 0
    title_output_tokens: int = 0
    cost_usd: float | None = None  # None: no price known for any model involved


@dataclass(slots=True)
class UsageReport:
    start: date
    end: date
    group: Group
    rows: list[UsageRow]
    total: UsageRow


def cost_of(prices: Prices, model: str | None, input_tokens: int, output_tokens: int) -> float | None:
    price = prices.get(model or "")
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


def _add_cost(current: float | None, extra: float | None) -> float | None:
    if extra is None:
        return current
    return (current or 0.0) + extra


def _utc_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _message_day(session: AsyncSession) -> Any:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return sql_cast(func.timezone("UTC", Message.created_at), Date)
    return func.date(Message.created_at)


async def build_report(
    session: AsyncSession, start: date, end: date, group: Group, prices: Prices, title_model: str
) -> UsageReport:
    """Totals over [start, end] (UTC days, both included); titles are priced as `title_model`."""
    in_range = (Message.created_at >= _utc_start(start)) & (Message.created_at < _utc_start(end + timedelta(days=1)))
    replies = (Message.role == "assistant") & in_range
    rows: dict[Any, UsageRow] = {}
    if group == "model":
        statement = (
            select(Message.model, func.count(), func.sum(Message.input_tokens), func.sum(Message.output_tokens))
            .where(replies)
            .group_by(Message.model)
        )
        for model, count, given, taken in await session.execute(statement):
            row = UsageRow(model or "(unknown)", messages=int(count), input_tokens=int(given or 0))
            row.output_tokens = int(taken or 0)
            row.cost_usd = cost_of(prices, model, row.input_tokens, row.output_tokens)
            rows[model] = row
        titles = (
            await session.execute(
                select(func.sum(_USAGE.c.title_input_tokens), func.sum(_USAGE.c.title_output_tokens)).where(
                    _USAGE.c.day >= start, _USAGE.c.day <= end
                )
            )
        ).one()
        if titles[0] or titles[1]:
            row = UsageRow(TITLES_ROW, title_input_tokens=int(titles[0] or 0), title_output_tokens=int(titles[1] or 0))
            row.cost_usd = cost_of(prices, title_model, row.title_input_tokens, row.title_output_tokens)
            rows[TITLES_ROW] = row
    else:
        key_column: Any = _USAGE.c.day if group == "day" else _USAGE.c.user_id
        counters = (
            select(
                key_column,
                func.sum(_USAGE.c.messages),
                func.sum(_USAGE.c.input_tokens),
                func.sum(_USAGE.c.output_tokens),
                func.sum(_USAGE.c.title_input_tokens),
                func.sum(_USAGE.c.title_output_tokens),
            )
            .where(_USAGE.c.day >= start, _USAGE.c.day <= end)
            .group_by(key_column)
        )
        emails: dict[int, str] = {}
        if group == "user":
            counters = counters.add_columns(func.min(User.email)).join(User, User.id == _USAGE.c.user_id)
        for record in await session.execute(counters):
            values = tuple(record)
            key, turns, given, taken, title_given, title_taken = values[:6]
            if group == "user":
                emails[key] = values[6]
            row = UsageRow(
                emails[key] if group == "user" else str(key),
                user_id=key if group == "user" else None,
                messages=int(turns or 0),
                input_tokens=int(given or 0),
                output_tokens=int(taken or 0),
                title_input_tokens=int(title_given or 0),
                title_output_tokens=int(title_taken or 0),
            )
            row.cost_usd = cost_of(prices, title_model, row.title_input_tokens, row.title_output_tokens)
            rows[str(key) if group == "day" else key] = row
        if prices:  # the replies' cost by model (no prices set: nothing to read)
            by: Any = _message_day(session) if group == "day" else Conversation.user_id
            per_model = (
                select(by, Message.model, func.sum(Message.input_tokens), func.sum(Message.output_tokens))
                .where(replies)
                .group_by(by, Message.model)
            )
            if group == "user":
                per_model = per_model.join(Conversation, Conversation.id == Message.conversation_id)
            for key, model, given, taken in await session.execute(per_model):
                target = rows.get(str(key) if group == "day" else key)
                if target is not None:
                    extra = cost_of(prices, model, int(given or 0), int(taken or 0))
                    target.cost_usd = _add_cost(target.cost_usd, extra)
    ordered = sorted(rows.values(), key=lambda row: row.key)
    return UsageReport(start, end, group, ordered, _total(ordered))


def _total(rows: list[UsageRow]) -> UsageRow:
    total = UsageRow("total")
    for row in rows:
        total.messages += row.messages
        total.input_tokens += row.input_tokens
        total.output_tokens += row.output_tokens
        total.title_input_tokens += row.title_input_tokens
        total.title_output_tokens += row.title_output_tokens
        total.cost_usd = _add_cost(total.cost_usd, row.cost_usd)
    return total


def report_csv(report: UsageReport) -> str:
    """The rows and a last `total` row, with a header line (cost empty when unknown)."""
    names = [field.name for field in fields(UsageRow)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([report.group if name == "key" else name for name in names])
    for row in [*report.rows, report.total]:
        values = asdict(row)
        if values["cost_usd"] is not None:
            values["cost_usd"] = f"{values['cost_usd']:.6f}"
        writer.writerow(["" if values[name] is None else values[name] for name in names])
    return out.getvalue()


__all__ = ["MAX_DAYS", "Group", "UsageReport", "UsageRow", "build_report", "report_csv"]
