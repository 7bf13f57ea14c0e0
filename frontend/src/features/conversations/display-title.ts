import type { TFunction } from "i18next";

/** The server's default title is English; show it in the person's language. */
export const SERVER_DEFAULT_TITLE = "New chat";

export function displayTitle(title: string, t: TFunction): string {
  return title === SERVER_DEFAULT_TITLE ? t("conversations.newChat") : title;
}
