/**
 * Markdown summaries on the run page's Extensions tab.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tl from "./task-lib.ts";

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
  const folder = tl.getVariable("Agent.TempDirectory") || tmpdir();
  const file = join(folder, fileName);
  writeFileSync(file, markdown);
  tl.uploadSummary(file);
}
