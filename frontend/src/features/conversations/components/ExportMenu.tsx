import { memo, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { DownloadIcon } from "../../../components/icons";
import { downloadExport } from "../api";
import type { ExportFormat } from "../types";

/** Memoised: the chat page renders again with every streamed update, this stays as it was. */
export const ExportMenu = memo(function ExportMenu({ conversationId }: { conversationId: number }) {
  const { t } = useTranslation();
  const [error, setError] = useState(false);
  const menu = useRef<HTMLDetailsElement>(null);

  // A <details> menu stays open until its summary is clicked again: close it as menus do, on a
  // click elsewhere or on Escape (which gives the focus back to the button).
  useEffect(() => {
    function close(event: Event) {
      const details = menu.current;
      if (!details?.open) return;
      if (event instanceof KeyboardEvent) {
        if (event.key !== "Escape") return;
        details.open = false;
        details.querySelector("summary")?.focus();
      } else if (!details.contains(event.target as Node)) {
        details.open = false;
      }
    }
    document.addEventListener("pointerdown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("pointerdown", close);
      document.removeEventListener("keydown", close);
    };
  }, []);

  async function download(format: ExportFormat) {
    setError(false);
    try {
      await downloadExport(conversationId, format);
      if (menu.current) menu.current.open = false;
    } catch {
      setError(true);
    }
  }

  return (
    <details className="export-menu" ref={menu}>
      <summary className="button" aria-label={t("export.label")}>
        <DownloadIcon /> <span className="hide-narrow">{t("export.button")}</span>
      </summary>
      <div className="menu" role="group" aria-label={t("export.label")}>
        <button type="button" className="menu-item" onClick={() => void download("markdown")}>
          {t("export.markdown")}
        </button>
        <button type="button" className="menu-item" onClick={() => void download("json")}>
          {t("export.json")}
        </button>
        {error && (
          <p className="form-error" role="alert">
            {t("export.error")}
          </p>
        )}
      </div>
    </details>
  );
});
