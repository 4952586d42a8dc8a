/**
 * A strict JSON parser for text people type (pipeline parameters), which says
 * where the text broke as line and column, rejects duplicate keys, and refuses
 * nesting deeper than MAX_JSON_DEPTH (a recursive reader would otherwise run
 * out of stack on a few thousand brackets).
 * `JSON.parse` reports positions differently in Node and Bun (and sometimes
 * not at all), and silently keeps the last of two equal keys.
 */

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; problem: string; offset: number; line: number; column: number };

class JsonSyntaxError extends Error {
  constructor(
    readonly problem: string,
    readonly offset: number,
  ) {
    super(problem);
  }
}

export function parseJsonText(text: string): JsonParseResult {
  try {
    const parser = new Parser(text);
    const value = parser.document();
    return { ok: true, value };
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return { ok: false, problem: error.problem, offset: error.offset, ...lineAndColumn(text, error.offset) };
  }
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Deeper than any pipeline parameter needs, and far from where the stack runs out. */
const MAX_JSON_DEPTH = 100;

const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  document(): unknown {
    this.skipSpace();
    const value = this.value();
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`unexpected ${this.describe()} after the end of the JSON value`);
    return value;
  }

  private value(): unknown {
    const c = this.text[this.pos];
    if (c === "{" || c === "[") return this.nested(c);
    if (c === '"') return this.string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    for (const [word, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    this.fail(`expected a value but found ${this.describe()}`);
  }

  private nested(open: "{" | "["): unknown {
    if (++this.depth > MAX_JSON_DEPTH) this.fail(`values nested more than ${MAX_JSON_DEPTH} levels deep; flatten the value`);
    const value = open === "{" ? this.object() : this.array();
    this.depth--;
    return value;
  }

  private object(): Record<string, unknown> {
    this.pos++; // {
    const entries: [string, unknown][] = [];
    const seen = new Set<string>();
    this.skipSpace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return {};
    }
    do {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail(`expected a property name in double quotes but found ${this.describe()}`);
      const keyOffset = this.pos;
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key "${key}"`, keyOffset);
      seen.add(key);
      this.skipSpace();
      if (this.text[this.pos] !== ":") this.fail(`expected ':' after "${key}" but found ${this.describe()}`);
      this.pos++;
      this.skipSpace();
      entries.push([key, this.value()]);
    } while (this.another("}"));
    // fromEntries defines own properties, so a "__proto__" key stays a plain key.
    return Object.fromEntries(entries);
  }

  private array(): unknown[] {
    this.pos++; // [
    const items: unknown[] = [];
    this.skipSpace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return items;
    }
    do {
      this.skipSpace();
      items.push(this.value());
    } while (this.another("]"));
    return items;
  }

  /** After an item: past a ',' another item follows (true); past `close` the object or array ends (false). */
  private another(close: "}" | "]"): boolean {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c !== "," && c !== close) this.fail(`expected ',' or '${close}' but found ${this.describe()}`);
    this.pos++;
    return c === ",";
  }

  private string(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = "";
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail("unterminated string", start);
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === "\\") {
        const e = this.text[this.pos + 1];
        if (e === "u") {
          const hex = this.text.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad \\u escape in string");
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 6;
          continue;
        }
        const decoded = e === undefined ? undefined : ESCAPES[e];
        if (decoded === undefined) this.fail(`bad escape \\${e ?? ""} in string`);
        out += decoded;
        this.pos += 2;
        continue;
      }
      if (c < " ") this.fail(c === "\n" ? "line break inside a string (write \\n)" : "control character inside a string");
      out += c;
      this.pos++;
    }
  }

  private number(): number {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos));
    if (!match) this.fail(`bad number starting with ${this.describe()}`);
    this.pos += match[0].length;
    return Number(match[0]);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && " \t\n\r".includes(this.text[this.pos]!)) this.pos++;
  }

  private describe(): string {
    const c = this.text[this.pos];
    if (c === undefined) return "the end of the text";
    const word = /^[A-Za-z_][\w-]*/.exec(this.text.slice(this.pos));
    return word ? `'${word[0].slice(0, 20)}'` : `'${c}'`;
  }

  private fail(problem: string, offset = this.pos): never {
    throw new JsonSyntaxError(problem, offset);
  }
}
