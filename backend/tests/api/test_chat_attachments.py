"""Attachments in the chat: sending own uploads (IDOR, reuse, limits), what the model gets, the
text-only model's refusal of images, export, edit and regenerate, and files gone with their messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from app.models import Message, MessageAttachment, Upload
from tests.conftest import Api, parse_sse
from tests.fakes import files
from tests.fakes.gemini_server import FakeGeminiServer


async def upload(api: Api, headers: dict[str, str], name: str, data: bytes) -> dict[str, Any]:
    response = await api.client.post("/api/uploads", headers=headers, files={"file": (name, data, "application/x")})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def chat(api: Api, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await api.client.post("/api/chat", headers=headers, json={"message": "", **body})


def stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "uploads").rglob("*") if p.is_file() and ".incoming" not in p.parts]


async def count(app: Any, model: Any) -> int:
    async with app.state.context.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_pdf_and_a_text_file_reach_the_fake_model_as_text(api: Api, alice: dict[str, str]) -> None:
    contract = await upload(api, alice, "contract.pdf", files.pdf(text="The rent is 900 euros"))
    notes = await upload(api, alice, "notes.txt", b"Bring the keys.")
    response = await chat(api, alice, message="Summarise", attachment_ids=[contract["id"], notes["id"]])
    assert response.status_code == 200, response.text
    body = response.json()
    sent = body["user_message"]
    assert [(a["id"], a["name"], a["mime_type"]) for a in sent["attachments"]] == [
        (contract["id"], "contract.pdf", "application/pdf"),
        (notes["id"], "notes.txt", "text/plain"),
    ]
    reply = body["assistant_message"]["content"]  # the fake model repeats the prompt's last turn
    assert 'File "contract.pdf":\nThe rent is 900 euros' in reply
    assert 'File "notes.txt":\nBring the keys.' in reply
    assert "Summarise" in reply
    assert body["assistant_message"]["attachments"] == []
    page = (await api.client.get(f"/api/conversations/{body['conversation_id']}/messages", headers=alice)).json()
    assert [len(m["attachments"]) for m in page["items"]] == [2, 0]


async def test_the_stream_shows_the_files_and_answers_from_them(api: Api, alice: dict[str, str]) -> None:
    notes = await upload(api, alice, "notes.txt", b"The code word is heron.")
    response = await api.client.post(
        "/api/chat/stream", headers=alice, json={"message": "Read this", "attachment_ids": [notes["id"]]}
    )
    events = dict(parse_sse(response.text))
    assert events["start"]["user_message"]["attachments"] == [
        {"id": notes["id"], "name": "notes.txt", "mime_type": "text/plain", "size": 23}
    ]
    assert "The code word is heron." in events["done"]["assistant_message"]["content"]


async def test_a_message_may_be_only_its_files(api: Api, alice: dict[str, str]) -> None:
    notes = await upload(api, alice, "notes.txt", b"only the file")
    response = await chat(api, alice, attachment_ids=[notes["id"]])
    assert response.status_code == 200, response.text
    assert response.json()["user_message"]["content"] == ""
    assert 'File "notes.txt":\nonly the file' in response.json()["assistant_message"]["content"]
    assert (await chat(api, alice, message="   ")).status_code == 422  # no files: still refused


async def test_another_users_upload_is_not_found_and_nothing_is_stored(
    api: Api, alice: dict[str, str], bob: dict[str, str], app: Any
) -> None:
    bobs = await upload(api, bob, "secret.txt", b"bob's")
    response = await chat(api, alice, message="steal", attachment_ids=[bobs["id"]])
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    missing = await chat(api, alice, message="nothing", attachment_ids=[999_999])
    assert missing.status_code == 404
    assert await count(app, Message) == 0
    async with app.state.context.sessionmaker() as session:
        assert (await session.get(Upload, bobs["id"])).message_id is None  # type: ignore[union-attr]


async def test_an_upload_already_sent_is_a_conflict(api: Api, alice: dict[str, str], app: Any) -> None:
    notes = await upload(api, alice, "notes.txt", b"once")
    first = await chat(api, alice, message="one", attachment_ids=[notes["id"]])
    assert first.status_code == 200
    again = await chat(
        api, alice, message="two", conversation_id=first.json()["conversation_id"], attachment_ids=[notes["id"]]
    )
    assert again.status_code == 409
    assert again.json()["code"] == "attachment_in_use"
    assert await count(app, Message) == 2  # the first question and its reply only


async def test_more_files_than_uploads_per_message_is_refused(app_factory: Any, make_settings: Any) -> None:
    app = await app_factory(make_settings(uploads_per_message=2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        alice = await api.user("alice@example.com")
        ids = [(await upload(api, alice, f"{i}.txt", b"x"))["id"] for i in range(3)]
        response = await chat(api, alice, message="three", attachment_ids=ids)
        assert response.status_code == 422
        assert "limit is 2" in response.json()["detail"]
        assert (await chat(api, alice, message="two", attachment_ids=ids[:2])).status_code == 200


async def test_an_image_to_a_model_without_vision_is_refused_before_anything_is_stored(
    api: Api, alice: dict[str, str], app: Any
) -> None:
    photo = await upload(api, alice, "photo.png", files.image("PNG"))
    for path in ("/api/chat", "/api/chat/stream"):
        response = await api.client.post(
            path, headers=alice, json={"message": "what?", "attachment_ids": [photo["id"]]}
        )
        assert response.status_code == 422
        assert response.json() == {"detail": "this model cannot read images", "code": "model_cannot_read_images"}
    assert await count(app, Message) == 0
    async with app.state.context.sessionmaker() as session:
        assert (await session.get(Upload, photo["id"])).message_id is None  # type: ignore[union-attr]
    usage = (await api.client.get("/api/usage", headers=alice)).json()
    assert usage["daily_messages_used"] == 0


async def test_export_lists_the_files(api: Api, alice: dict[str, str]) -> None:
    notes = await upload(api, alice, "my_notes.txt", b"notes")
    body = (await chat(api, alice, message="see file", attachment_ids=[notes["id"]])).json()
    base = f"/api/conversations/{body['conversation_id']}/export"
    markdown = (await api.client.get(base, headers=alice)).text
    assert "_Attachments: my\\_notes.txt_" in markdown
    exported = json.loads((await api.client.get(f"{base}?format=json", headers=alice)).text)
    assert exported["messages"][0]["attachments"] == [
        {"id": notes["id"], "name": "my_notes.txt", "mime_type": "text/plain", "size": 5}
    ]
    assert exported["messages"][1]["attachments"] == []


async def test_regenerate_and_edit_keep_the_questions_files(api: Api, alice: dict[str, str]) -> None:
    notes = await upload(api, alice, "notes.txt", b"The answer is 42.")
    body = (await chat(api, alice, message="What is it?", attachment_ids=[notes["id"]])).json()
    conversation_id = body["conversation_id"]
    question_id = body["user_message"]["id"]
    again = await api.client.post(f"/api/conversations/{conversation_id}/regenerate", headers=alice, json={})
    events = dict(parse_sse(again.text))
    assert [a["id"] for a in events["start"]["user_message"]["attachments"]] == [notes["id"]]
    assert "The answer is 42." in events["done"]["assistant_message"]["content"]
    edited = await api.client.post(
        f"/api/conversations/{conversation_id}/regenerate",
        headers=alice,
        json={"message_id": question_id, "message": "What is it, exactly?"},
    )
    events = dict(parse_sse(edited.text))
    new_question = events["start"]["user_message"]
    assert new_question["id"] != question_id
    assert [a["id"] for a in new_question["attachments"]] == [notes["id"]]
    assert "The answer is 42." in events["done"]["assistant_message"]["content"]
    page = (await api.client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)).json()
    assert [a["name"] for a in page["items"][0]["attachments"]] == ["notes.txt"]


async def test_deleting_a_branch_deletes_only_the_files_no_other_message_has(
    api: Api, alice: dict[str, str], settings: Any, app: Any
) -> None:
    shared = await upload(api, alice, "shared.txt", b"shared")
    first = (await chat(api, alice, message="one", attachment_ids=[shared["id"]])).json()
    conversation_id = first["conversation_id"]
    # An edit of the first question: a sibling branch that carries the same file.
    await api.client.post(
        f"/api/conversations/{conversation_id}/regenerate",
        headers=alice,
        json={"message_id": first["user_message"]["id"], "message": "one, edited"},
    )
    own = await upload(api, alice, "own.txt", b"own")
    later = (await chat(api, alice, message="two", conversation_id=conversation_id, attachment_ids=[own["id"]])).json()
    assert len(stored_files(settings.data_dir)) == 2
    deleted = await api.client.delete(
        f"/api/conversations/{conversation_id}/messages/{later['user_message']['id']}", headers=alice
    )
    assert deleted.status_code == 204
    assert (await api.client.get(f"/api/uploads/{own['id']}", headers=alice)).status_code == 404
    assert len(stored_files(settings.data_dir)) == 1
    # The original question goes; the edited one still has the shared file.
    deleted = await api.client.delete(
        f"/api/conversations/{conversation_id}/messages/{first['user_message']['id']}", headers=alice
    )
    assert deleted.status_code == 204
    assert (await api.client.get(f"/api/uploads/{shared['id']}", headers=alice)).status_code == 200
    page = (await api.client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)).json()
    assert [a["id"] for a in page["items"][0]["attachments"]] == [shared["id"]]
    async with app.state.context.sessionmaker() as session:
        home = (await session.get(Upload, shared["id"])).message_id  # type: ignore[union-attr]
        assert home == page["items"][0]["id"]  # moved to the surviving message: never swept as unattached
    assert (await api.client.delete(f"/api/conversations/{conversation_id}", headers=alice)).status_code == 204
    assert stored_files(settings.data_dir) == []
    assert await count(app, MessageAttachment) == 0
    assert await count(app, Upload) == 0


async def test_after_a_switch_to_a_text_only_model_old_images_are_a_note_and_resending_them_is_refused(
    app_factory: Any, make_settings: Any
) -> None:
    """Peers' bug (Open WebUI #10592, LibreChat #15274): once a conversation with an image moves to a
    model without vision, every turn failed. Here later turns go on (the image becomes a note), and
    a regenerate or an edit of the image's question is refused with 422 before anything is stored."""
    with FakeGeminiServer() as gemini:
        settings = make_settings(google_api_key="test-key", gemini_base_url=gemini.url, llm_max_retries=1)
        app = await app_factory(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            api = Api(client, app)
            alice = await api.user("alice@example.com")
            created = await client.post(
                "/api/conversations", headers=alice, json={"title": "Photo", "model": "gemini-2.5-flash"}
            )
            conversation_id = created.json()["id"]
            photo = await upload(api, alice, "photo.png", files.image("PNG"))
            gemini.script(reply="A red square.")
            first = await chat(
                api, alice, conversation_id=conversation_id, message="What is it?", attachment_ids=[photo["id"]]
            )
            assert first.status_code == 200, first.text
            question_id = first.json()["user_message"]["id"]
            switched = await client.patch(
                f"/api/conversations/{conversation_id}", headers=alice, json={"model": "fake"}
            )
            assert switched.status_code == 200, switched.text

            later = await chat(api, alice, conversation_id=conversation_id, message="And its colour?")
            assert later.status_code == 200, later.text
            assert later.json()["assistant_message"]["status"] == "complete"
            before = (await client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)).json()
            used = (await client.get("/api/usage", headers=alice)).json()["daily_messages_used"]

            base = f"/api/conversations/{conversation_id}/regenerate"
            for body in ({"message_id": question_id}, {"message_id": question_id, "message": "What is it, really?"}):
                refused = await client.post(base, headers=alice, json=body)
                assert refused.status_code == 422, refused.text
                assert refused.json() == {"detail": "this model cannot read images", "code": "model_cannot_read_images"}
            after = (await client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)).json()
            assert [m["id"] for m in after["items"]] == [m["id"] for m in before["items"]]  # same path, nothing new
            assert await count(app, Message) == 4
            assert (await client.get("/api/usage", headers=alice)).json()["daily_messages_used"] == used
            # Regenerating the text-only question is still fine.
            again = await client.post(base, headers=alice, json={})
            assert "event: done" in again.text
