/**
 * Markdown summaries on the run page's Extensions tab.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tl from "azure-pipelines-task-lib/task";

/** Escapes text for a Markdown table cell or line. */
export function md(text: string): string {
  return text.replace(/[\\`*_{}[\]<>|]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
}

/** A Markdown link, or the plain text when there is no URL. */
export function mdLink(text: string, url: string | undefined): string {
  return url ? `[${md(text)}](${url})` : md(text);
}

/** A two-column table from label/value rows (values already Markdown). */
export function mdTable(rows: [string, string | undefined][]): string {
  const kept = rows.filter((row): row is [string, string] => row[1] !== undefined && row[1] !== "");
  return ["| | |", "|---|---|", ...kept.map(([label, value]) => `| ${label} | ${value} |`)].join("\n");
}

/** Writes the summary to the agent's temp folder and attaches it to the run. */
export function uploadSummary(fileName: string, markdown: string): void {
  const folder = tl.getVariable("Agent.TempDirectory") || os.tmpdir();
  const file = path.join(folder, fileName);
  fs.writeFileSync(file, markdown);
  tl.uploadSummary(file);
}
