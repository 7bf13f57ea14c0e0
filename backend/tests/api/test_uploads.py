"""Uploads: every accepted type, types decided from the bytes, limits enforced while reading,
metadata stripped, bombs refused undecoded, owner only, quota, cleanup, deletion with the conversation."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, update

from app.cli import main
from app.models import Message, Upload, utcnow
from app.services.storage import LocalStorage
from tests.conftest import Api
from tests.fakes import files

MB = 1024 * 1024


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes, content_type: str = "application/x"
) -> httpx.Response:
    return await client.post("/api/uploads", headers=headers, files={"file": (name, data, content_type)})


def stored_files(data_dir: Path) -> list[Path]:
    root = data_dir / "uploads"
    return [path for path in root.rglob("*") if path.is_file() and ".incoming" not in path.parts]


def incoming_files(data_dir: Path) -> list[Path]:
    return list((data_dir / "uploads" / ".incoming").glob("*"))


@pytest.mark.parametrize(
    ("name", "data", "mime_type"),
    [
        ("photo.png", files.image("PNG"), "image/png"),
        ("photo.jpg", files.image("JPEG"), "image/jpeg"),
        ("photo.webp", files.image("WEBP"), "image/webp"),
        ("anim.gif", files.image("GIF"), "image/gif"),
        ("contract.pdf", files.pdf(pages=3), "application/pdf"),
        ("notes.txt", "Olá, mundo! Ação.\n".encode(), "text/plain"),
        ("notes.md", b"# Title\n\n- item\n", "text/plain"),
        ("table.csv", b"a,b\n1,2\n", "text/plain"),
        ("data.json", b'{"a": [1, 2]}', "text/plain"),
        ("main.py", b"def f():\n    return 1\n", "text/plain"),
    ],
)
async def test_each_accepted_type_is_stored_and_read_back(
    api: Api, alice: dict[str, str], name: str, data: bytes, mime_type: str
) -> None:
    created = await upload(api.client, alice, name, data)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "name", "mime_type", "size", "created_at"}
    assert (body["name"], body["mime_type"]) == (name, mime_type)
    read = await api.client.get(f"/api/uploads/{body['id']}", headers=alice)
    assert read.status_code == 200
    assert read.headers["content-type"].split(";")[0] == mime_type
    assert len(read.content) == body["size"]
    if mime_type.startswith("image/"):
        with Image.open(io.BytesIO(read.content)) as picture:
            assert picture.format == mime_type.split("/")[1].upper().replace("JPG", "JPEG")
    else:
        assert read.content == data  # documents and text are kept byte for byte


async def test_the_type_comes_from_the_bytes_not_the_name_or_content_type(api: Api, alice: dict[str, str]) -> None:
    # A PNG named .pdf and sent as text is a PNG.
    created = await upload(api.client, alice, "report.pdf", files.image("PNG"), "text/plain")
    assert created.json()["mime_type"] == "image/png"
    for name, data, claimed in [
        ("photo.png", files.ELF, "image/png"),
        ("photo.jpg", files.ZIP, "image/jpeg"),
        ("fake.png", b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20, "image/png"),
        ("fake.pdf", b"%PDF-1.7\nnothing else here", "application/pdf"),
        ("latin1.txt", "ação".encode("latin-1"), "text/plain"),
    ]:
        refused = await upload(api.client, alice, name, data, claimed)
        assert refused.status_code == 415, (name, refused.text)
        assert "PNG, JPEG, WebP and GIF" in refused.json()["detail"]
        assert "PDF" in refused.json()["detail"]


@pytest.mark.parametrize(("name", "data"), [("logo.svg", files.SVG), ("page.html", files.HTML)])
async def test_svg_and_html_are_never_images_only_inert_text(
    api: Api, alice: dict[str, str], name: str, data: bytes
) -> None:
    created = await upload(api.client, alice, name, data, "image/svg+xml")
    assert created.status_code == 201
    assert created.json()["mime_type"] == "text/plain"
    read = await api.client.get(f"/api/uploads/{created.json()['id']}", headers=alice)
    assert read.headers["content-type"] == "text/plain; charset=utf-8"
    assert read.headers["content-disposition"].startswith("attachment;")
    assert read.headers["x-content-type-options"] == "nosniff"
    assert read.headers["content-security-policy"].startswith("sandbox")


async def test_downloads_are_inline_only_for_images_never_sniffed_and_sandboxed(
    api: Api, alice: dict[str, str]
) -> None:
    image = (await upload(api.client, alice, "foto de férias.png", files.image("PNG"))).json()
    document = (await upload(api.client, alice, 'a "quoted".pdf', files.pdf())).json()
    shown = await api.client.get(f"/api/uploads/{image['id']}", headers=alice)
    assert shown.headers["content-disposition"] == (
        "inline; filename=\"foto de f_rias.png\"; filename*=UTF-8''foto%20de%20f%C3%A9rias.png"
    )
    saved = await api.client.get(f"/api/uploads/{document['id']}", headers=alice)
    assert saved.headers["content-disposition"].startswith('attachment; filename="a _quoted_.pdf"')
    for response in (shown, saved):
        assert response.headers["x-content-type-options"] == "nosniff"
        # One policy, the upload's own: the app's CSP (which allows scripts from 'self') is not added.
        assert response.headers.get_list("content-security-policy") == [
            "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        ]


async def test_exif_and_gps_are_stripped_and_orientation_applied(api: Api, alice: dict[str, str]) -> None:
    original = files.image("JPEG", size=(40, 20), orientation=6)  # "rotate 90° to display"
    with Image.open(io.BytesIO(original)) as source:
        assert files.GPS_IFD in source.getexif()
    created = await upload(api.client, alice, "phone.jpg", original)
    read = await api.client.get(f"/api/uploads/{created.json()['id']}", headers=alice)
    assert b"SecretCam" not in read.content
    with Image.open(io.BytesIO(read.content)) as stored:
        assert dict(stored.getexif()) == {}
        assert "exif" not in stored.info
        assert stored.size == (20, 40)  # the pixels were turned, as a viewer would have shown them
    for kind in ("PNG", "WEBP", "GIF"):
        created = await upload(api.client, alice, f"x.{kind.lower()}", files.image(kind))
        read = await api.client.get(f"/api/uploads/{created.json()['id']}", headers=alice)
        assert b"SecretCam" not in read.content, kind
        with Image.open(io.BytesIO(read.content)) as stored:
            assert files.GPS_IFD not in stored.getexif(), kind


async def test_an_upright_jpeg_loses_its_metadata_losslessly(api: Api, alice: dict[str, str]) -> None:
    original = files.image("JPEG", size=(64, 48), orientation=1)
    # Phones append more pictures after the end of the first, each with its own EXIF.
    original_with_extra = original + files.image("JPEG", size=(8, 8))
    created = await upload(api.client, alice, "upright.jpg", original_with_extra)
    assert created.status_code == 201
    read = await api.client.get(f"/api/uploads/{created.json()['id']}", headers=alice)
    assert b"SecretCam" not in read.content
    assert len(read.content) < len(original)
    with Image.open(io.BytesIO(read.content)) as stored, Image.open(io.BytesIO(original)) as source:
        assert "exif" not in stored.info
        assert files.GPS_IFD not in stored.getexif()
        assert stored.size == source.size
        assert stored.tobytes() == source.tobytes()  # the same pixels: nothing was encoded again


async def test_a_truncated_jpeg_is_refused(api: Api, alice: dict[str, str]) -> None:
    original = files.image("JPEG", size=(64, 48))
    refused = await upload(api.client, alice, "cut.jpg", original[: len(original) // 2])
    assert refused.status_code == 415


async def test_a_decompression_bomb_is_refused_without_being_decoded(
    api: Api, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageFile

    decoded: list[object] = []
    real_load = ImageFile.ImageFile.load

    def spy(self: Any) -> Any:
        decoded.append(self)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    bomb = files.png_bomb(50_000, 50_000)
    assert len(bomb) < 1000
    refused = await upload(api.client, alice, "tiny.png", bomb, "image/png")
    assert refused.status_code == 413
    assert refused.json()["detail"].startswith("The image is too large")
    # Past our limit (25 MP) but under Pillow's own bomb check (179 MP): our check, with the size.
    big = await upload(api.client, alice, "big.png", files.png_bomb(10_000, 5_000), "image/png")
    assert big.status_code == 413
    assert "10000 × 5000 pixels; the limit is 25 megapixels" in big.json()["detail"]
    assert decoded == []
    accepted = await upload(api.client, alice, "small.png", files.image("PNG"))
    assert accepted.status_code == 201
    assert {image.size for image in decoded} == {(40, 20)}  # the spy sees a real decode


BOUNDARY = "conversa-test-boundary"


class StreamedBody:
    """A multipart body of `mb` MB of text made as it is sent (no Content-Length): `sent` counts what
    the server actually read."""

    def __init__(self, mb: int) -> None:
        self.mb = mb
        self.sent = 0
        self.headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        size = 64 * 1024
        for _ in range(self.mb * 16):
            chunk = b"a" * size  # a new object each time, as from a socket: keeping them would show
            self.sent += len(chunk)
            yield chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()


# "A few MB": buffering the body in memory (even only up to the 10 MB limit) would pass this.
MEMORY_BUDGET = 8 * MB


async def test_an_upload_past_the_limit_is_stopped_while_reading(
    app_factory: Any, make_settings: Any, tmp_path: Path
) -> None:
    """A 200 MB body sent without Content-Length: the server stops reading just past the 10 MB limit,
    keeps nothing, and its memory does not follow the body."""
    settings = make_settings()
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        headers = await Api(client, app).user("alice@example.com")
        body = StreamedBody(200)
        with RssSampler() as memory:
            response = await client.post("/api/uploads", headers={**headers, **body.headers}, content=body)
        assert response.status_code == 413, response.text
        assert "10 MB" in response.json()["detail"]
        assert body.sent < settings.upload_max_bytes + 2 * MB  # the rest of the 200 MB was never read
        assert memory.growth < MEMORY_BUDGET, f"RSS grew by {memory.growth / MB:.1f} MB"
        print(f"RSS growth while refusing a 200 MB upload: {memory.growth / MB:.1f} MB")
    assert stored_files(settings.data_dir) == []
    assert incoming_files(settings.data_dir) == []


async def test_a_200_mb_upload_that_is_accepted_does_not_raise_the_memory_by_more_than_a_few_mb(
    app_factory: Any, make_settings: Any
) -> None:
    """Under a raised UPLOAD_MAX_BYTES, the whole 200 MB is received, checked (UTF-8, SHA-256) and
    stored, all in chunks: the server's memory stays where it was."""
    settings = make_settings(upload_max_bytes=256 * MB, upload_user_quota_mb=0)
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        headers = await Api(client, app).user("alice@example.com")
        body = StreamedBody(200)
        with RssSampler() as memory:
            response = await client.post("/api/uploads", headers={**headers, **body.headers}, content=body)
        assert response.status_code == 201, response.text
        assert response.json()["size"] == 200 * MB
        assert memory.growth < MEMORY_BUDGET, f"RSS grew by {memory.growth / MB:.1f} MB"
        print(f"RSS growth while storing a 200 MB upload: {memory.growth / MB:.1f} MB")
        [stored] = stored_files(settings.data_dir)
        assert stored.stat().st_size == 200 * MB
        assert incoming_files(settings.data_dir) == []


async def test_a_declared_content_length_past_the_cap_is_refused_before_reading(
    api: Api, alice: dict[str, str], settings: Any
) -> None:
    transport = api.client._transport  # the app, called with a Content-Length it must not trust to read
    request = httpx.Request(
        "POST",
        "http://test/api/uploads",
        headers={**alice, "Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(200 * MB)},
        content=b"",
    )
    response = await transport.handle_async_request(request)  # type: ignore[attr-defined]
    await response.aread()
    assert response.status_code == 413
    # The JSON routes keep their own small cap.
    big_json = await api.client.post("/api/conversations", headers=alice, content=b"x" * (settings.max_body_bytes + 1))
    assert big_json.status_code == 413


async def test_malformed_bodies_are_clear_errors(api: Api, alice: dict[str, str]) -> None:
    no_file = await api.client.post("/api/uploads", headers=alice, data={"other": "x"}, files={"x": ("a", b"b")})
    assert no_file.status_code == 422
    assert "field 'file'" in no_file.json()["detail"]
    not_multipart = await api.client.post("/api/uploads", headers=alice, json={"file": "x"})
    assert not_multipart.status_code == 422
    empty = await upload(api.client, alice, "empty.txt", b"")
    assert empty.status_code == 422
    two = await api.client.post(
        "/api/uploads", headers=alice, files=[("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))]
    )
    assert two.status_code == 422
    anonymous = await upload(api.client, {}, "a.txt", b"a")
    assert anonymous.status_code == 401


async def test_another_users_upload_is_not_found_on_every_route(
    api: Api, alice: dict[str, str], bob: dict[str, str]
) -> None:
    created = (await upload(api.client, alice, "private.txt", b"secret")).json()
    assert (await api.client.get(f"/api/uploads/{created['id']}", headers=bob)).status_code == 404
    assert (await api.client.delete(f"/api/uploads/{created['id']}", headers=bob)).status_code == 404
    assert (await api.client.get(f"/api/uploads/{created['id'] + 1000}", headers=alice)).status_code == 404
    assert (await api.client.get(f"/api/uploads/{created['id']}", headers=alice)).content == b"secret"
    assert (await api.client.delete(f"/api/uploads/{created['id']}", headers=alice)).status_code == 204
    assert (await api.client.get(f"/api/uploads/{created['id']}", headers=alice)).status_code == 404


async def test_delete_removes_the_file(api: Api, alice: dict[str, str], settings: Any) -> None:
    created = (await upload(api.client, alice, "a.txt", b"hello")).json()
    assert len(stored_files(settings.data_dir)) == 1
    await api.client.delete(f"/api/uploads/{created['id']}", headers=alice)
    assert stored_files(settings.data_dir) == []


async def test_the_quota_says_how_much_is_used(app_factory: Any, make_settings: Any) -> None:
    app = await app_factory(make_settings(upload_user_quota_mb=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        alice, bob = await api.user("alice@example.com"), await api.user("bob@example.com")
        assert (await upload(client, alice, "a.txt", b"a" * 600_000)).status_code == 201
        refused = await upload(client, alice, "b.txt", b"b" * 600_000)
        assert refused.status_code == 413
        assert refused.json()["detail"].startswith("Your uploads use 0.6 MB of your 1 MB.")
        assert (await upload(client, bob, "b.txt", b"b" * 600_000)).status_code == 201  # per user


async def test_two_uploads_racing_for_the_last_room_cannot_both_fit(
    app_factory: Any, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(upload_user_quota_mb=1)
    app = await app_factory(settings)
    both_checked = asyncio.Barrier(2)
    real_save = LocalStorage.save

    async def save_after_the_other_passed_its_check(self: LocalStorage, key: str, source: Path) -> None:
        await asyncio.wait_for(both_checked.wait(), 10)  # each upload has passed the early check
        await real_save(self, key, source)

    monkeypatch.setattr(LocalStorage, "save", save_after_the_other_passed_its_check)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        alice = await Api(client, app).user("alice@example.com")
        first, second = await asyncio.gather(
            upload(client, alice, "a.txt", b"a" * 600_000), upload(client, alice, "b.txt", b"b" * 600_000)
        )
        assert sorted([first.status_code, second.status_code]) == [201, 413]
        refused = first if first.status_code == 413 else second
        assert refused.json()["detail"].startswith("Your uploads use 0.6 MB of your 1 MB.")
    async with app.state.context.sessionmaker() as session:
        sizes = list(await session.scalars(select(Upload.size)))
    assert sizes == [600_000]
    assert len(stored_files(settings.data_dir)) == 1  # the refused one's file was removed again


async def test_unattached_uploads_are_removed_after_a_day(
    api: Api, alice: dict[str, str], settings: Any, app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    old = (await upload(api.client, alice, "old.txt", b"old")).json()
    fresh = (await upload(api.client, alice, "fresh.txt", b"fresh")).json()
    sent = (await upload(api.client, alice, "sent.txt", b"sent")).json()
    chat = await api.client.post("/api/chat", headers=alice, json={"message": "hi"})
    message_id = chat.json()["user_message"]["id"]
    async with app.state.context.sessionmaker() as session:
        day_ago = utcnow() - timedelta(hours=25)
        await session.execute(update(Upload).where(Upload.id.in_([old["id"], sent["id"]])).values(created_at=day_ago))
        await session.execute(update(Upload).where(Upload.id == sent["id"]).values(message_id=message_id))
        await session.commit()
    orphan = stored_files(settings.data_dir)[0].parent / "orphan"
    orphan.write_bytes(b"left by a crash")
    os.utime(orphan, (0, 0))
    assert await asyncio.to_thread(main, ["cleanup-uploads"], settings) == 0
    assert "removed 1 unattached uploads and 1 orphan files" in capsys.readouterr().out
    assert (await api.client.get(f"/api/uploads/{old['id']}", headers=alice)).status_code == 404
    assert (await api.client.get(f"/api/uploads/{fresh['id']}", headers=alice)).status_code == 200
    assert (await api.client.get(f"/api/uploads/{sent['id']}", headers=alice)).status_code == 200
    assert not orphan.exists()
    assert len(stored_files(settings.data_dir)) == 2


async def test_the_app_itself_sweeps_unattached_uploads_after_an_upload_at_most_once_an_hour(
    api: Api, alice: dict[str, str], app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No cron needed: an upload runs the cleanup in the background when the last one is an hour old."""
    from app.services import uploads as service

    async def upload_a_day_ago(name: str) -> int:
        upload_id = int((await upload(api.client, alice, name, name.encode())).json()["id"])
        async with app.state.context.sessionmaker() as session:
            day_ago = utcnow() - timedelta(hours=25)
            await session.execute(update(Upload).where(Upload.id == upload_id).values(created_at=day_ago))
            await session.commit()
        return upload_id

    async def status(upload_id: int) -> int:
        return (await api.client.get(f"/api/uploads/{upload_id}", headers=alice)).status_code

    first = await upload_a_day_ago("first.txt")
    monkeypatch.setattr(service, "_last_sweep", 0.0)  # as in a process that has not swept yet
    second = await upload_a_day_ago("second.txt")  # this upload's sweep removes the first
    assert await status(first) == 404
    await upload(api.client, alice, "third.txt", b"third")  # less than an hour later: no sweep
    assert await status(second) == 200
    monkeypatch.setattr(service, "_last_sweep", time.monotonic() - service.SWEEP_EVERY_S - 1)
    await upload(api.client, alice, "fourth.txt", b"fourth")
    assert await status(second) == 404


async def test_deleting_a_conversation_deletes_its_files(
    api: Api, alice: dict[str, str], settings: Any, app: Any
) -> None:
    kept = (await upload(api.client, alice, "kept.txt", b"kept")).json()
    attached = (await upload(api.client, alice, "attached.png", files.image("PNG"))).json()
    chat = (await api.client.post("/api/chat", headers=alice, json={"message": "look"})).json()
    async with app.state.context.sessionmaker() as session:
        await session.execute(
            update(Upload).where(Upload.id == attached["id"]).values(message_id=chat["user_message"]["id"])
        )
        await session.commit()
    assert len(stored_files(settings.data_dir)) == 2
    deleted = await api.client.delete(f"/api/conversations/{chat['conversation_id']}", headers=alice)
    assert deleted.status_code == 204
    assert (await api.client.get(f"/api/uploads/{attached['id']}", headers=alice)).status_code == 404
    assert (await api.client.get(f"/api/uploads/{kept['id']}", headers=alice)).status_code == 200
    assert len(stored_files(settings.data_dir)) == 1
    async with app.state.context.sessionmaker() as session:
        assert list(await session.scalars(select(Message.id))) == []


class RssSampler:
    """The process's resident memory, sampled every few milliseconds: `growth` is peak minus start."""

    def __init__(self) -> None:
        self.start = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_an_animation_too_large_over_all_its_frames_is_refused(app_factory: Any, make_settings: Any) -> None:
    app = await app_factory(make_settings(upload_image_max_pixels=10_000))  # animations: 40,000 in all

    def gif(side: int, count: int) -> bytes:
        frames = [Image.new("RGB", (side, side), color) for color in ("red", "green", "blue", "white", "black")]
        buffer = io.BytesIO()
        frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:count], duration=100, loop=0)
        return buffer.getvalue()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        alice = await Api(client, app).user("alice@example.com")
        kept = await upload(client, alice, "small.gif", gif(50, 5))  # 5 x 2,500 pixels
        assert kept.status_code == 201, kept.text
        stored = await client.get(f"/api/uploads/{kept.json()['id']}", headers=alice)
        with Image.open(io.BytesIO(stored.content)) as animation:
            assert animation.n_frames == 5
        refused = await upload(client, alice, "huge.gif", gif(100, 5))  # 5 x 10,000 pixels
        assert refused.status_code == 413
        assert "5 frames of 100 × 100 pixels" in refused.json()["detail"]
