/**
 * Reading the project's markdown in tests: sections, tables and code blocks, so that tests can hold
 * what the documents say against what the code and the plan do.
 * @module
 */

/** A `## heading` section of a markdown text, up to the next `## `. */
export function docSection(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The rows of the tables in a text, header row left out: cells by column. */
export function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .slice(1)
    .map((l) =>
      l
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

/** The bodies of the fenced code blocks of the given languages. */
export function codeBlocks(text: string, languages: readonly string[]): string[] {
  return [...text.matchAll(/```([a-z]*)\n([\s\S]*?)```/g)].filter((m) => languages.includes(m[1]!)).map((m) => m[2]!);
}
