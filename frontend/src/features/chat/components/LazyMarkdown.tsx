import { lazy } from "react";

/** The chat's sanitised Markdown; it loads after the first paint, in its own chunk (with GFM and the sanitiser). */
export const LazyMarkdown = lazy(() => import("./Markdown"));

/** A reply's thoughts, sources and search suggestions, from the same chunk. */
export const LazyReplyExtras = lazy(() => import("./Markdown").then((module) => ({ default: module.ReplyExtras })));
