import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { CopyIcon } from "./icons";

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

export function CopyButton({ text, label, className = "" }: { text: string; label: string; className?: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);

  return (
    <button
      type="button"
      className={`icon-button small ${className}`}
      aria-label={label}
      title={label}
      onClick={() => {
        copyText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      <CopyIcon />
      <span className="copy-status" role="status">
        {copied ? t("common.copied") : ""}
      </span>
    </button>
  );
}
