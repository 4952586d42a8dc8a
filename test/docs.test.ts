/**
 * The user-facing docs against what ships: every YAML step in README.md and
 * overview.md (the Marketplace page) names a task and inputs that task.json
 * has, with valid picklist values and every required input; run parameters are
 * ones the documented Python pipelines declare; fully qualified task names
 * match vss-extension.json; each task's editor text reads well (distinct
 * labels, no empty slot in its instance name, a Learn more link that lands on
 * a heading of the Marketplace page).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./harness.ts";

interface TaskInput {
  name: string;
  type: string;
  label: string;
  required?: boolean;
  defaultValue?: string | boolean;
  visibleRule?: string;
  aliases?: string[];
  options?: Record<string, string>;
}

interface TaskJson {
  name: string;
  version: { Major: number };
  instanceNameFormat: string;
  helpMarkDown: string;
  inputs: TaskInput[];
}

const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
const manifest = JSON.parse(read("vss-extension.json"));
const contributions: { id: string; folder: string; task: TaskJson }[] = manifest.contributions
  .filter((c: any) => c.type === "ms.vss-distributed-task.task")
  .map((c: any) => ({ id: c.id, folder: c.properties.name, task: JSON.parse(read(`${c.properties.name}/task.json`)) }));
const PAGE = manifest.content.details.path as string;
const DOCS = ["README.md", PAGE];

/** The fenced code blocks of a Markdown text in one language. */
function blocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```", "gm"))].map((m) => m[1]!);
}

/** Every `- task:` step in a parsed YAML document, wherever it sits (steps, jobs, stages). */
function taskSteps(node: unknown): { task: string; inputs: Record<string, unknown> }[] {
  if (Array.isArray(node)) return node.flatMap(taskSteps);
  if (node === null || typeof node !== "object") return [];
  const record = node as Record<string, unknown>;
  const own = typeof record.task === "string" ? [{ task: record.task, inputs: (record.inputs ?? {}) as Record<string, unknown> }] : [];
  return [...own, ...Object.values(record).flatMap(taskSteps)];
}

/** The task a YAML reference means: `Name@1`, or `publisher.extension.contribution.Name@1`. */
function resolve(reference: string): { task?: TaskJson; problem?: string } {
  const [name, major] = reference.split("@");
  const parts = name!.split(".");
  const short = parts.at(-1)!;
  const found = contributions.find((c) => c.task.name === short);
  if (!found) return { problem: `${reference}: no task named ${short} in vss-extension.json` };
  if (parts.length > 1) {
    const qualified = `${manifest.publisher}.${manifest.id}.${found.id}.${short}`;
    if (name !== qualified) return { problem: `${reference}: the fully qualified name is ${qualified}` };
  }
  if (Number(major) !== found.task.version.Major)
    return { problem: `${reference}: the task's major version is ${found.task.version.Major}` };
  return { task: found.task };
}

/** Whether a visibleRule (`a = x`, `a != x`, joined by && or ||) holds for the given inputs. */
function visible(rule: string | undefined, inputs: Record<string, string>, task: TaskJson): boolean {
  if (!rule) return true;
  const value = (name: string) => inputs[name] ?? String(task.inputs.find((i) => i.name === name)?.defaultValue ?? "");
  const clause = (c: string) => {
    const m = /^\s*(\w+)\s*(!=|==|=)\s*(.*?)\s*$/.exec(c);
    if (!m) throw new Error(`visibleRule clause ${c} is not modelled`);
    return m[2] === "!=" ? value(m[1]!) !== m[3] : value(m[1]!) === m[3];
  };
  return rule.includes("||") ? rule.split("||").some(clause) : rule.split("&&").every(clause);
}

/** What is wrong with one documented step. */
function stepProblems(step: { task: string; inputs: Record<string, unknown> }): string[] {
  const { task, problem } = resolve(step.task);
  if (!task) return [problem!];
  const given = Object.fromEntries(Object.entries(step.inputs).map(([k, v]) => [k, String(v)]));
  const problems: string[] = [];
  for (const [name, value] of Object.entries(given)) {
    const input = task.inputs.find((i) => i.name === name || i.aliases?.includes(name));
    if (!input) {
      problems.push(`${step.task}: no input ${name}`);
      continue;
    }
    if (value.includes("$(")) continue; // a macro: its value is known only at run time
    if ((input.type === "pickList" || input.type === "radio") && input.options && !(value in input.options)) {
      problems.push(`${step.task}: ${name}: ${value} is not one of ${Object.keys(input.options).join(", ")}`);
    }
    if (input.type === "boolean" && !/^(true|false)$/i.test(value)) problems.push(`${step.task}: ${name}: ${value} is not true or false`);
  }
  for (const input of task.inputs) {
    const hasDefault = String(input.defaultValue ?? "") !== "";
    if (input.required && !hasDefault && !(input.name in given) && visible(input.visibleRule, given, task)) {
      problems.push(`${step.task}: required input ${input.name} is missing`);
    }
  }
  return problems;
}

/** Parameter names a run step passes (pipelineParams in any of its forms, pipelineParamsMap members). */
function runParameterNames(inputs: Record<string, unknown>): string[] {
  const names: string[] = [];
  const params = String(inputs.pipelineParams ?? "").trim();
  if (params.startsWith("{") || params.startsWith("[")) {
    names.push(...[...params.matchAll(/"name"\s*:\s*"([^"]+)"/g)].map((m) => m[1]!));
    if (names.length === 0) names.push(...[...params.matchAll(/"([^"]+)"\s*:/g)].map((m) => m[1]!));
  } else {
    names.push(...params.split("\n").flatMap((line) => (/^\s*([\w.-]+)\s*=/.exec(line)?.[1] ? [/^\s*([\w.-]+)\s*=/.exec(line)![1]!] : [])));
  }
  names.push(...[...String(inputs.pipelineParamsMap ?? "").matchAll(/"([^"]+)"\s*:/g)].map((m) => m[1]!));
  return names;
}

/** Parameters of every `@dsl.pipeline` function in the Python blocks. */
function pipelineParameters(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const code of blocks(markdown, "python")) {
    for (const m of code.matchAll(/@dsl\.pipeline\([^)]*\)\s*\ndef \w+\(([^)]*)\)/g)) {
      for (const param of m[1]!.split(",")) {
        const name = /^\s*(\w+)/.exec(param)?.[1];
        if (name) names.add(name);
      }
    }
  }
  return names;
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");
}

describe.each(DOCS)("%s", (doc) => {
  const markdown = read(doc);
  const steps = blocks(markdown, "yaml").flatMap((yaml) => taskSteps(Bun.YAML.parse(yaml)));

  test("has YAML steps to check", () => {
    expect(steps.length).toBeGreaterThan(0);
  });

  test("every YAML step names a task of this extension, inputs it has, valid values and every required input", () => {
    expect(steps.flatMap(stepProblems)).toEqual([]);
  });

  test("every run parameter in the YAML is declared by the documented Python pipeline", () => {
    const declared = pipelineParameters(markdown);
    if (declared.size === 0) return;
    const undeclared = steps.flatMap((s) => runParameterNames(s.inputs)).filter((name) => !declared.has(name));
    expect(undeclared).toEqual([]);
  });

  test("every fully qualified task name matches vss-extension.json", () => {
    const qualified = [...markdown.matchAll(/\b[\w-]+\.[\w-]+\.[\w-]+\.(Kubeflow\w+)@\d+/g)];
    const problems = qualified.flatMap((m) => (resolve(m[0]).problem ? [resolve(m[0]).problem!] : []));
    expect(problems).toEqual([]);
  });
});

describe("the checks themselves", () => {
  test("catch an unknown input, a bad picklist value, a missing required input and a wrong qualified name", () => {
    expect(stepProblems({ task: "KubeflowUploadPipeline@1", inputs: { pipelineFile: "x", kubeflowPipelineTask: "upload" } })).toEqual([
      "KubeflowUploadPipeline@1: no input pipelineFile",
      "KubeflowUploadPipeline@1: kubeflowPipelineTask: upload is not one of uploadNew, uploadNewVersion, uploadNewOrVersion",
      "KubeflowUploadPipeline@1: required input pipelineFilePath is missing",
    ]);
    expect(stepProblems({ task: "someone.else.upload-pipeline.KubeflowUploadPipeline@1", inputs: {} })[0]).toContain(
      `the fully qualified name is ${manifest.publisher}.${manifest.id}.upload-pipeline.KubeflowUploadPipeline`,
    );
    expect(stepProblems({ task: "KubeflowUploadPipeline@0", inputs: {} })).toEqual([
      "KubeflowUploadPipeline@0: the task's major version is 1",
    ]);
  });

  test("read every form of run parameters", () => {
    expect(runParameterNames({ pipelineParams: "epochs=5\nlearning_rate=0.1" })).toEqual(["epochs", "learning_rate"]);
    expect(runParameterNames({ pipelineParams: '{"epochs": 5}' })).toEqual(["epochs"]);
    expect(runParameterNames({ pipelineParams: '{"name":"epochs","value":"5"}' })).toEqual(["epochs"]);
    expect(runParameterNames({ pipelineParamsMap: '"epochs": 5, "flag": true' })).toEqual(["epochs", "flag"]);
  });
});

describe("the Marketplace page and the manifest", () => {
  const page = read(PAGE);
  const anchors = new Set([...page.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
  const repository = manifest.repository.uri as string;

  test("the manifest names the repository, its issues and licence, and a brand colour", () => {
    expect(repository).toMatch(/^https:\/\/github\.com\/[\w-]+\/[\w-]+$/);
    expect(manifest.links.repository.uri).toBe(repository);
    expect(manifest.links.issues.uri).toBe(`${repository}/issues`);
    expect(manifest.links.license.uri).toBe(`${repository}/blob/main/LICENSE`);
    expect(manifest.branding.color).toMatch(/^#[0-9a-f]{6}$/i);
  });

  test("links to the repository's files and to headings of its own land", () => {
    const links = [...page.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    const broken = links.filter((link) => {
      if (link.startsWith("#")) return !anchors.has(link.slice(1));
      if (link.startsWith(`${repository}/blob/main/`)) return !/^[\w./-]+$/.test(link.slice(repository.length + 11));
      if (link.startsWith(repository) || link.startsWith("https://")) return false;
      // A relative link: a picture the vsix carries.
      return !manifest.files.some((f: any) => f.path === link && f.addressable);
    });
    expect(broken).toEqual([]);
    for (const file of ["CHANGELOG.md", "LICENSE"]) expect(links).toContain(`${repository}/blob/main/${file}`);
    expect(links).toContain(`${repository}/issues`);
  });

  test("every link into the repository from the manifest and the task.json files lands on a file (and a heading of the page)", () => {
    const texts = [read("vss-extension.json"), ...contributions.map((c) => read(`${c.folder}/task.json`))];
    const links = texts.flatMap((text) => [...text.matchAll(new RegExp(`${repository}/blob/main/([^)"#\\s]+)(?:#([\\w-]+))?`, "g"))]);
    expect(links.length).toBeGreaterThan(0);
    const broken = links.filter(
      ([, file, anchor]) => !existsSync(join(REPO_ROOT, file!)) || (anchor && (file !== PAGE || !anchors.has(anchor))),
    );
    expect(broken.map((m) => m[0])).toEqual([]);
  });

  test.each(contributions.map((c) => [c.folder, c.task] as const))("%s: labels, instance name and Learn more link", (_folder, task) => {
    const labels = task.inputs.map((i) => i.label);
    expect(labels.filter((label, at) => labels.indexOf(label) !== at)).toEqual([]);
    // Each macro in the instance name is an input that always has a value: required, and shown whatever else is chosen.
    const macros = [...task.instanceNameFormat.matchAll(/\$\((\w+)\)/g)].map((m) => m[1]!);
    const unsafe = macros.filter((name) => {
      const input = task.inputs.find((i) => i.name === name);
      return !input || !(input.required || String(input.defaultValue ?? "") !== "") || input.visibleRule;
    });
    expect(unsafe).toEqual([]);
    const learnMore = /\[Learn more\]\(([^)]+)\)/.exec(task.helpMarkDown)?.[1];
    expect(learnMore).toStartWith(`${repository}/blob/main/${PAGE}#`);
    expect(anchors.has(learnMore!.split("#")[1]!)).toBe(true);
  });
});
