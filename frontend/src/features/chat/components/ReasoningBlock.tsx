import { useEffect, useState } from "react";

interface ReasoningBlockProps {
  reasoning: string;
  /** How long the model thought (the saved reply's); null while it streams. */
  reasoningMs: number | null | undefined;
  /** The thoughts are still coming (no answer text yet). */
  live: boolean;
  /** "Thinking… N s" while live, else "Thought for N s" (the caller's language). */
  summary: (seconds: number, live: boolean) => string;
}

function seconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}

/** The model's thought summary, collapsed under "Thought for N s", counting while it thinks. */
export function ReasoningBlock({ reasoning, reasoningMs, live, summary }: ReasoningBlockProps) {
  const [started] = useState(() => Date.now());
  const [elapsed, setElapsed] = useState(0);

  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setElapsed(Date.now() - started), 1000);
    return () => {
      clearInterval(timer);
      setElapsed(Date.now() - started); // the answer started: the count stops here
    };
  }, [live, started]);

  const ms = reasoningMs ?? elapsed;
  return (
    <details className="reasoning" data-testid="reasoning">
      <summary aria-live={live ? "polite" : undefined}>
        {summary(seconds(ms), live)}
      </summary>
      <div className="reasoning-text">{reasoning}</div>
    </details>
  );
}
