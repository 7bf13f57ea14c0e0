/** Markdown the fake model echoes back: paragraphs, fenced code and GFM tables, as real replies have. */

function section(index: number): string {
  return [
    `## Part ${index}`,
    "",
    `Here is how step ${index} works: the function below adds the values, the table compares the options and the list sums it up for a quick read.`,
    "",
    "```python",
    `def step_${index}(values: list[int]) -> int:`,
    "    total = 0",
    "    for value in values:",
    `        total += value * ${index}`,
    "    return total",
    "```",
    "",
    "| option | cost | speed | note |",
    "| --- | ---: | ---: | --- |",
    `| alpha | ${index} | fast | the default choice |`,
    `| beta | ${index * 2} | medium | when memory is tight |`,
    `| gamma | ${index * 3} | slow | only for very large inputs |`,
    "",
    "- **first**, read the input once",
    "- then `sum` it, keeping the running total",
    "",
  ].join("\n");
}

/** One seeded message: a short question with a code block and a table. */
export function seedMessage(index: number): string {
  return `Question ${index}: can you check this?\n\n${section(index)}`;
}

/** The fake model streams one token per space-separated word. */
export function tokenCount(text: string): number {
  return text.split(" ").length;
}

/** A message whose echoed reply is about `tokens` tokens long (the fake model adds ~60 of its own). */
export function longMessage(tokens: number): string {
  const parts = ["Please explain all of this in detail.", ""];
  for (let index = 1; tokenCount(parts.join("\n")) < tokens - 60; index++) parts.push(section(index));
  return parts.join("\n");
}
