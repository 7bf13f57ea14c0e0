"""SQLAlchemy's aiosqlite adapter with one trip to the connection's thread per statement.

aiosqlite runs each sqlite3 call in the connection's own thread, and SQLAlchemy's adapter makes
one call each for cursor(), execute(), fetchall() and close(): four thread round trips per
statement, plus a rollback on session close and another when the pool takes the connection back.
Each trip costs the event loop ~100 µs of CPU (queue, thread switch, GIL, wake-up) against a few
µs of SQLite work, and a chat turn took 13 of them. Here a statement is one trip (execute, fetch
and close together in the thread), and commit/rollback outside a transaction cost none.

Everything else (pooling, isolation level, errors, the dialect itself) is SQLAlchemy's and
aiosqlite's own; only the cursor and the connection's commit/rollback are replaced.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# The versions this adapter was read against, and what it relies on in them (a test fails when the
# installed ones differ: re-read these, run tests/core/test_sqlite.py, then update the versions).
CHECKED_AGAINST = {"sqlalchemy": "2.1.9", "aiosqlite": "0.22.1"}
PRIVATE_PARTS_USED = (
    "sqlalchemy AsyncAdapt_aiosqlite_cursor: __init__ attributes (_adapt_connection, _connection, _cursor, "
    "_soft_closed_memoized, _rows), _async_soft_close, close, execute, executemany",
    "sqlalchemy AsyncAdapt_aiosqlite_connection: _cursor_cls, _connection, _handle_exception, rollback, commit",
    "sqlalchemy AsyncAdapt_aiosqlite_dbapi.connect returning an adapter whose _connection is the aiosqlite connection",
    "aiosqlite Connection: _execute(function, *args) runs function in the connection's thread; _conn is the "
    "sqlite3 connection; _connection is None once closed",
)

# What one statement leaves behind: description, rowcount, lastrowid, rows (None without a result set).
_Outcome = tuple[Any, int, int | None, list[Any] | None]


def _execute(connection: sqlite3.Connection, operation: str, parameters: Sequence[Any] | None) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.execute(operation, parameters or ())
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _executemany(connection: sqlite3.Connection, operation: str, seq_of_parameters: Any) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return cursor.description, cursor.rowcount, cursor.lastrowid, None
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs, is fetched and is closed in a single thread trip."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: OneTripConnection) -> None:
        # No aiosqlite cursor (its creation alone is a trip): statements run on the sqlite3
        # connection inside the connection's thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # rows are always fetched in full, in the thread

    async def _async_soft_close(self) -> None:
        pass  # nothing stays open between statements

    def close(self) -> None:
        self._rows.clear()

    def _run(self, function: Any, operation: Any, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            outcome: _Outcome = await_(
                connection._execute(function, connection._conn, operation, parameters)  # type: ignore[no-untyped-call]
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows) if rows else collections.deque()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(_execute, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(_executemany, operation, seq_of_parameters)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def _in_transaction(self) -> bool:
        # A plain attribute read of the sqlite3 connection, safe from any thread; no trip.
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        return connection._connection is not None and connection._conn.in_transaction

    def rollback(self) -> None:
        # The session rolls back on close and the pool again on check-in, mostly with nothing to undo.
        if self._in_transaction():
            super().rollback()

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        # SQLAlchemy's own connect (thread set-up, async_creator_fn), with our connection class around it.
        return OneTripConnection(self, super().connect(*arg, **kw)._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    """The DB-API module to give `create_async_engine(..., module=...)` for sqlite+aiosqlite URLs."""
    return OneTripDBAPI(aiosqlite, sqlite3)
