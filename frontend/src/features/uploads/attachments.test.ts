import { describe, expect, it } from "vitest";
import {
  chipFor,
  chipsReducer,
  isUploading,
  MAX_ATTACHMENTS,
  MAX_UPLOAD_BYTES,
  pastedImages,
  readyIds,
  uploadErrorKey,
  type AttachmentChip,
} from "./attachments";
import type { UploadedFile } from "./types";

function file(name: string, size: number, type: string): File {
  const blob = new File(["x"], name, { type });
  Object.defineProperty(blob, "size", { value: size });
  return blob;
}

const uploaded = (id: number, mime_type = "image/png"): UploadedFile => ({
  id,
  name: `f${id}`,
  mime_type,
  size: 10,
  created_at: "2026-12-01T00:00:00Z",
});

describe("attachment chips", () => {
  it("goes from uploading, with progress, to ready with the server's id and type", () => {
    let chips: AttachmentChip[] = [];
    chips = chipsReducer(chips, { type: "add", chip: chipFor(file("a.png", 100, "image/png"), "k1", chips) });
    expect(isUploading(chips)).toBe(true);
    expect(readyIds(chips)).toEqual([]);
    chips = chipsReducer(chips, { type: "progress", key: "k1", progress: 0.4 });
    chips = chipsReducer(chips, { type: "progress", key: "k1", progress: 0.2 }); // never goes back
    expect(chips[0]?.progress).toBe(0.4);
    chips = chipsReducer(chips, { type: "done", key: "k1", upload: uploaded(7, "text/plain") });
    expect(chips[0]).toMatchObject({ status: "ready", progress: 1, mimeType: "text/plain" });
    expect(isUploading(chips)).toBe(false);
    expect(readyIds(chips)).toEqual([7]);
  });

  it("keeps an error on its chip and leaves it out of the ready ids", () => {
    let chips: AttachmentChip[] = [];
    for (const key of ["a", "b"]) {
      chips = chipsReducer(chips, { type: "add", chip: chipFor(file(`${key}.txt`, 5, "text/plain"), key, chips) });
    }
    chips = chipsReducer(chips, { type: "done", key: "a", upload: uploaded(1) });
    chips = chipsReducer(chips, { type: "failed", key: "b", error: "wrong_type" });
    expect(chips.map((chip) => [chip.status, chip.error])).toEqual([
      ["ready", undefined],
      ["error", "wrong_type"],
    ]);
    expect(readyIds(chips)).toEqual([1]);
    expect(isUploading(chips)).toBe(false);
    chips = chipsReducer(chips, { type: "remove", key: "a" });
    expect(chips.map((chip) => chip.key)).toEqual(["b"]);
    expect(chipsReducer(chips, { type: "clear" })).toEqual([]);
  });

  it("refuses before uploading a file that is too big, and one file too many", () => {
    expect(chipFor(file("big.pdf", MAX_UPLOAD_BYTES + 1, "application/pdf"), "k", [])).toMatchObject({
      status: "error",
      error: "too_big",
    });
    expect(chipFor(file("ok.pdf", MAX_UPLOAD_BYTES, "application/pdf"), "k", []).status).toBe("uploading");
    let chips: AttachmentChip[] = [];
    for (let i = 0; i < MAX_ATTACHMENTS; i++) {
      chips = chipsReducer(chips, { type: "add", chip: chipFor(file(`${i}.txt`, 1, "text/plain"), `k${i}`, chips) });
    }
    expect(chipFor(file("one-more.txt", 1, "text/plain"), "x", chips)).toMatchObject({ error: "too_many" });
    // A failed chip does not count: the person can add another file in its place.
    chips = chipsReducer(chips, { type: "failed", key: "k0", error: "failed" });
    expect(chipFor(file("instead.txt", 1, "text/plain"), "y", chips).status).toBe("uploading");
  });

  it("names the server's refusals", () => {
    expect(uploadErrorKey(413, "The file is too large: the limit is 10 MB.")).toBe("too_big");
    expect(uploadErrorKey(413, "Your uploads use 199.5 MB of your 200 MB. Delete some…")).toBe("quota");
    expect(uploadErrorKey(413, "The image is too large: 10000 × 5000 pixels; the limit is 25 megapixels.")).toBe(
      "too_many_pixels",
    );
    expect(uploadErrorKey(413, "The image is too large: more than 25 megapixels.")).toBe("too_many_pixels");
    expect(uploadErrorKey(413, "The animation is too large: 5 frames of 100 × 100 pixels.")).toBe("too_many_pixels");
    expect(uploadErrorKey(415, "This file type is not supported.")).toBe("wrong_type");
    expect(uploadErrorKey(0, "network error")).toBe("network");
    expect(uploadErrorKey(500, "Internal server error.")).toBe("failed");
  });

  it("takes only images from a paste", () => {
    const data = { files: [file("image.png", 10, "image/png"), file("a.txt", 1, "text/plain")] };
    expect(pastedImages(data as unknown as DataTransfer).map((item) => item.name)).toEqual(["image.png"]);
    expect(pastedImages(null)).toEqual([]);
  });
});
