/**
 * Markdown summaries on the run page's Extensions tab.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tl from "./task-lib.ts";
import type { KfpClient, Pipeline, PipelineVersion } from "../kfp/mod.ts";

/** The Pipeline, Version and KFP rows of a run's summary table, linked to the KFP UI. */
export function mdPipelineRows(kfp: KfpClient, pipeline?: Pipeline, version?: PipelineVersion): [string, string | undefined][] {
  return [
    ["Pipeline", pipeline ? mdLink(pipeline.name, kfp.links.pipeline(pipeline.id)) : undefined],
    ["Version", pipeline && version ? mdLink(version.name, kfp.links.version(pipeline.id, version.id)) : undefined],
    ["KFP", `${md(kfp.serverVersion ?? "version not reported")}, API ${kfp.apiVersion}`],
  ];
}

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

/**
 * Writes the summary to a folder of its own under the agent's temp folder and
 * attaches it to the step. The agent reads the file later, when it uploads the
 * attachment (TaskAddAttachmentCommand queues the path): with one fixed path,
 * a second step of the same kind in the job would overwrite the first one's
 * summary before it is read. The attachment keeps its readable name.
 *
 * Attachments are uploaded as they are: the agent masks secrets in log lines
 * only. So a summary must hold no value that could be a secret.
 */
export function uploadSummary(fileName: string, markdown: string): void {
  const temp = tl.getVariable("Agent.TempDirectory") || tmpdir();
  const file = join(mkdtempSync(join(temp, "kubeflow-summary-")), fileName);
  writeFileSync(file, markdown);
  tl.uploadSummary(file);
}

/**
 * The parameters a run got, by name only: a value may come from a secret
 * variable, and the agent uploads summaries unmasked. Empty when there are none.
 */
export function mdParameterNames(parameters: Record<string, unknown> | undefined): string {
  const names = Object.keys(parameters ?? {});
  return names.length > 0 ? `Parameters (values on the run's page in KFP): ${names.map((name) => md(name)).join(", ")}` : "";
}
