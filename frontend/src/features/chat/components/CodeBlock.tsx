import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { CopyButton } from "../../../components/CopyButton";

export function CodeBlock({ code, language }: { code: string; language: string | null }) {
  const { t } = useTranslation();
  const [highlighted, setHighlighted] = useState<{ code: string; html: string | null } | null>(null);

  useEffect(() => {
    let cancelled = false;
    // The highlighter is its own chunk, fetched the first time a code block shows up.
    import("../highlight")
      .then(({ highlight }) => {
        if (!cancelled) setHighlighted({ code, html: highlight(code, language) });
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [code, language]);

  const html = highlighted?.code === code ? highlighted.html : null;
  return (
    <div className="code-block">
      <div className="code-block-bar">
        <span>{language ?? t("chat.code")}</span>
        <CopyButton text={code} label={t("chat.copyCode")} />
      </div>
      <pre>
        {html === null ? (
          <code>{code}</code>
        ) : (
          <code className="hljs" dangerouslySetInnerHTML={{ __html: html }} />
        )}
      </pre>
    </div>
  );
}
