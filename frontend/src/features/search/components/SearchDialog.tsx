import { useId, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { Dialog } from "../../../components/Dialog";
import { Snippet } from "../../../components/Snippet";
import { formatDateTime } from "../../../lib/format";
import { useDebounced } from "../../../lib/use-debounced";
import { useMessageSearch } from "../hooks";
import type { SearchHit } from "../types";

interface SearchDialogProps {
  open: boolean;
  onClose: () => void;
}

/** Opens the conversation of a hit, scrolled to its message (`?m=` is read by the chat page). */
export function messageLink(hit: Pick<SearchHit, "conversation_id" | "message_id">): string {
  return `/c/${hit.conversation_id}?m=${hit.message_id}`;
}

export function SearchDialog({ open, onClose }: SearchDialogProps) {
  const { t } = useTranslation();
  return (
    <Dialog open={open} title={t("search.title")} onClose={onClose} className="search-dialog">
      {open && <SearchPanel onClose={onClose} />}
    </Dialog>
  );
}

function SearchPanel({ onClose }: { onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const listId = useId();
  const [text, setText] = useState("");
  const query = useDebounced(text, 200);
  const search = useMessageSearch(query);
  const hits = query.trim() ? (search.data?.items ?? []) : [];
  const [chosen, setActive] = useState(0);
  const active = Math.min(chosen, Math.max(hits.length - 1, 0));

  function choose(hit: SearchHit) {
    onClose();
    navigate(messageLink(hit));
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive(hits.length ? (active + step + hits.length) % hits.length : 0);
    } else if (event.key === "Enter" && hits[active]) {
      event.preventDefault();
      choose(hits[active]);
    }
  }

  return (
    <div className="search-panel">
      <input
        className="search-input"
        type="search"
        role="combobox"
        aria-label={t("search.label")}
        aria-expanded={hits.length > 0}
        aria-controls={listId}
        aria-activedescendant={hits[active] ? `${listId}-${active}` : undefined}
        placeholder={t("search.placeholder")}
        value={text}
        autoFocus
        onChange={(event) => {
          setText(event.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
      />
      {search.isError && (
        <p className="muted" role="alert">
          {t("search.error")}
        </p>
      )}
      {query.trim() && search.isSuccess && hits.length === 0 && <p className="muted">{t("search.noResults")}</p>}
      <ul id={listId} className="search-results" role="listbox" aria-label={t("search.results")}>
        {hits.map((hit, index) => (
          <li
            key={hit.message_id}
            id={`${listId}-${index}`}
            role="option"
            aria-selected={index === active}
            className={`search-hit${index === active ? " active" : ""}`}
            onMouseEnter={() => setActive(index)}
            onClick={() => choose(hit)}
          >
            <span className="search-hit-title">{hit.conversation_title}</span>
            <span className="search-hit-meta muted">
              {hit.role === "user" ? t("chat.you") : t("chat.assistant")} ·{" "}
              {formatDateTime(hit.created_at, i18n.language)}
            </span>
            <Snippet snippet={hit.snippet} />
          </li>
        ))}
      </ul>
      <p className="search-hint muted">{t("search.hint")}</p>
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onClose}>
          {t("common.close")}
        </button>
      </div>
    </div>
  );
}
