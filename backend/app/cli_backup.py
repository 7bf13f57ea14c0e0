"""The backup commands of `python -m app.cli`: backup, list-backups, restore."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.services import backup

COMMANDS = ("backup", "list-backups", "restore")


def add_backup_commands(commands: Any) -> None:
    create = commands.add_parser("backup", help="copy the SQLite database (safe while the app runs)")
    create.add_argument("--to", type=Path, help="folder for the copy (default BACKUP_DIR or DATA_DIR/backups)")
    create.add_argument("--s3", action="store_true", help="also upload it to BACKUP_S3_BUCKET")
    listing = commands.add_parser("list-backups", help="list the backups, oldest first")
    listing.add_argument("--s3", action="store_true", help="list the ones in BACKUP_S3_BUCKET")
    listing.add_argument("--to", type=Path, help="the local folder to list")
    restore = commands.add_parser("restore", help="replace the database with a backup (stop the app first)")
    restore.add_argument("source", metavar="FILE_OR_KEY", help="a backup file, its name in BACKUP_DIR, or an S3 key")
    restore.add_argument("--s3", action="store_true", help="FILE_OR_KEY is a key (or name) in BACKUP_S3_BUCKET")
    restore.add_argument("--force", action="store_true", help="overwrite an existing database (it is kept beside)")


def run_backup_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.command == "backup":
            path = backup.create_backup(settings, args.to)
            print(f"backup written: {path} ({path.stat().st_size} bytes, integrity ok)")
            archive = backup.uploads_archive(path)
            if archive.is_file():
                print(f"uploaded files: {archive} ({archive.stat().st_size} bytes)")
            if args.s3:
                print(f"uploaded: {backup.upload(settings, path)}")
        elif args.command == "list-backups":
            folder = args.to or backup.backup_dir(settings)
            found = backup.s3_backups(settings) if args.s3 else backup.local_backups(folder)
            for info in found:
                print(f"{info.name}  {info.size:>12}  {info.modified:%Y-%m-%d %H:%M:%S}Z  {info.location}")
            if not found:
                print("no backups yet")
        else:
            source, kept = backup.restore(settings, args.source, force=args.force, from_s3=args.s3)
            if kept is not None:
                print(f"the previous database was kept as {kept}")
            print(f"restored {backup.database_path(settings)} from {source}")
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
