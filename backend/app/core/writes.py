"""A transaction's writes sent together: on SQLite in one trip to the connection's thread.

A chat turn stores its question, moves the conversation's active leaf and counts the turn: three
statements and a commit. Sent one by one, each is a trip through the event loop, and on SQLite the
transaction holds the database's only write lock across all of them; in a burst of 500 new chats
those trips queue behind every other request, so the lock was held for milliseconds and the other
writers waited on it. `commit_writes` sends the statements with the commit in one trip on SQLite
(the lock is held for SQLite's own work, ~0.2 ms) and one by one through the session elsewhere
(PostgreSQL's row locks are per row: nothing to gain there, and no second way to maintain).

The statements are SQLAlchemy Core statements, compiled by SQLAlchemy (once per statement and set
of columns) and their parameters processed by their column types, as `session.execute` does; a
value can be `Returned(i)`: the first column of the row statement `i` of the same batch returned
(its `RETURNING id`). Measured with bench/profile_turn.py and bench/run.py (issue 19's note).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from app.core.sqlite import RequiredRowMissing, WriteStep


@dataclass(frozen=True, slots=True)
class Returned:
    """The first column of the first row that statement `step` of the same batch returned."""

    step: int


@dataclass(frozen=True, slots=True)
class Write:
    """One statement of a batch and its values. `required` (only the batch's first write may be):
    when it returns no row (an insert guarded by a condition), nothing was written and the batch
    stops there: `commit_writes` returns None."""

    statement: Executable
    values: Mapping[str, Any] = field(default_factory=dict)
    required: bool = False


@dataclass(frozen=True, slots=True)
class CompiledWrite:
    """A statement as SQLite runs it: its SQL and how to turn a call's values into its parameters."""

    sql: str
    compiled: SQLCompiler
    names: tuple[str, ...]  # the bind parameters in the SQL's order
    processors: tuple[Any, ...]  # each one's bind processor (None: the value as it is)
    defaults: tuple[tuple[str, Any], ...]  # Python-side column defaults (name, value or callable)

    def step(self, write: Write) -> WriteStep:
        """The SQL, its positional parameters, which of them are `Returned` values, and `required`."""
        values = write.values
        params = self.compiled.construct_params(dict(values)) if self.compiled.binds else {}
        for name, default in self.defaults:
            if name not in values:
                params[name] = default() if callable(default) else default
        out: list[Any] = []
        refs: list[tuple[int, int]] = []
        for position, (name, processor) in enumerate(zip(self.names, self.processors, strict=True)):
            value = values[name] if name in values else params[name]
            if type(value) is Returned:
                refs.append((position, value.step))
                value = None  # filled in from that statement's row, in the trip
            elif processor is not None:
                value = processor(value)
            out.append(value)
        return WriteStep(self.sql, out, tuple(refs), write.required)


class NotOneTrip(Exception):
    """This statement needs SQLAlchemy's own execution (expanding IN lists, literal execution)."""


@functools.lru_cache(maxsize=256)
def compile_write(statement: Executable, keys: tuple[str, ...], dialect: Dialect) -> CompiledWrite:
    if not isinstance(statement, ClauseElement):
        raise NotOneTrip(type(statement).__name__)
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params or compiled.positiontup is None:
        raise NotOneTrip(str(statement)[:80])
    names = tuple(compiled.positiontup)
    processors = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    defaults: list[tuple[str, Any]] = []
    for column, default in [(c, c.default) for c in compiled.insert_prefetch] + [
        (c, c.onupdate) for c in compiled.update_prefetch
    ]:
        if default is None or not (default.is_scalar or default.is_callable):
            raise NotOneTrip(f"{column.key}: a default SQLAlchemy must compute")
        arg = default.arg  # type: ignore[attr-defined]
        # SQLAlchemy wraps a callable default to take the execution context; the models' take none.
        defaults.append((column.key, functools.partial(arg, None) if default.is_callable else arg))
    return CompiledWrite(compiled.string, compiled, names, processors, tuple(defaults))


def _observers(connection: Connection | None) -> Connection | None:
    """The connection, when anything listens to its statements (no cursor or context is passed to them)."""
    if connection is None:
        return None
    dispatch = connection.dispatch
    return connection if dispatch.before_cursor_execute or dispatch.after_cursor_execute else None


def _resolve(values: Mapping[str, Any], results: list[Any]) -> dict[str, Any]:
    return {key: results[value.step] if type(value) is Returned else value for key, value in values.items()}


async def commit_writes(session: AsyncSession, writes: Sequence[Write]) -> list[Any] | None:
    """Run `writes` in one transaction and commit it; each one's first returned value (or None).

    None, with nothing stored, when the `required` first write returned no row (the session's
    transaction has then ended on SQLite and is left open elsewhere: nothing to roll back in
    either). The session must have no pending ORM changes (they would not be flushed first); its
    loaded objects are not refreshed.
    """
    assert not session.new, "flush or commit ORM changes first"
    assert not session.dirty, "flush or commit ORM changes first"
    assert not session.deleted, "flush or commit ORM changes first"
    assert not any(write.required for write in writes[1:]), "only the first write may be required"
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).dbapi_connection
    run_in_one_trip = getattr(raw, "run_writes", None)
    if run_in_one_trip is not None:
        dialect = connection.dialect
        try:
            compiled = [(compile_write(w.statement, tuple(w.values), dialect), w) for w in writes]
        except NotOneTrip:
            compiled = []
        if compiled:
            steps = [c.step(w) for c, w in compiled]
            observed = _observers(connection.sync_connection)
            if observed is not None:  # listeners of the engine's statements (tests, bench counters) see these too
                for step in steps:
                    observed.dispatch.before_cursor_execute(observed, None, step.sql, step.parameters, None, False)
            try:
                results: list[Any] | None = await run_in_one_trip(steps)
            except RequiredRowMissing:
                results = None
            except dialect.loaded_dbapi.Error as error:  # as session.execute raises it: IntegrityError, ...
                sql = "; ".join(step.sql for step in steps)
                raise exc.DBAPIError.instance(sql, None, error, dialect.loaded_dbapi.Error) from error
            finally:
                await session.commit()  # ends the session's transaction (nothing left to commit: no trip)
            if observed is not None:
                for step in steps:
                    observed.dispatch.after_cursor_execute(observed, None, step.sql, step.parameters, None, False)
            return results
    results = []
    for write in writes:
        result = await session.execute(write.statement, _resolve(write.values, results))
        try:
            value = result.scalar()
        except exc.ResourceClosedError:  # a statement without RETURNING
            value = None
        if value is None and write.required:
            return None  # the first write, and it wrote nothing: no rollback (it would expire the session's objects)
        results.append(value)
    await session.commit()
    return results


__all__ = ["CompiledWrite", "NotOneTrip", "Returned", "Write", "commit_writes", "compile_write"]
