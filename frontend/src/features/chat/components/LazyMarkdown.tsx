import { lazy } from "react";

/** The chat's sanitised Markdown; it loads after the first paint, in its own chunk (with GFM and the sanitiser). */
export const LazyMarkdown = lazy(() => import("./Markdown"));
