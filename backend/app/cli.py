"""Administration from the shell: `python -m app.cli --help`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.cli_backup import COMMANDS as BACKUP_COMMANDS
from app.cli_backup import add_backup_commands, run_backup_command
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker, ensure_sqlite_folder
from app.core.migrations import upgrade_database
from app.services import uploads, users
from app.services.errors import EmailTaken
from app.services.maintenance import run_maintenance
from app.services.storage import storage_for

MIN_PASSWORD = 8


def read_password(given: str | None) -> str:
    password = given if given is not None else getpass.getpass("Password: ")
    if len(password) < MIN_PASSWORD:
        raise SystemExit(f"error: the password must have at least {MIN_PASSWORD} characters")
    return password


async def with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    ensure_sqlite_folder(settings)
    await asyncio.to_thread(upgrade_database, settings.sqlalchemy_url)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.cli", description="Conversa administration")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create an account")
    create.add_argument("email")
    create.add_argument("--password", help="read from a prompt when omitted")
    create.add_argument("--admin", action="store_true", help="make the account an administrator")
    reset = commands.add_parser("reset-password", help="set a new password (revokes the user's tokens)")
    reset.add_argument("email")
    reset.add_argument("--password", help="read from a prompt when omitted")
    commands.add_parser("list-users", help="list the accounts")
    for name, help_text in (("disable", "disable an account (revokes its tokens)"), ("enable", "enable an account")):
        commands.add_parser(f"{name}-user", help=help_text).add_argument("email")
    promote = commands.add_parser("set-admin", help="make an account an administrator (--revoke: take it back)")
    promote.add_argument("email")
    promote.add_argument("--revoke", action="store_true")
    remove = commands.add_parser("delete-user", help="delete an account and all its data (conversations, files, ...)")
    remove.add_argument("email")
    remove.add_argument("--yes", action="store_true", help="required: the deletion cannot be undone")
    add_backup_commands(commands)
    commands.add_parser(
        "cleanup-uploads", help="remove uploads never sent in a message (after UPLOADS_UNATTACHED_HOURS) and orphans"
    )
    commands.add_parser("migrate", help="apply the database migrations")
    upkeep = commands.add_parser("maintenance", help="daily upkeep: statistics, search index, free pages")
    upkeep.add_argument(
        "--vacuum", action="store_true", help="SQLite: one full VACUUM to turn on auto_vacuum (rewrites the file)"
    )
    args = parser.parse_args(argv)
    settings = settings or get_settings()
    if args.command in BACKUP_COMMANDS:
        return run_backup_command(args, settings)

    async def create_user(session: AsyncSession) -> int:
        try:
            user = await users.create_user(
                session, args.email, read_password(args.password), is_admin=args.admin or None
            )
        except EmailTaken:
            print(f"error: {args.email} already has an account", file=sys.stderr)
            return 1
        print(f"created user {user.id} {user.email}{' (admin)' if user.is_admin else ''}")
        return 0

    async def reset_password(session: AsyncSession) -> int:
        user = await users.get_user_by_email(session, args.email)
        if user is None:
            print(f"error: no account for {args.email}", file=sys.stderr)
            return 1
        await users.set_password(session, user, read_password(args.password))
        print(f"password changed for {user.email}; their old tokens no longer work")
        return 0

    async def list_users(session: AsyncSession) -> int:
        print(f"{'id':>5}  {'email':<40} {'admin':<6} {'active':<6} created")
        for user in await users.list_users(session):
            created = f"{user.created_at:%Y-%m-%d %H:%M}"
            print(f"{user.id:>5}  {user.email:<40} {user.is_admin!s:<6} {user.is_active!s:<6} {created}")
        return 0

    async def set_active(session: AsyncSession) -> int:
        user = await users.get_user_by_email(session, args.email)
        if user is None:
            print(f"error: no account for {args.email}", file=sys.stderr)
            return 1
        active = args.command == "enable-user"
        await users.set_active(session, user, active)
        print(f"{user.email} {'enabled' if active else 'disabled; their tokens no longer work'}")
        return 0

    async def set_admin(session: AsyncSession) -> int:
        user = await users.get_user_by_email(session, args.email)
        if user is None:
            print(f"error: no account for {args.email}", file=sys.stderr)
            return 1
        await users.set_admin(session, user, not args.revoke)
        print(f"{user.email} {'is no longer' if args.revoke else 'is now'} an administrator")
        return 0

    async def delete_user(session: AsyncSession) -> int:
        if not args.yes:
            print("error: add --yes to delete the account and all its data (this cannot be undone)", file=sys.stderr)
            return 1
        user = await users.get_user_by_email(session, args.email)
        if user is None:
            print(f"error: no account for {args.email}", file=sys.stderr)
            return 1
        await users.delete_user(session, storage_for(settings), user)
        print(f"deleted {args.email} and all their data")
        return 0

    async def cleanup_uploads(session: AsyncSession) -> int:
        report = await uploads.cleanup(session, storage_for(settings), settings)
        print(f"removed {report.unattached} unattached uploads and {report.orphans} orphan files")
        return 0

    async def migrate(_: AsyncSession) -> int:
        print("database is up to date")
        return 0

    async def maintenance(session: AsyncSession) -> int:
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        report = await run_maintenance(engine, vacuum=args.vacuum)
        for line in report.steps:
            print(f"done: {line}")
        for note in report.notes:
            print(f"note: {note}")
        return 0

    handlers = {
        "create-user": create_user,
        "reset-password": reset_password,
        "list-users": list_users,
        "disable-user": set_active,
        "enable-user": set_active,
        "set-admin": set_admin,
        "delete-user": delete_user,
        "cleanup-uploads": cleanup_uploads,
        "migrate": migrate,
        "maintenance": maintenance,
    }
    return asyncio.run(with_session(settings, handlers[args.command]))


if __name__ == "__main__":
    sys.exit(main())
