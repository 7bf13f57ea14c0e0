import { lazy } from "react";

/** The model picker, persona menu and toggles above the composer, in their own chunk. */
export const LazyChatSettingsBar = lazy(() => import("./components/ChatSettingsBar"));
