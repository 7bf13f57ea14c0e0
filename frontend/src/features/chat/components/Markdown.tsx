import type { Element, ElementContent } from "hast";
import { memo, useMemo } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeSanitize from "rehype-sanitize";
import remarkGfm from "remark-gfm";
import { withCitationMarkers } from "../citations";
import { blocksRenderAlike, splitSettledBlocks } from "../markdown-blocks";
import type { Citation, Source } from "../types";
import { CodeBlock } from "./CodeBlock";
import { SearchSuggestions, SourcesList } from "./Grounding";
import { ReasoningBlock } from "./ReasoningBlock";

function textOf(node: ElementContent): string {
  if (node.type === "text") return node.value;
  if (node.type === "element") return node.children.map(textOf).join("");
  return "";
}

function languageOf(code: Element): string | null {
  const classes = code.properties.className;
  const list = Array.isArray(classes) ? classes.map(String) : [];
  const match = list.find((name) => name.startsWith("language-"));
  return match ? match.slice("language-".length) : null;
}

const components: Components = {
  a: ({ href, children }) => (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ),
  pre: ({ node, children }) => {
    const code = node?.children.find(
      (child): child is Element => child.type === "element" && child.tagName === "code",
    );
    if (!code) return <pre>{children}</pre>;
    return <CodeBlock code={textOf(code).replace(/\n$/, "")} language={languageOf(code)} />;
  },
  table: ({ children }) => (
    <div className="table-scroll">
      <table>{children}</table>
    </div>
  ),
};

const REMARK_PLUGINS = [remarkGfm];
const REHYPE_PLUGINS = [rehypeSanitize];

/** One parse of `text`, skipped while the text stays the same. */
const MarkdownBlock = memo(function MarkdownBlock({ text }: { text: string }) {
  return (
    <ReactMarkdown remarkPlugins={REMARK_PLUGINS} rehypePlugins={REHYPE_PLUGINS} components={components}>
      {text}
    </ReactMarkdown>
  );
});

/**
 * Assistant text as Markdown (GFM). Raw HTML is never rendered (react-markdown drops it,
 * rehype-sanitize cleans what is left) and unsafe URLs such as javascript: are removed.
 * The text is parsed a block at a time and each block only when it changes: while a reply streams
 * only its last block is parsed again, and the finished reply keeps the blocks it has. A finished
 * text with link or footnote definitions is parsed whole, so references find them.
 */
interface MarkdownProps {
  text: string;
  streaming?: boolean;
  /** A grounded reply's cited spans: numbered markers linking to `sources` are shown after them. */
  citations?: Citation[] | undefined;
  sources?: Source[] | undefined;
}

export default function Markdown({ text: content, streaming = false, citations, sources }: MarkdownProps) {
  // Markers only in what is shown: the stored text (and what Copy copies) stays the answer alone.
  const text = useMemo(
    () => (citations?.length && sources ? withCitationMarkers(content, citations, sources) : content),
    [content, citations, sources],
  );
  if (!streaming && !blocksRenderAlike(text)) {
    return (
      <div className="markdown">
        <MarkdownBlock text={text} />
      </div>
    );
  }
  const { settled, tail } = splitSettledBlocks(text);
  return (
    <div className="markdown">
      {settled.map((block, index) => (
        // Text is only ever appended: block n stays block n.
        <MarkdownBlock key={index} text={block} />
      ))}
      <MarkdownBlock key="tail" text={tail} />
    </div>
  );
}

export interface ReplyExtrasProps {
  part: "before" | "after";
  reasoning?: string | null | undefined;
  reasoningMs?: number | null | undefined;
  live: boolean;
  sources?: Source[] | undefined;
  searchEntryPoint?: string | null | undefined;
  labels: { summary: (seconds: number, live: boolean) => string; sources: string; suggestions: string };
}

/**
 * What a reply shows besides its text: its thoughts (`before`), its sources and Google's search
 * suggestions (`after`). In this chunk, with the Markdown, so the first load stays small.
 */
export function ReplyExtras({ part, reasoning, reasoningMs, live, sources, searchEntryPoint, labels }: ReplyExtrasProps) {
  if (part === "before") {
    return reasoning ? (
      <ReasoningBlock reasoning={reasoning} reasoningMs={reasoningMs} live={live} summary={labels.summary} />
    ) : null;
  }
  return (
    <>
      {sources && <SourcesList sources={sources} label={labels.sources} />}
      {searchEntryPoint && <SearchSuggestions html={searchEntryPoint} label={labels.suggestions} />}
    </>
  );
}
