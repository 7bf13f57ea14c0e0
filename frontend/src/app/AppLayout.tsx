import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, Outlet } from "react-router";
import { CloseIcon, MenuIcon, SearchIcon, SettingsIcon } from "../components/icons";
import { useAuth } from "../features/auth";
import { ConversationSidebar } from "../features/conversations";
import { useAccountLook } from "../features/settings";
import { DailyUsage } from "../features/usage";
import { LazyChangePasswordDialog, LazySearchDialog, LazySettingsDialog } from "./lazy-dialogs";

export interface LayoutContext {
  menuButton: React.ReactNode;
}

export function AppLayout() {
  const { t } = useTranslation();
  const { user, logOut } = useAuth();
  useAccountLook();
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [passwordOpen, setPasswordOpen] = useState(false);
  const [searchOpen, setSearchOpen] = useState(false);
  const menuButtonRef = useRef<HTMLButtonElement>(null);
  const closeButtonRef = useRef<HTMLButtonElement>(null);

  // Ctrl+K / Cmd+K: search every message, from anywhere in the app.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
        event.preventDefault();
        setDrawerOpen(false);
        setSearchOpen(true);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    if (!drawerOpen) return;
    closeButtonRef.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        setDrawerOpen(false);
        menuButtonRef.current?.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [drawerOpen]);

  const menuButton = (
    <button
      ref={menuButtonRef}
      type="button"
      className="icon-button drawer-toggle"
      aria-label={t("layout.openMenu")}
      aria-expanded={drawerOpen}
      aria-controls="sidebar"
      onClick={() => setDrawerOpen(true)}
    >
      <MenuIcon />
    </button>
  );

  return (
    <div className={`app-shell${drawerOpen ? " drawer-open" : ""}`}>
      <a className="skip-link" href="#composer-input">
        {t("layout.skipToComposer")}
      </a>
      <aside id="sidebar" className="sidebar" aria-label={t("layout.sidebar")}>
        <div className="sidebar-top">
          <span className="brand">Conversa</span>
          <button
            type="button"
            className="icon-button search-open"
            aria-label={t("search.open")}
            aria-keyshortcuts="Control+K Meta+K"
            title={t("search.openShort")}
            onClick={() => {
              setDrawerOpen(false);
              setSearchOpen(true);
            }}
          >
            <SearchIcon />
          </button>
          <button
            ref={closeButtonRef}
            type="button"
            className="icon-button drawer-close"
            aria-label={t("layout.closeMenu")}
            onClick={() => {
              setDrawerOpen(false);
              menuButtonRef.current?.focus();
            }}
          >
            <CloseIcon />
          </button>
        </div>
        <ConversationSidebar onNavigate={() => setDrawerOpen(false)} />
        <div className="sidebar-footer">
          <p className="user-email" title={user?.email}>
            {user?.email}
          </p>
          <DailyUsage />
          <div className="sidebar-footer-actions">
            {user?.is_admin && (
              <Link to="/admin" className="button" onClick={() => setDrawerOpen(false)}>
                {t("layout.admin")}
              </Link>
            )}
            <button type="button" className="button" onClick={() => setSettingsOpen(true)}>
              <SettingsIcon /> {t("settings.title")}
            </button>
            <button type="button" className="button" onClick={() => setPasswordOpen(true)}>
              {t("auth.changePassword")}
            </button>
            <button type="button" className="button" onClick={logOut}>
              {t("auth.logOut")}
            </button>
          </div>
        </div>
      </aside>
      <div className="drawer-backdrop" onClick={() => setDrawerOpen(false)} aria-hidden="true" />
      <main className="main">
        <Outlet context={{ menuButton } satisfies LayoutContext} />
      </main>
      <LazySearchDialog open={searchOpen} onClose={() => setSearchOpen(false)} />
      <LazySettingsDialog open={settingsOpen} onClose={() => setSettingsOpen(false)} />
      <LazyChangePasswordDialog open={passwordOpen} onClose={() => setPasswordOpen(false)} />
    </div>
  );
}
