import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { NavLink } from "react-router";
import { PencilIcon, TrashIcon } from "../../../components/icons";
import { Snippet } from "../../../components/Snippet";
import { displayTitle } from "../display-title";
import type { ConversationListItem } from "../types";

interface ConversationItemProps {
  conversation: ConversationListItem;
  onOpen: () => void;
  onRename: (title: string) => Promise<unknown>;
  onDelete: () => void;
}

export function ConversationItem({ conversation, onOpen, onRename, onDelete }: ConversationItemProps) {
  const { t } = useTranslation();
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(conversation.title);
  const shown = displayTitle(conversation.title, t);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = title.trim();
    if (trimmed && trimmed !== conversation.title) await onRename(trimmed.slice(0, 200));
    setEditing(false);
  }

  if (editing) {
    return (
      <li className="conversation-item editing">
        <form onSubmit={submit}>
          <label className="visually-hidden" htmlFor={`rename-${conversation.id}`}>
            {t("conversations.renameLabel")}
          </label>
          <input
            id={`rename-${conversation.id}`}
            value={title}
            maxLength={200}
            autoFocus
            onChange={(event) => setTitle(event.target.value)}
            onBlur={() => setEditing(false)}
            onKeyDown={(event) => {
              if (event.key === "Escape") {
                event.preventDefault();
                setEditing(false);
              }
            }}
          />
        </form>
      </li>
    );
  }

  return (
    <li className="conversation-item">
      <NavLink
        to={conversation.message_id ? `/c/${conversation.id}?m=${conversation.message_id}` : `/c/${conversation.id}`}
        onClick={onOpen}
        className="conversation-link"
        title={shown}
      >
        <span className="conversation-title">
          {conversation.generating && (
            // A reply is being written there (it goes on when the tab closes; opening it follows it).
            <span className="generating-dot" title={t("conversations.generating")}>
              <span className="visually-hidden">{t("conversations.generating")}: </span>
            </span>
          )}
          {shown}
        </span>
        {conversation.snippet && <Snippet snippet={conversation.snippet} className="snippet conversation-snippet" />}
      </NavLink>
      <div className="conversation-actions">
        <button
          type="button"
          className="icon-button small"
          aria-label={t("conversations.rename", { title: shown })}
          title={t("conversations.renameShort")}
          onClick={() => {
            setTitle(conversation.title);
            setEditing(true);
          }}
        >
          <PencilIcon />
        </button>
        <button
          type="button"
          className="icon-button small"
          aria-label={t("conversations.delete", { title: shown })}
          title={t("conversations.deleteShort")}
          onClick={onDelete}
        >
          <TrashIcon />
        </button>
      </div>
    </li>
  );
}
