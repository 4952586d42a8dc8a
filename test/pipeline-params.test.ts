import { describe, expect, test } from "bun:test";
import { KfpError } from "../lib/kfp/error.ts";
import type { ParameterSpec } from "../lib/kfp/types.ts";
import { convertParameters, parsePipelineParams, PipelineParamsError } from "../lib/kfp/params.ts";
import { thrown } from "./support/rejection.ts";

function parseError(text: string): PipelineParamsError {
  try {
    parsePipelineParams(text);
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineParamsError);
    expect(error).toBeInstanceOf(KfpError);
    expect((error as KfpError).kind).toBe("invalid");
    return error as PipelineParamsError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parsePipelineParams", () => {
  test("empty or blank text is no parameters", () => {
    expect(parsePipelineParams("")).toEqual([]);
    expect(parsePipelineParams("  \n\t ")).toEqual([]);
  });

  test("the 2021 form: objects separated by commas, without brackets", () => {
    expect(parsePipelineParams('{"name":"n1","value":"v1"}, {"name":"n2","value":"v2"}')).toEqual([
      { name: "n1", value: "v1" },
      { name: "n2", value: "v2" },
    ]);
    expect(parsePipelineParams('{"name":"n1","value":"v1"},\n{"name":"epochs","value":3}')).toEqual([
      { name: "n1", value: "v1" },
      { name: "epochs", value: 3 },
    ]);
  });

  test("the 2021 form with a single item", () => {
    expect(parsePipelineParams('{"name":"msg","value":"hello"}')).toEqual([{ name: "msg", value: "hello" }]);
  });

  test("a JSON array of name/value objects", () => {
    expect(parsePipelineParams('[{"name":"a","value":"1"},{"name":"b","value":[1,2]}]')).toEqual([
      { name: "a", value: "1" },
      { name: "b", value: [1, 2] },
    ]);
    expect(parsePipelineParams("[]")).toEqual([]);
  });

  test("a JSON object of name -> value keeps JSON types", () => {
    expect(parsePipelineParams('{"n1":"v1","epochs":3,"flag":true,"cfg":{"a":1}}')).toEqual([
      { name: "n1", value: "v1" },
      { name: "epochs", value: 3 },
      { name: "flag", value: true },
      { name: "cfg", value: { a: 1 } },
    ]);
  });

  test("name=value lines: blanks and comments ignored, '=' allowed in values, CRLF ok", () => {
    expect(parsePipelineParams("# training\nlr = 0.1\r\n\nquery=a=b&c=d\n  # note\nempty=")).toEqual([
      { name: "lr", value: "0.1" },
      { name: "query", value: "a=b&c=d" },
      { name: "empty", value: "" },
    ]);
  });

  test("a __proto__ key stays a plain parameter name", () => {
    const params = parsePipelineParams('{"__proto__":"x","a":"b"}');
    expect(params).toEqual([
      { name: "__proto__", value: "x" },
      { name: "a", value: "b" },
    ]);
  });

  test.each([
    [
      "a line without '=' names the form, the line and the accepted forms",
      "a=1\nthis is not a parameter\n",
      ["name=value lines", "line 2", "Accepted forms"],
    ],
    ["a line with no name before '=' is rejected", "=5", ["no name before '='"]],
    ["broken JSON object says line and column", '{"a": 1,\n "b" 2}', ["a JSON object", "line 2, column 6", "expected ':'"]],
    [
      "broken 2021 list says where, in the original text",
      '{"name":"a","value":"1"}, {"name":"b","value":}',
      ['list of {"name"', "line 1, column 47"],
    ],
    ["broken JSON array says where", '[{"name":"a","value":"1"},\n {"name":"b" "value":"2"}]', ["a JSON array", "line 2, column 14"]],
  ])("%s", (_case, text, says) => {
    const { message } = parseError(text);
    for (const part of says) expect(message).toContain(part);
  });

  test("array items must be name/value objects: the message gives the item number", () => {
    expect(parseError('[{"name":"a","value":"1"}, "x"]').message).toContain("item 2");
    expect(parseError('[{"value":"1"}]').message).toContain('no "name"');
    expect(parseError('[{"name":"a"}]').message).toContain('("a") has no "value"');
    expect(parseError('[{"name":"a","value":1,"type":"int"}]').message).toContain('"type"');
  });

  test("duplicate names are rejected in every form", () => {
    expect(parseError("a=1\na=2").message).toContain('"a" is given more than once');
    expect(parseError('[{"name":"a","value":"1"},{"name":"a","value":"2"}]').message).toContain('"a"');
    expect(parseError('{"name":"a","value":"1"}, {"name":"a","value":"2"}').message).toContain("more than once");
    // JSON.parse would silently keep the last value; we say where the second one is.
    expect(parseError('{"a":1,\n"a":2}').message).toContain('duplicate key "a"');
  });
});

const specs: ParameterSpec[] = [
  { name: "msg", type: "STRING", optional: false },
  { name: "epochs", type: "NUMBER_INTEGER", optional: true, defaultValue: 1 },
  { name: "lr", type: "NUMBER_DOUBLE", optional: true, defaultValue: 0.1 },
  { name: "flag", type: "BOOLEAN", optional: true, defaultValue: false },
  { name: "items", type: "LIST", optional: true },
  { name: "cfg", type: "STRUCT", optional: true },
];

function convertError(params: { name: string; value: unknown }[]): string {
  try {
    convertParameters(params, specs, "v2beta1");
  } catch (error) {
    expect(error).toBeInstanceOf(KfpError);
    expect((error as KfpError).kind).toBe("invalid");
    return (error as Error).message;
  }
  throw new Error("expected a conversion error");
}

/** The error for one parameter's value, with the required msg given. */
function valueError(name: string, value: unknown): string {
  return convertError([
    { name: "msg", value: "x" },
    { name, value },
  ]);
}

describe("convertParameters on v2beta1", () => {
  test("strings from name=value lines become the declared types", () => {
    const params = parsePipelineParams('msg=hi\nepochs=3\nlr=0.5\nflag=TRUE\nitems=["a", 2]\ncfg={"k": {"n": 1}}');
    expect(convertParameters(params, specs, "v2beta1")).toEqual({
      msg: "hi",
      epochs: 3,
      lr: 0.5,
      flag: true,
      items: ["a", 2],
      cfg: { k: { n: 1 } },
    });
  });

  test("JSON values are kept when they already fit, scalars become text for STRING", () => {
    const params = [
      { name: "msg", value: 42 },
      { name: "epochs", value: 3 },
      { name: "lr", value: 2 },
      { name: "flag", value: false },
      { name: "items", value: [1] },
      { name: "cfg", value: { a: true } },
    ];
    expect(convertParameters(params, specs, "v2beta1")).toEqual({ msg: "42", epochs: 3, lr: 2, flag: false, items: [1], cfg: { a: true } });
  });

  test("an integer parameter rejects 3.5 and words, naming the parameter", () => {
    expect(valueError("epochs", "3.5")).toContain('"epochs" is NUMBER_INTEGER but got "3.5"');
    expect(valueError("epochs", 3.5)).toContain('"epochs"');
    expect(valueError("epochs", "three")).toContain("whole number");
  });

  test("double, boolean, list and struct reject what does not fit", () => {
    expect(valueError("lr", "fast")).toContain('"lr" is NUMBER_DOUBLE');
    expect(valueError("lr", "")).toContain('"lr"');
    expect(valueError("flag", "yes")).toContain("true or false");
    expect(valueError("items", '{"a":1}')).toContain('"items" is LIST');
    expect(valueError("items", "[1,")).toContain("broken");
    expect(valueError("cfg", "[1]")).toContain('"cfg" is STRUCT');
    expect(convertError([{ name: "msg", value: null }])).toContain('"msg"');
  });

  test("unknown names are listed together with the declared ones", () => {
    const message = convertError([
      { name: "msg", value: "x" },
      { name: "epoch", value: "3" },
      { name: "zzz", value: "1" },
    ]);
    expect(message).toContain('no parameter "epoch", "zzz"');
    expect(message).toContain("msg (STRING)");
    expect(message).toContain("epochs (NUMBER_INTEGER, optional)");
  });

  test("a required parameter without default must be given", () => {
    expect(convertError([{ name: "epochs", value: 2 }])).toContain("required parameter msg (STRING)");
  });

  test("all problems are reported in one message", () => {
    const message = convertError([
      { name: "nope", value: 1 },
      { name: "epochs", value: "x" },
    ]);
    expect(message).toContain('"nope"');
    expect(message).toContain("required parameter msg");
    expect(message).toContain('"epochs"');
  });

  test("without declarations the values go as given", () => {
    expect(
      convertParameters(
        [
          { name: "a", value: "3" },
          { name: "b", value: 3 },
        ],
        undefined,
        "v2beta1",
      ),
    ).toEqual({ a: "3", b: 3 });
  });

  test("a pipeline with no parameters rejects any", () => {
    expect(() => convertParameters([{ name: "a", value: "1" }], [], "v2beta1")).toThrow("declares no parameters");
  });
});

describe("convertParameters on v1beta1", () => {
  test("every value becomes text; objects and lists are JSON-encoded", () => {
    const params = [
      { name: "a", value: "x" },
      { name: "b", value: 3 },
      { name: "c", value: true },
      { name: "d", value: [1, "2"] },
      { name: "e", value: { k: 1 } },
      { name: "f", value: null },
    ];
    expect(convertParameters(params, [{ name: "a", type: "STRING", optional: false }], "v1beta1")).toEqual({
      a: "x",
      b: "3",
      c: "true",
      d: '[1,"2"]',
      e: '{"k":1}',
      f: "",
    });
  });
});

describe("deeply nested JSON", () => {
  const deep = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;

  test("nesting past the limit is a parameter error with line and column, not a stack overflow", () => {
    for (const text of [`{"tags": ${deep(200_000)}}`, `[{"name": "tags", "value": ${deep(200_000)}}]`]) {
      expect(thrown(() => parsePipelineParams(text), PipelineParamsError).message).toMatch(
        /broken at line 1, column \d+: values nested more than 100 levels deep/,
      );
    }
  });

  test("a deep value typed as name=value text is refused when converted, naming the parameter", () => {
    const params = parsePipelineParams(`tags=${deep(200_000)}`);
    expect(() => convertParameters(params, [{ name: "tags", type: "LIST", optional: false }], "v2beta1")).toThrow(
      /parameter "tags" is LIST .*nested more than 100 levels deep/,
    );
  });

  test("nesting up to the limit is read as it is", () => {
    expect(parsePipelineParams(`{"tags": ${deep(99)}}`)[0]!.name).toBe("tags");
  });
});
