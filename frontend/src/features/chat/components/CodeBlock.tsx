import { memo, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { CopyButton } from "../../../components/CopyButton";

/** A block that keeps changing (a reply streaming into it) is highlighted once it pauses this long. */
const REHIGHLIGHT_AFTER_MS = 150;

export const CodeBlock = memo(function CodeBlock({ code, language }: { code: string; language: string | null }) {
  const { t } = useTranslation();
  const [highlighted, setHighlighted] = useState<{ code: string; html: string | null } | null>(null);
  const seenRef = useRef(false);

  useEffect(() => {
    let cancelled = false;
    const delay = seenRef.current ? REHIGHLIGHT_AFTER_MS : 0;
    seenRef.current = true;
    const timer = setTimeout(() => {
      // The highlighter is its own chunk, fetched the first time a code block shows up.
      import("../highlight")
        .then(({ highlight }) => {
          if (!cancelled) setHighlighted({ code, html: highlight(code, language) });
        })
        .catch(() => undefined);
    }, delay);
    return () => {
      cancelled = true;
      clearTimeout(timer);
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
});
