// Prints the JavaScript that index.html loads up front (gzip) and fails above the budget.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET_KB = 150;
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const html = readFileSync(join(dist, "index.html"), "utf8");
const initial = [
  ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
].map((match) => match[1]);

let total = 0;
for (const src of new Set(initial)) {
  const size = gzipSync(readFileSync(join(dist, src.replace(/^\//, "")))).length;
  total += size;
  console.log(`  ${src}  ${(size / 1000).toFixed(2)} kB gzip`);
}
const totalKb = total / 1000;
console.log(`Initial JavaScript: ${totalKb.toFixed(2)} kB gzip (budget ${BUDGET_KB} kB)`);
if (totalKb > BUDGET_KB) {
  console.error("Initial JavaScript is over budget: load more of it lazily.");
  process.exit(1);
}
