"""Uploads stored in S3 (a local moto_server): the same routes, the objects encrypted, gone when deleted."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
from sqlalchemy import update

from app.models import Upload
from tests.conftest import Api
from tests.fakes import files

BUCKET = "conversa-uploads"


def keys(endpoint: str) -> list[str]:
    listing = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listing.get("Contents", [])]


async def test_uploads_live_in_the_bucket_when_one_is_set(moto_s3: str, app_factory: Any, make_settings: Any) -> None:
    settings = make_settings(uploads_s3_bucket=BUCKET, uploads_s3_prefix="prod/uploads", aws_endpoint_url=moto_s3)
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        alice, bob = await api.user("alice@example.com"), await api.user("bob@example.com")
        photo = (await client.post("/api/uploads", headers=alice, files={"file": ("p.png", files.image("PNG"))})).json()
        document = (await client.post("/api/uploads", headers=alice, files={"file": ("d.pdf", files.pdf())})).json()
        stored = keys(moto_s3)
        assert len(stored) == 2
        assert all(key.startswith("prod/uploads/") for key in stored)
        head = boto3.client("s3", endpoint_url=moto_s3).head_object(Bucket=BUCKET, Key=stored[0])
        assert head["ServerSideEncryption"] == "AES256"
        assert not (settings.uploads_dir).exists() or not any(
            path.is_file() and ".incoming" not in path.parts for path in settings.uploads_dir.rglob("*")
        )

        read = await client.get(f"/api/uploads/{document['id']}", headers=alice)
        assert read.status_code == 200
        assert read.content == files.pdf()
        assert read.headers["content-disposition"].startswith("attachment;")
        assert read.headers["x-content-type-options"] == "nosniff"
        assert (await client.get(f"/api/uploads/{photo['id']}", headers=bob)).status_code == 404

        assert (await client.delete(f"/api/uploads/{document['id']}", headers=alice)).status_code == 204
        assert len(keys(moto_s3)) == 1

        chat = (await client.post("/api/chat", headers=alice, json={"message": "see"})).json()
        async with app.state.context.sessionmaker() as session:
            await session.execute(
                update(Upload).where(Upload.id == photo["id"]).values(message_id=chat["user_message"]["id"])
            )
            await session.commit()
        assert (await client.delete(f"/api/conversations/{chat['conversation_id']}", headers=alice)).status_code == 204
        assert keys(moto_s3) == []


async def test_files_sent_in_the_chat_are_read_from_the_bucket_and_go_with_their_conversation(
    moto_s3: str, app_factory: Any, make_settings: Any
) -> None:
    settings = make_settings(uploads_s3_bucket=BUCKET, aws_endpoint_url=moto_s3)
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        alice = await Api(client, app).user("alice@example.com")
        ids = []
        for name, data in (("notes.txt", b"The code word is heron."), ("lease.pdf", files.pdf(text="Rent 900"))):
            created = await client.post("/api/uploads", headers=alice, files={"file": (name, data)})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        assert len(keys(moto_s3)) == 2
        reply = await client.post("/api/chat", headers=alice, json={"message": "Read these", "attachment_ids": ids})
        assert reply.status_code == 200, reply.text
        content = reply.json()["assistant_message"]["content"]  # the fake model repeats its prompt's last turn
        assert 'File "notes.txt":\nThe code word is heron.' in content
        assert 'File "lease.pdf":\nRent 900' in content
        conversation_id = reply.json()["conversation_id"]
        assert (await client.delete(f"/api/conversations/{conversation_id}", headers=alice)).status_code == 204
        assert keys(moto_s3) == []
        for upload_id in ids:
            assert (await client.get(f"/api/uploads/{upload_id}", headers=alice)).status_code == 404
