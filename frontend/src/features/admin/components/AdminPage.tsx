import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { ADMIN_NS } from "../admin-i18n";
import { SettingsSection } from "./SettingsSection";
import { UsageSection } from "./UsageSection";
import { UsersSection } from "./UsersSection";

/** The administrator's page: accounts, usage over the last 30 days, and settings changed at run time. */
export default function AdminPage({ leading }: { leading?: ReactNode }) {
  const { t } = useTranslation(ADMIN_NS);
  return (
    <div className="admin-page">
      <header className="admin-header">
        {leading}
        <h1>{t("title")}</h1>
        <Link to="/" className="button small">
          {t("back")}
        </Link>
      </header>
      <UsageSection />
      <UsersSection />
      <SettingsSection />
    </div>
  );
}
