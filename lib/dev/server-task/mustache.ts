/**
 * Azure DevOps' Mustache templates, as its server renders a server task's
 * EndpointUrl, Body and Headers, after the `$(...)` macros have been replaced.
 * Modelled on the decompiled Azure DevOps Server 2022 (mjwrona/decompiled):
 *   [Parse]     Microsoft.VisualStudio.Services.WebApi/MustacheExpression.cs: Parse
 *   [Expr]      …WebApi/MustacheTemplatedExpression.cs: helper name, arguments, evaluation, `else`
 *   [Parser]    …WebApi/MustacheTemplateParser.cs: helper names are case-insensitive; a value-returning
 *               helper's result is written as it is (never encoded)
 *   [Common]    …WebApi/CommonMustacheHelpers.cs: equals, notEquals
 *   [Engine]    Microsoft.VisualStudio.Services.ServiceEndpoints.Common/MustacheTemplateEngine.cs: registers
 *               `#jsonEscape`, `#stringReplace`, `endsWith` (and more, not modelled)
 *   [Helpers]   …ServiceEndpoints.Common/MustacheTemplateHelpers.cs: JsonEscapeHelper, StringReplaceHelper, EndswithHelper
 *   [Encode]    …WebApi/MustacheEncodeMethods.cs: `{{x}}` is HTML-encoded (UriUtility.HtmlEncode), `{{{x}}}` is not
 * Anything else (another helper, partials, comments, inverted sections,
 * standalone-line whitespace rules) fails loudly: a task.json must not depend on
 * behaviour this model has not been checked against.
 */

/** The template cannot be parsed or rendered (the server would fail the task). */
export class TemplateError extends Error {
  override name = "TemplateError";
}

type Arg = { literal: string | number | boolean | null } | { path: string };

interface Tag {
  kind: "tag";
  /** The text after the helper name (or the whole path when there is no helper). */
  expression: string;
  helper?: string;
  args: Arg[];
  /** `{{x}}` encodes, `{{{x}}}` does not [Parse]. */
  encode: boolean;
  block: boolean;
  children: Node[];
  /** `{{else}}` after a block: rendered when that block wrote nothing [Expr]. */
  elseOf?: Tag;
}
type Node = { kind: "text"; text: string } | Tag;

/** Helpers the model renders, by lower-cased name [Parser]. */
const HELPERS: Record<string, (tag: Tag, context: Context) => string> = {
  if: (tag, context) => (truthy(argValue(tag.args[0], context)) ? renderNodes(tag.children, context) : ""),
  equals: (tag, context) => compare(tag, context, true),
  notequals: (tag, context) => compare(tag, context, false),
  endswith: endsWith,
  "#jsonescape": (tag, context) => jsonEscape(stringOf(lookup(context, tag.expression))),
  "#stringreplace": stringReplace,
};

type Context = Map<string, string>;

/** Renders `text` against the task's inputs, as the server does. */
export function renderTemplate(text: string, context: Context): string {
  if (/[\r\n]/.test(text)) throw new TemplateError("a template with line breaks: standalone-line whitespace rules are not modelled");
  return renderNodes(parse(text), context);
}

/** [Parse] One pass over the text: `\{{` and `\}}` are literal braces, `{{{…}}}` raw, `{{…}}` encoded. */
function parse(template: string): Node[] {
  const root: Node[] = [];
  const stack: Tag[] = [];
  const children = () => stack.at(-1)?.children ?? root;
  let text = "";
  let i = 0;
  const flush = () => {
    if (text) children().push({ kind: "text", text });
    text = "";
  };
  while (i < template.length) {
    if (template.startsWith("\\{{", i) || template.startsWith("\\}}", i)) {
      text += template.slice(i + 1, i + 3);
      i += 3;
      continue;
    }
    if (!template.startsWith("{{", i)) {
      text += template[i++];
      continue;
    }
    flush();
    const encode = template[i + 2] !== "{";
    const start = i + (encode ? 2 : 3);
    const end = template.indexOf("}}", start);
    if (end < 0) throw new TemplateError(`missing closing braces after ${JSON.stringify(template.slice(i, i + 40))}`);
    const content = template.slice(start, end);
    if (content.includes("{{")) throw new TemplateError(`"{{" inside an expression: ${JSON.stringify(content)}`);
    if (!encode && template[end + 2] !== "}") throw new TemplateError(`{{{${content}}} is closed with two braces, not three`);
    i = end + (encode ? 2 : 3);
    closeOrOpen(content, encode, stack, children);
  }
  flush();
  if (stack.length) throw new TemplateError(`{{#${stack.at(-1)!.helper ?? stack.at(-1)!.expression}}} is never closed`);
  return root;
}

function closeOrOpen(content: string, encode: boolean, stack: Tag[], children: () => Node[]): void {
  // [Parse] the text between the braces is matched untrimmed: `{{ /x}}` or `{{ else }}` are not end or else tags.
  if (content.startsWith("/")) {
    const open = stack.at(-1);
    const name = content.slice(1).toLowerCase();
    if (!open?.block) throw new TemplateError(`{{${content}}} closes nothing`);
    if (name !== open.expression.toLowerCase() && name !== open.helper?.toLowerCase())
      throw new TemplateError(`{{${content}}} does not match the open {{#${open.helper ?? open.expression}}}`);
    stack.pop();
    return;
  }
  if (/^[!^]|^#\*inline/.test(content) || content.startsWith(">"))
    throw new TemplateError(`{{${content}}}: comments, inverted sections and partials are not modelled`);
  if (content.toLowerCase() === "else" && stack.length) {
    const source = stack.pop()!;
    const tag: Tag = { ...source, children: [], elseOf: source };
    children().push(tag);
    stack.push(tag);
    return;
  }
  const block = content.startsWith("#");
  const tag = makeTag((block ? content.slice(1) : content).trim(), encode, block);
  children().push(tag);
  if (block) stack.push(tag);
}

/** [Expr] A space splits the helper's name from its expression; a name with no helper registered fails. */
function makeTag(text: string, encode: boolean, block: boolean): Tag {
  const space = text.indexOf(" ");
  if (space < 0) {
    if (HELPERS[text.toLowerCase()]) return { kind: "tag", expression: "", helper: text, args: [], encode, block, children: [] };
    return { kind: "tag", expression: text, args: [], encode, block, children: [] };
  }
  const helper = text.slice(0, space);
  const expression = text.slice(space + 1);
  if (!HELPERS[helper.toLowerCase()])
    throw new TemplateError(`{{${block ? "#" : ""}${text}}}: no helper ${helper} is registered (or this model does not render it)`);
  return { kind: "tag", expression, helper, args: parseArgs(expression), encode, block, children: [] };
}

/** [Expr] ParseArgumentExpressions: quoted strings (escapes \" \' \\ only), numbers, null, True/False, else a path. */
function parseArgs(expression: string): Arg[] {
  const args: Arg[] = [];
  let i = 0;
  while (i < expression.length) {
    const c = expression[i]!;
    if (c === " ") {
      i++;
    } else if (c === '"' || c === "'") {
      let value = "";
      for (i++; expression[i] !== c; i++) {
        if (i >= expression.length) throw new TemplateError(`unterminated string in ${JSON.stringify(expression)}`);
        if (expression[i] === "\\") {
          const next = expression[++i];
          if (next !== '"' && next !== "'" && next !== "\\") throw new TemplateError(`invalid escape in ${JSON.stringify(expression)}`);
          value += next;
        } else value += expression[i];
      }
      i++;
      args.push({ literal: value });
    } else {
      const word = /^\S+/.exec(expression.slice(i))![0];
      i += word.length;
      if (/^-?\d+(\.\d+)?$/.test(word)) args.push({ literal: Number(word) });
      else if (word === "null") args.push({ literal: null });
      // .NET's bool.TrueString/FalseString; matched without regard to case here (the docs write `true`).
      else if (/^(true|false)$/i.test(word)) args.push({ literal: word.toLowerCase() === "true" });
      else args.push({ path: word });
    }
  }
  return args;
}

function renderNodes(nodes: Node[], context: Context): string {
  let out = "";
  const wrote = new Map<Tag, boolean>();
  for (const node of nodes) {
    if (node.kind === "text") {
      out += node.text;
      continue;
    }
    // [Expr] an else block renders when its source block wrote nothing.
    if (node.elseOf && wrote.get(node.elseOf)) continue;
    const piece = node.elseOf ? renderNodes(node.children, context) : renderTag(node, context);
    wrote.set(node, piece.length > 0);
    out += piece;
  }
  return out;
}

function renderTag(tag: Tag, context: Context): string {
  if (tag.helper) return HELPERS[tag.helper.toLowerCase()]!(tag, context);
  const value = lookup(context, tag.expression);
  if (tag.block) return truthy(value) ? renderNodes(tag.children, context) : "";
  if (value === undefined) return "";
  return tag.encode ? htmlEncode(value) : value;
}

/** The task's inputs are the context: a name is looked up as written. */
function lookup(context: Context, path: string): string | undefined {
  return context.get(path.trim());
}

function argValue(arg: Arg | undefined, context: Context): string | number | boolean | null | undefined {
  if (!arg) return undefined;
  return "path" in arg ? lookup(context, arg.path) : arg.literal;
}

function stringOf(value: string | number | boolean | null | undefined): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

function truthy(value: string | number | boolean | null | undefined): boolean {
  return typeof value === "string" ? value !== "" : typeof value === "number" ? value !== 0 : value === true;
}

/**
 * [Expr] GetHelperArgument<bool>: a number converts (1 is true), a string must read "true"/"false" (bool.Parse),
 * anything else is false.
 */
function flag(arg: Arg | undefined, context: Context): boolean {
  const value = argValue(arg, context);
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  return typeof value === "string" && value.trim().toLowerCase() === "true";
}

/** A block writes its children when the helper's test holds; inline it writes "true" or "false" [Common]. */
function outcome(tag: Tag, context: Context, holds: boolean): string {
  if (tag.block) return holds ? renderNodes(tag.children, context) : "";
  return holds ? "true" : "false";
}

/** [Common] EqualsHelper: Ordinal, or OrdinalIgnoreCase only when the third argument is true. */
function compare(tag: Tag, context: Context, equal: boolean): string {
  const [a, b] = [stringOf(argValue(tag.args[0], context)), stringOf(argValue(tag.args[1], context))];
  const same = flag(tag.args[2], context) ? a.toLowerCase() === b.toLowerCase() : a === b;
  return outcome(tag, context, same === equal);
}

/** [Helpers] EndswithHelper: `endsWith value suffix [ignoreCase] [negate]`. */
function endsWith(tag: Tag, context: Context): string {
  const [value, suffix] = [stringOf(argValue(tag.args[0], context)), stringOf(argValue(tag.args[1], context))];
  const ends = flag(tag.args[2], context) ? value.toLowerCase().endsWith(suffix.toLowerCase()) : value.endsWith(suffix);
  return outcome(tag, context, flag(tag.args[3], context) ? !ends : ends);
}

/** [Helpers] StringReplaceHelper: `#stringReplace 'old' 'new' path`; the quoted parts are taken as written. */
function stringReplace(tag: Tag, context: Context): string {
  const parts = [...tag.expression.matchAll(/'[^']*'|"[^"]*"|\S+/g)].map((m) => m[0]);
  if (parts.length < 3) return "";
  const unquote = (part: string) => (/^(['"]).*\1$/.test(part) ? part.slice(1, -1) : part);
  return (lookup(context, parts[2]!) ?? "").split(unquote(parts[0]!)).join(unquote(parts[1]!));
}

/**
 * [Helpers] JsonEscapeHelper: Newtonsoft's JsonConvert.ToString without its quotes: `"` and `\` escaped,
 * control characters as \b \t \n \f \r or \u00XX, and U+0085, U+2028, U+2029 as \uXXXX.
 */
export function jsonEscape(text: string): string {
  const short: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r" };
  return text.replace(/["\\\u0000-\u001f\u0085\u2028\u2029]/g, (c) => short[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * [Encode] `{{x}}`: HTML encoding as .NET's WebUtility.HtmlEncode does it (which UriUtility.HtmlEncode is taken
 * to wrap): `& < > " '` as entities, U+00A0 to U+00FF and characters beyond U+FFFF as numeric references.
 */
export function htmlEncode(text: string): string {
  const named: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  let out = "";
  for (const c of text) {
    const code = c.codePointAt(0)!;
    out += named[c] ?? ((code >= 0xa0 && code <= 0xff) || code > 0xffff ? `&#${code};` : c);
  }
  return out;
}
