import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { ApiError } from "../../lib/api-client";
import { deleteUpload, fetchUploadBlob, uploadFile, type UploadHandle } from "./api";
import { chipFor, chipsReducer, isImage, isUploading, readyIds, uploadErrorKey, type AttachmentChip } from "./attachments";

export interface Attachments {
  chips: AttachmentChip[];
  /** Ids of the files uploaded and ready to be sent with the message. */
  readyIds: number[];
  uploading: boolean;
  add: (files: File[]) => void;
  remove: (key: string) => void;
  /** After the message was sent: forget the chips (the files now belong to the message). */
  clear: () => void;
}

let nextKey = 0;

/** The composer's attachments: each file is uploaded as soon as it is added, with its progress. */
export function useAttachments(): Attachments {
  const [chips, dispatch] = useReducer(chipsReducer, []);
  const chipsRef = useRef(chips);
  useEffect(() => {
    chipsRef.current = chips;
  }, [chips]);
  const uploads = useRef(new Map<string, UploadHandle>());

  const add = useCallback((files: File[]) => {
    let current = chipsRef.current;
    for (const file of files) {
      const key = `attachment-${++nextKey}`;
      const previewUrl = isImage(file.type) ? URL.createObjectURL(file) : undefined;
      const chip = chipFor(file, key, current, previewUrl);
      current = [...current, chip];
      chipsRef.current = current; // a second add before the next render counts these too
      dispatch({ type: "add", chip });
      if (chip.status !== "uploading") continue;
      const handle = uploadFile(file, (progress) => dispatch({ type: "progress", key, progress }));
      uploads.current.set(key, handle);
      handle.promise
        .then((upload) => dispatch({ type: "done", key, upload }))
        .catch((error: unknown) => {
          const status = error instanceof ApiError ? error.status : -1;
          dispatch({ type: "failed", key, error: uploadErrorKey(status, error instanceof Error ? error.message : "") });
        })
        .finally(() => uploads.current.delete(key));
    }
  }, []);

  const remove = useCallback((key: string) => {
    const chip = chipsRef.current.find((item) => item.key === key);
    uploads.current.get(key)?.abort();
    if (chip?.upload) void deleteUpload(chip.upload.id).catch(() => undefined); // else the cleanup removes it
    if (chip?.previewUrl) URL.revokeObjectURL(chip.previewUrl);
    dispatch({ type: "remove", key });
  }, []);

  const clear = useCallback(() => {
    for (const chip of chipsRef.current) if (chip.previewUrl) URL.revokeObjectURL(chip.previewUrl);
    dispatch({ type: "clear" });
  }, []);

  useEffect(() => {
    const inFlight = uploads.current;
    return () => inFlight.forEach((handle) => handle.abort());
  }, []);

  return { chips, readyIds: readyIds(chips), uploading: isUploading(chips), add, remove, clear };
}

/** A blob: URL of an upload fetched with the token (for thumbnails and downloads of sent files). */
export function useAuthorizedBlobUrl(id: number | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (id === null) return;
    let created: string | null = null;
    let cancelled = false;
    fetchUploadBlob(id)
      .then((blob) => {
        if (cancelled) return;
        created = URL.createObjectURL(blob);
        setUrl(created);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
      if (created) URL.revokeObjectURL(created);
      setUrl(null);
    };
  }, [id]);
  return url;
}
