import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { CopyButton } from "../../../components/CopyButton";
import { formatDateTime } from "../../../lib/format";
import * as api from "../api";
import type { CreatedApiKey } from "../types";

const keysKey = ["api-keys"] as const;

/** Settings: personal API keys for the OpenAI-compatible endpoint (create — shown once —, list, revoke). */
export function ApiKeysSection() {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: keysKey, queryFn: api.listKeys });
  const [name, setName] = useState("");
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: keysKey });
  const create = useMutation({
    mutationFn: api.createKey,
    onSuccess: (key) => {
      setCreated(key);
      setName("");
      void refresh();
    },
  });
  const revoke = useMutation({ mutationFn: api.revokeKey, onSuccess: () => void refresh() });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (name.trim()) create.mutate(name.trim().slice(0, 100));
  }

  return (
    <section className="settings-section" aria-labelledby="api-keys-title">
      <h3 id="api-keys-title">{t("apiKeys.title")}</h3>
      <p className="muted">{t("apiKeys.intro", { url: `${window.location.origin}/v1` })}</p>
      {created ? (
        <div className="notice" role="status">
          <p>{t("apiKeys.shownOnce")}</p>
          <div className="copy-field">
            <input aria-label={t("apiKeys.newKey")} value={created.key} readOnly onFocus={(e) => e.target.select()} />
            <CopyButton text={created.key} label={t("apiKeys.copy")} />
          </div>
          <button type="button" className="button small" onClick={() => setCreated(null)}>
            {t("apiKeys.done")}
          </button>
        </div>
      ) : (
        <form className="inline-form" onSubmit={submit}>
          <label className="visually-hidden" htmlFor="api-key-name">
            {t("apiKeys.name")}
          </label>
          <input
            id="api-key-name"
            value={name}
            maxLength={100}
            placeholder={t("apiKeys.name")}
            onChange={(event) => setName(event.target.value)}
          />
          <button type="submit" className="button" disabled={!name.trim() || create.isPending}>
            {t("apiKeys.create")}
          </button>
        </form>
      )}
      {(keys.isError || create.isError || revoke.isError) && (
        <p className="form-error" role="alert">
          {t("apiKeys.error")}
        </p>
      )}
      {keys.data?.length === 0 && <p className="muted">{t("apiKeys.empty")}</p>}
      <ul className="settings-list">
        {keys.data?.map((key) => (
          <li key={key.id} className="settings-item">
            <div className="settings-item-text">
              <span>
                {key.name} <code>{key.prefix}…</code>
              </span>
              <span className="muted">
                {key.last_used_at
                  ? t("apiKeys.lastUsed", { time: formatDateTime(key.last_used_at, i18n.language) })
                  : t("apiKeys.neverUsed")}
              </span>
            </div>
            <button
              type="button"
              className="button small"
              aria-label={t("apiKeys.revokeNamed", { name: key.name })}
              disabled={revoke.isPending}
              onClick={() => revoke.mutate(key.id)}
            >
              {t("apiKeys.revoke")}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
