/**
 * The server-task executor's model of Azure DevOps' templating (lib/dev/server-task):
 * macros first, then Mustache as the decompiled Azure DevOps Server 2022 renders it.
 * Each case is a fact read from its source (see lib/dev/server-task/mustache.ts).
 */
import { describe, expect, test } from "bun:test";
import { absoluteUri, expandMacros, renderTemplate, type ServerTaskEndpoint } from "./server-task-executor.ts";

const render = (template: string, inputs: Record<string, string> = {}) => renderTemplate(template, new Map(Object.entries(inputs)));

describe("values", () => {
  test("{{x}} HTML-encodes (& < > \" ' and Latin-1), {{{x}}} writes the value as it is", () => {
    const x = `<a href="x">'&'</a> é`;
    expect(render("{{x}}", { x })).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt; &#233;");
    expect(render("{{{x}}}", { x })).toBe(x);
    expect(render("{{ x }}", { x: "a" })).toBe("a");
  });

  test("a name the context does not hold renders nothing; \\{{ is a literal brace pair", () => {
    expect(render("[{{nope}}]")).toBe("[]");
    expect(render("\\{{x\\}}", { x: "v" })).toBe("{{x}}");
  });
});

describe("#equals (CommonMustacheHelpers.EqualsHelper)", () => {
  test("compares case-sensitively unless the third argument is true (1, true, 'true')", () => {
    const inputs = { flag: "True" };
    expect(render("{{#equals flag 'true'}}yes{{/equals}}", inputs)).toBe("");
    for (const third of ["1", "true", "'true'"]) expect(render(`{{#equals flag 'true' ${third}}}yes{{/equals}}`, inputs)).toBe("yes");
    expect(render("{{#equals flag 'true' 0}}yes{{/equals}}", inputs)).toBe("");
  });

  test("{{else}} renders when the block wrote nothing, after #equals, #if and endsWith alike", () => {
    expect(render("{{#equals a 'x'}}A{{else}}B{{/equals}}", { a: "y" })).toBe("B");
    expect(render("{{#if a}}A{{else}}B{{/if}}", { a: "" })).toBe("B");
    expect(render("{{#endsWith a '/'}}slash{{else}}none{{/endsWith}}", { a: "http://h/" })).toBe("slash");
    expect(render("{{#endsWith a '/'}}slash{{else}}none{{/endsWith}}", { a: "http://h" })).toBe("none");
    // An empty true branch counts as having written nothing.
    expect(render("{{#equals a 'x'}}{{else}}B{{/equals}}", { a: "x" })).toBe("B");
  });

  test("inline, a helper writes true or false", () => {
    expect(render("{{equals a 'x'}}", { a: "x" })).toBe("true");
  });
});

describe("#jsonEscape and #stringReplace (MustacheTemplateHelpers, registered with their #)", () => {
  const nasty = 'say "hi" \\ there\nnext\tline \u0001 \u2028 {{x}} é';

  test("{{ #jsonEscape x }} and {{{ #jsonEscape x }}} escape like JsonConvert.ToString without the quotes, never HTML-encoded", () => {
    const escaped = JSON.stringify(nasty).slice(1, -1).replace("\u2028", "\\u2028");
    expect(render("{{ #jsonEscape x }}", { x: nasty })).toBe(escaped);
    expect(render("{{{ #jsonEscape x }}}", { x: nasty })).toBe(escaped);
    expect(JSON.parse(`"${render("{{{ #jsonEscape x }}}", { x: nasty })}"`)).toBe(nasty);
  });

  test("{{#jsonEscape x}} (no space) is a block named jsonEscape, which no helper answers: the server fails", () => {
    expect(() => render("{{#jsonEscape x}}{{/jsonEscape}}", { x: "a" })).toThrow(/no helper jsonEscape/);
  });

  test("{{{ #stringReplace '\"' '\\\"' x }}} escapes quotes as the in-box AutomatedAnalysisV0 uses it", () => {
    expect(render(`{{{ #stringReplace '"' '\\"' x }}}`, { x: 'a "b"' })).toBe('a \\"b\\"');
  });

  test("a helper the model does not render fails loudly", () => {
    expect(() => render("{{ toLower x }}", { x: "A" })).toThrow(/no helper toLower/);
    expect(() => render("{{#contains x 'a'}}y{{/contains}}", { x: "a" })).toThrow(/no helper contains/);
    expect(() => render("{{! a comment}}")).toThrow(/not modelled/);
  });
});

describe("macros, then templates", () => {
  const endpoint = (url: string): ServerTaskEndpoint => ({ id: "e", type: "kubeflow-pipelines", url, scheme: "None" });
  const macro = (text: string, url: string) => expandMacros(text, new Map(), new Map(), endpoint(url));

  test("$(endpoint.url) is Uri.AbsoluteUri: a host-only URL gains a slash, a URL with a path keeps its form", () => {
    expect(macro("$(endpoint.url)/apis", "http://ml-pipeline.kubeflow:8888")).toBe("http://ml-pipeline.kubeflow:8888//apis");
    expect(macro("$(endpoint.url)", "https://kf.example.com/pipeline")).toBe("https://kf.example.com/pipeline");
    expect(macro("$(endpoint.url)", "https://kf.example.com/pipeline/")).toBe("https://kf.example.com/pipeline/");
    expect(absoluteUri("HTTPS://KF.Example.com:443")).toBe("https://kf.example.com/");
  });

  test("a value pasted by a macro is template text: its {{ is parsed", () => {
    const inputs = new Map([["runName", "a {{b}} c"]]);
    const pasted = expandMacros('{"name":"$(runName)"}', inputs, new Map(), undefined);
    expect(renderTemplate(pasted, inputs)).toBe('{"name":"a  c"}');
  });
});
