import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { ChevronLeftIcon, ChevronRightIcon } from "../../../components/icons";
import type { Message } from "../types";

type Direction = "previous" | "next";

// Switching shows another message, so another view: the new one takes the focus back, to keep
// a keyboard user on the same button. Set on a click, taken by the switcher of the same parent.
let refocus: { parentId: number | null; direction: Direction } | null = null;

interface SiblingSwitcherProps {
  message: Message;
  onSwitch: (fromId: number, toId: number) => void;
}

/** `‹ 2/3 ›`: the versions of a message (every message with the same parent). */
export function SiblingSwitcher({ message, onSwitch }: SiblingSwitcherProps) {
  const { t } = useTranslation();
  const previous = useRef<HTMLButtonElement>(null);
  const next = useRef<HTMLButtonElement>(null);
  const { ids, index } = message.siblings;

  useEffect(() => {
    if (!refocus || refocus.parentId !== message.parent_id) return;
    const [wanted, other] =
      refocus.direction === "previous" ? [previous.current, next.current] : [next.current, previous.current];
    refocus = null;
    // At either end the button pressed is disabled: the other one takes the focus.
    (wanted?.disabled ? other : wanted)?.focus();
  }, [message.parent_id]);

  function go(direction: Direction) {
    const target = ids[direction === "previous" ? index - 1 : index + 1];
    if (target === undefined) return;
    refocus = { parentId: message.parent_id, direction };
    onSwitch(message.id, target);
  }

  return (
    <div
      className="sibling-switcher"
      role="group"
      aria-label={t("chat.versions", { current: index + 1, total: ids.length })}
    >
      <button
        ref={previous}
        type="button"
        className="icon-button small idle-only"
        aria-label={t("chat.previousVersion")}
        title={t("chat.previousVersion")}
        disabled={index === 0}
        onClick={() => go("previous")}
      >
        <ChevronLeftIcon />
      </button>
      <span className="sibling-count" aria-hidden="true">
        {index + 1}/{ids.length}
      </span>
      <button
        ref={next}
        type="button"
        className="icon-button small idle-only"
        aria-label={t("chat.nextVersion")}
        title={t("chat.nextVersion")}
        disabled={index === ids.length - 1}
        onClick={() => go("next")}
      >
        <ChevronRightIcon />
      </button>
    </div>
  );
}
