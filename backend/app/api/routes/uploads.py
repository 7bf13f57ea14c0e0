"""Uploads: send a file (checked, cleaned, stored), read it back, delete it. Owner only."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status
from fastapi.responses import FileResponse, StreamingResponse

from app.api.deps import ContextDep, CurrentUser, OwnedUpload, SessionDep, StorageDep
from app.api.multipart import receive_file
from app.models import Upload
from app.schemas import UploadOut
from app.services import uploads as service
from app.services.filecheck import IMAGE_TYPES, PDF_TYPE, TEXT_TYPE, FileRefused
from app.services.storage import incoming_dir

router = APIRouter(prefix="/uploads", tags=["uploads"])
INLINE_TYPES = frozenset(IMAGE_TYPES.values())
# The bytes are the user's, not the app's: never a document that runs anything, even opened directly.
UPLOAD_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={413: {}, 415: {}, 422: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_file(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    context: ContextDep,
    storage: StorageDep,
    background: BackgroundTasks,
) -> UploadOut:
    """Upload one file (multipart field `file`). Its type is read from its bytes: PNG, JPEG, WebP, GIF,
    PDF or UTF-8 text; images are stored without their metadata."""
    settings = context.settings
    user_id = user.id
    try:
        await service.check_quota(session, user_id, settings)
    except service.QuotaExceeded as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, exc.message) from exc
    # End the transaction: no pooled connection is held while the body arrives (it may take minutes).
    await session.commit()
    received = await receive_file(
        request, field="file", max_bytes=settings.upload_max_bytes, folder=incoming_dir(settings)
    )
    try:
        upload = await service.store_upload(session, storage, settings, user_id, received.filename, received.path)
    except FileRefused as exc:
        raise HTTPException(exc.status_code, exc.message) from exc
    except service.QuotaExceeded as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, exc.message) from exc
    background.add_task(service.sweep_if_due, context.sessionmaker, storage, settings)
    return UploadOut.model_validate(upload)


@router.get(
    "/{upload_id}",
    response_class=Response,
    responses={
        200: {
            "content": {media_type: {} for media_type in (*IMAGE_TYPES.values(), PDF_TYPE, TEXT_TYPE)},
            "description": "The file's bytes",
        },
        404: {},
    },
)
async def download_file(upload: OwnedUpload, storage: StorageDep) -> Response:
    """The file's bytes: images inline, anything else as an attachment, never sniffed or run."""
    headers = {
        "Content-Disposition": content_disposition(upload),
        "Content-Security-Policy": UPLOAD_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
    }
    media_type = f"{upload.mime_type}; charset=utf-8" if upload.mime_type.startswith("text/") else upload.mime_type
    path = storage.local_path(upload.storage_key)
    if path is not None:
        if not path.is_file():
            raise HTTPException(status.HTTP_404_NOT_FOUND, "File not found")
        return FileResponse(path, media_type=media_type, headers=headers)
    headers["Content-Length"] = str(upload.size)
    return StreamingResponse(storage.chunks(upload.storage_key), media_type=media_type, headers=headers)


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}})
async def delete_file(upload: OwnedUpload, session: SessionDep, storage: StorageDep) -> None:
    """Delete a file (it also leaves the message it was sent in)."""
    await service.delete_uploads(session, storage, [upload])


def content_disposition(upload: Upload) -> str:
    kind = "inline" if upload.mime_type in INLINE_TYPES else "attachment"
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in upload.name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(upload.name, safe='')}"
