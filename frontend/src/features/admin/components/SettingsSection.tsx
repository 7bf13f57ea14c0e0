import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { ADMIN_NS } from "../admin-i18n";
import * as api from "../api";
import { adminKeys } from "../hooks";
import type { RuntimeSettings, SettingKey, SettingsChange } from "../types";

const QUOTAS = [
  ["user_daily_messages", "settings.dailyMessages"],
  ["user_daily_tokens", "settings.dailyTokens"],
  ["user_monthly_tokens", "settings.monthlyTokens"],
] as const;

function SettingsForm({ current, onSaved }: { current: RuntimeSettings; onSaved: (saved: boolean) => void }) {
  const { t, i18n } = useTranslation(ADMIN_NS);
  const queryClient = useQueryClient();
  const numbers = new Intl.NumberFormat(i18n.language);
  const [signup, setSignup] = useState(current.allow_signup);
  const [quotas, setQuotas] = useState<Record<string, string>>(
    Object.fromEntries(QUOTAS.map(([key]) => [key, String(current[key])])),
  );
  const save = useMutation({
    mutationFn: api.putSettings,
    onSuccess: (values) => {
      onSaved(true);
      queryClient.setQueryData(adminKeys.settings, values); // the form starts again from these
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const change: SettingsChange = {};
    if (signup !== current.allow_signup) change.allow_signup = signup;
    for (const [key] of QUOTAS) {
      const value = Number(quotas[key]);
      if (value !== current[key]) change[key] = value;
    }
    onSaved(false);
    save.mutate(change);
  }

  const source = (key: SettingKey) => {
    const value = current.environment[key];
    const shown = typeof value === "boolean" ? t(value ? "settings.yes" : "settings.no") : numbers.format(value);
    return (
      <span className="muted setting-source">
        {current.overridden.includes(key) ? `${t("settings.setHere")} · ` : ""}
        {t("settings.fromEnvironment", { value: shown })}
      </span>
    );
  };

  return (
    <form className="admin-form" onSubmit={submit}>
      <label className="choice">
        <input
          type="checkbox"
          name="allow_signup"
          checked={signup}
          onChange={(event) => setSignup(event.target.checked)}
        />
        {t("settings.allowSignup")} {source("allow_signup")}
      </label>
      {QUOTAS.map(([key, label]) => (
        <label key={key} className="field">
          <span>
            {t(label)} ({t("settings.zeroOff")}) {source(key)}
          </span>
          <input
            type="number"
            name={key}
            min={0}
            max={1_000_000_000_000}
            step={1}
            required
            value={quotas[key]}
            onChange={(event) => setQuotas({ ...quotas, [key]: event.target.value })}
          />
        </label>
      ))}
      {save.error && (
        <p className="form-error" role="alert">
          {t("error", { message: save.error.message })}
        </p>
      )}
      <div className="dialog-actions">
        <button
          type="button"
          className="button"
          disabled={current.overridden.length === 0 || save.isPending}
          onClick={() => {
            onSaved(false);
            save.mutate(Object.fromEntries(current.overridden.map((key) => [key, null])));
          }}
        >
          {t("settings.reset")}
        </button>
        <button type="submit" className="button primary" disabled={save.isPending}>
          {t("settings.save")}
        </button>
      </div>
    </form>
  );
}

/** Sign-up and the quotas, changed at run time (stored on the server, overriding its environment). */
export function SettingsSection() {
  const { t } = useTranslation(ADMIN_NS);
  const settings = useQuery({ queryKey: adminKeys.settings, queryFn: api.getSettings });
  const [saved, setSaved] = useState(false);
  return (
    <section className="admin-section" aria-labelledby="admin-settings">
      <h2 id="admin-settings">{t("settings.heading")}</h2>
      <p className="muted">{t("settings.intro")}</p>
      {settings.error && (
        <p className="form-error" role="alert">
          {t("error", { message: settings.error.message })}
        </p>
      )}
      {settings.data && (
        <SettingsForm key={JSON.stringify(settings.data)} current={settings.data} onSaved={setSaved} />
      )}
      {saved && (
        <p className="notice" role="status">
          {t("settings.saved")}
        </p>
      )}
    </section>
  );
}
