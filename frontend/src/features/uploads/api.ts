import { API_BASE_URL, ApiError, apiFetch, detailFromBody, getToken } from "../../lib/api-client";
import type { UploadedFile } from "./types";

export interface UploadHandle {
  promise: Promise<UploadedFile>;
  abort: () => void;
}

/**
 * POST one file with XMLHttpRequest: fetch cannot report upload progress. `onProgress` gets 0..1.
 * Rejects with ApiError (status 0 for a network failure or an abort).
 */
export function uploadFile(file: File, onProgress: (fraction: number) => void): UploadHandle {
  const request = new XMLHttpRequest();
  const promise = new Promise<UploadedFile>((resolve, reject) => {
    request.open("POST", `${API_BASE_URL}/api/uploads`);
    const token = getToken();
    if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.responseType = "json";
    request.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      const body: unknown = request.response;
      if (request.status === 201) {
        onProgress(1);
        resolve(body as UploadedFile);
      } else {
        reject(new ApiError(request.status, detailFromBody(body) ?? `${request.status} ${request.statusText}`.trim()));
      }
    };
    request.onerror = () => reject(new ApiError(0, "network error"));
    request.onabort = () => reject(new ApiError(0, "aborted"));
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
  return { promise, abort: () => request.abort() };
}

export async function deleteUpload(id: number): Promise<void> {
  await apiFetch(`/api/uploads/${id}`, { method: "DELETE" });
}

/** The file's bytes, fetched with the token (never a public URL), as a blob. */
export async function fetchUploadBlob(id: number): Promise<Blob> {
  return (await apiFetch(`/api/uploads/${id}`)).blob();
}
