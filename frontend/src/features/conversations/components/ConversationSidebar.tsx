import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useMatch, useNavigate } from "react-router";
import { ConfirmDialog } from "../../../components/ConfirmDialog";
import { PlusIcon } from "../../../components/icons";
import { useDebounced } from "../../../lib/use-debounced";
import { groupByDate } from "../date-groups";
import { displayTitle } from "../display-title";
import { flattenPages, useConversationList, useDeleteConversation, useRenameConversation } from "../hooks";
import type { Conversation } from "../types";
import { ConversationItem } from "./ConversationItem";

export function ConversationSidebar({ onNavigate }: { onNavigate: () => void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const active = useMatch("/c/:conversationId");
  const activeId = Number(active?.params.conversationId ?? NaN);
  const [search, setSearch] = useState("");
  const query = useDebounced(search, 250);
  const list = useConversationList(query);
  const rename = useRenameConversation();
  const remove = useDeleteConversation();
  const [toDelete, setToDelete] = useState<Conversation | null>(null);

  async function confirmDelete() {
    if (!toDelete) return;
    const id = toDelete.id;
    setToDelete(null);
    await remove.mutateAsync(id);
    if (id === activeId) navigate("/", { replace: true });
  }

  const items = flattenPages(list.data?.pages);
  // A search answer is ranked by relevance: shown as one list, not by date.
  const groups = query.trim() ? (items.length ? [{ group: "results" as const, items }] : []) : groupByDate(items);
  return (
    <nav className="conversation-nav" aria-label={t("conversations.navLabel")}>
      <Link to="/" className="button primary new-chat" onClick={onNavigate}>
        <PlusIcon /> {t("conversations.newChat")}
      </Link>
      <div className="search" role="search">
        <label htmlFor="conversation-search" className="visually-hidden">
          {t("conversations.search")}
        </label>
        <input
          id="conversation-search"
          type="search"
          placeholder={t("conversations.search")}
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
      </div>
      <div className="conversation-groups">
        {list.isError && (
          <p className="muted" role="alert">
            {t("conversations.loadError")}
          </p>
        )}
        {list.isSuccess && groups.length === 0 && (
          <p className="muted">{query ? t("conversations.noResults") : t("conversations.empty")}</p>
        )}
        {groups.map(({ group, items }) => (
          <section key={group} className="conversation-group" aria-labelledby={`group-${group}`}>
            <h2 id={`group-${group}`}>
              {group === "results" ? t("conversations.results") : t(`conversations.groups.${group}`)}
            </h2>
            <ul>
              {items.map((conversation) => (
                <ConversationItem
                  key={conversation.id}
                  conversation={conversation}
                  onOpen={onNavigate}
                  onRename={(title) => rename.mutateAsync({ id: conversation.id, title })}
                  onDelete={() => setToDelete(conversation)}
                />
              ))}
            </ul>
          </section>
        ))}
        {list.hasNextPage && (
          <button
            type="button"
            className="button load-more"
            disabled={list.isFetchingNextPage}
            onClick={() => void list.fetchNextPage()}
          >
            {t("conversations.loadMore")}
          </button>
        )}
      </div>
      <ConfirmDialog
        open={toDelete !== null}
        title={t("conversations.deleteTitle")}
        message={t("conversations.deleteConfirm", { title: toDelete ? displayTitle(toDelete.title, t) : "" })}
        confirmLabel={t("conversations.deleteShort")}
        onConfirm={() => void confirmDelete()}
        onCancel={() => setToDelete(null)}
      />
    </nav>
  );
}
