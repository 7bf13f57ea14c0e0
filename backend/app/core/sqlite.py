"""SQLAlchemy's aiosqlite adapter with one trip to the connection's thread per statement.

aiosqlite runs each sqlite3 call in the connection's own thread, and SQLAlchemy's adapter makes
one call each for cursor(), execute(), fetchall() and close(): four thread round trips per
statement, plus a rollback on session close and another when the pool takes the connection back.
Each trip costs the event loop ~100 µs of CPU (queue, thread switch, GIL, wake-up) against a few
µs of SQLite work, and a chat turn took 13 of them. Here a statement is one trip (execute, fetch
and close together in the thread), and commit/rollback outside a transaction cost none.

One writer at a time, queued on the event loop: SQLite lets one connection write at a time, and
a connection that finds the write lock taken sleeps in SQLite's busy handler (1, 2, 5, ... up to
100 ms a try) however soon the lock frees. A write transaction here spans several statements, each
a trip through a busy event loop, so in a burst of 500 new chats the pool's other four
connections slept on it: the statement that took the lock waited 1.9 ms at the median and up to
330 ms, and the burst's p99 read 1.3-2.6 s (against 1.2 s with a pool of one connection). So a
statement that opens a write transaction first takes the engine's writer lock (`WriterLock`: first
come, first served, no sleeping), released when the transaction ends; reads go on in
parallel on the other connections, as before. Writers outside this engine (a backup, a migration
child process) still meet SQLite's busy timeout.

Everything else (pooling, isolation level, errors, the dialect itself) is SQLAlchemy's and
aiosqlite's own; only the cursor and the connection's commit/rollback/close are replaced.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

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
    "sqlalchemy AsyncAdapt_aiosqlite_connection: __init__(dbapi, connection), _cursor_cls, _connection, "
    "_handle_exception, rollback, commit, close, terminate",
    "sqlalchemy AsyncAdapt_aiosqlite_dbapi.connect returning an adapter whose _connection is the aiosqlite connection",
    "aiosqlite Connection: _execute(function, *args) runs function in the connection's thread; _conn is the "
    "sqlite3 connection; _connection is None once closed",
)

# The statements before which Python's sqlite3 opens a transaction itself (its legacy transaction
# control, which SQLAlchemy's SQLite dialect uses): the same leading-keyword test as CPython's.
_OPENS_TRANSACTION = ("INSERT", "UPDATE", "DELETE", "REPLACE")
DEFAULT_LOCK_TIMEOUT_S = 5.0  # sqlite3's own default busy timeout, when connect() is given none


def opens_write_transaction(operation: str) -> bool:
    return operation.lstrip(" \t\r\n")[:7].upper().startswith(_OPENS_TRANSACTION)


class WriterLock:
    """First come, first served: taken at once when free, else queued, with SQLite's busy timeout.

    Hand-written for speed: an asyncio.Lock is taken with an await (a greenlet switch from inside
    the adapter) and a timeout each time, 1.6% of a whole chat turn's instructions
    (bench/instructions.py, 18.08 -> 18.37 M); this one is taken without either when free.
    """

    def __init__(self) -> None:
        self.held = False
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def locked(self) -> bool:
        return self.held

    def try_acquire(self) -> bool:
        if self.held:
            return False
        self.held = True
        return True

    async def acquire(self, timeout_s: float) -> None:
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed the lock just as it timed out or was cancelled: pass it on
            else:
                waiter.cancel()  # release() skips it
            if isinstance(error, TimeoutError):
                # What SQLite's busy timeout would have raised: SQLAlchemy maps it to OperationalError.
                raise sqlite3.OperationalError("database is locked") from None
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # handed over: it stays held, by the next in line
                return
        self.held = False


class WriterLocks:
    """One writer lock per event loop (an engine may be used from several loops, as tests do)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WriterLock] = weakref.WeakKeyDictionary()

    def for_running_loop(self) -> WriterLock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = WriterLock()
        return lock


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


@dataclass(frozen=True, slots=True)
class WriteStep:
    """One statement of a batch (app.core.writes): `refs` fill parameter `position` with the first
    column of the row statement `step` returned; `required`: no row returned rolls everything back."""

    sql: str
    parameters: list[Any]
    refs: tuple[tuple[int, int], ...] = ()
    required: bool = False


class RequiredRowMissing(Exception):
    """A required statement of a batch returned no row: the batch was rolled back."""


def _run_writes(connection: sqlite3.Connection, steps: Sequence[WriteStep]) -> list[Any]:
    """In the connection's thread: the statements in one transaction, then its commit."""
    results: list[Any] = []
    cursor = connection.cursor()
    try:
        if not connection.in_transaction:
            cursor.execute("BEGIN")
        for step in steps:
            parameters = step.parameters
            if step.refs:
                parameters = list(parameters)
                for position, source in step.refs:
                    parameters[position] = results[source]
            cursor.execute(step.sql, parameters)
            row = cursor.fetchone() if cursor.description else None
            if row is not None:
                cursor.fetchall()  # the statement runs to its end (a RETURNING of several rows)
            elif step.required:
                raise RequiredRowMissing()
            results.append(row[0] if row is not None else None)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        cursor.close()
    return results


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
        adapt = cast(OneTripConnection, self._adapt_connection)
        try:
            adapt.take_writer_lock_for(operation)
            outcome: _Outcome = await_(
                connection._execute(function, connection._conn, operation, parameters)  # type: ignore[no-untyped-call]
            )
        except Exception as error:
            adapt.release_writer_lock_unless_writing()
            adapt._handle_exception(error)
        adapt.release_writer_lock_unless_writing()
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows) if rows else collections.deque()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(_execute, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(_executemany, operation, seq_of_parameters)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_lock_timeout_s", "_writer", "_writer_locks")

    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any, writer_locks: WriterLocks, lock_timeout_s: float) -> None:
        super().__init__(dbapi, connection)
        self._writer_locks = writer_locks
        self._lock_timeout_s = lock_timeout_s
        self._writer: WriterLock | None = None  # the engine's writer lock, while this connection holds it

    def _in_transaction(self) -> bool:
        # A plain attribute read of the sqlite3 connection, safe from any thread; no trip.
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        return connection._connection is not None and connection._conn.in_transaction

    def take_writer_lock_for(self, operation: str) -> None:
        """Before a statement that opens a write transaction: wait for the engine's writer lock."""
        if self._writer is not None or self._in_transaction() or not opens_write_transaction(operation):
            return
        lock = self._writer_locks.for_running_loop()
        if not lock.try_acquire():
            await_(lock.acquire(self._lock_timeout_s))
        self._writer = lock

    async def run_writes(self, steps: Sequence[WriteStep]) -> list[Any]:
        """A whole write transaction and its commit in one trip (app.core.writes.commit_writes)."""
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        if self._writer is None:
            lock = self._writer_locks.for_running_loop()
            await lock.acquire(self._lock_timeout_s)
            self._writer = lock
        try:
            results: list[Any] = await connection._execute(_run_writes, connection._conn, steps)  # type: ignore[no-untyped-call]
        finally:
            self.release_writer_lock_unless_writing()
        return results

    def release_writer_lock_unless_writing(self) -> None:
        """After a statement, a commit, a rollback or a close: the lock goes once the transaction has ended."""
        if self._writer is not None and not self._in_transaction():
            self._drop_writer_lock()

    def rollback(self) -> None:
        # The session rolls back on close and the pool again on check-in, mostly with nothing to undo.
        try:
            if self._in_transaction():
                super().rollback()
        finally:
            self.release_writer_lock_unless_writing()

    def commit(self) -> None:
        try:
            if self._in_transaction():
                super().commit()
        finally:
            self.release_writer_lock_unless_writing()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock_unless_writing()  # closed: no transaction is left

    def terminate(self) -> None:
        # SQLAlchemy invalidates a connection whose statement was cancelled and terminates it, not
        # through close() above: a close through the thread, behind the statement (SQLite then ends
        # the transaction it opened), or a forced stop.
        try:
            super().terminate()
        finally:
            self._drop_writer_lock()

    def _drop_writer_lock(self) -> None:
        if self._writer is not None:
            lock, self._writer = self._writer, None
            lock.release()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self.writer_locks = WriterLocks()  # one DB-API object per engine: one writer lock per engine

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        # SQLAlchemy's own connect (thread set-up, async_creator_fn), with our connection class around it.
        timeout = float(kw.get("timeout", DEFAULT_LOCK_TIMEOUT_S))  # the busy timeout, for the writer lock too
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection, self.writer_locks, timeout)


def one_trip_dbapi() -> OneTripDBAPI:
    """The DB-API module to give `create_async_engine(..., module=...)` for sqlite+aiosqlite URLs."""
    return OneTripDBAPI(aiosqlite, sqlite3)
