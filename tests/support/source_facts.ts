/**
 * Facts about the project's source read from its syntax tree (Deno's own parser, through
 * `Deno.lint.runPlugin`), not from its text: how long each function is, and where a function is
 * called or a class constructed, so that comments and strings never count.
 *
 * @module
 */

import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A function and its length in lines, from its first line to its last. */
export interface FunctionLength {
  /** `path:line`, relative to the project root. */
  at: string;
  /** The function's name, or how it is bound (`const name = () => …`, a method's key). */
  name: string;
  /** Lines from the first to the last, both included. */
  lines: number;
}

/** A call of a named function (`name(…)`, `x.name(…)`) or a `new Name(…)`. */
export interface CallSite {
  /** `path:line`, relative to the project root. */
  at: string;
  /** The name called or constructed. */
  name: string;
}

/** What {@linkcode readSourceFacts} finds in a set of files. */
export interface SourceFacts {
  /** Every function, method and arrow function. */
  functions: FunctionLength[];
  /** Every call and construction of a name in `names`. */
  calls: CallSite[];
}

type Node = Deno.lint.Node;

/** Reads the facts of one source text (`path` names it in the results). */
export function sourceFacts(
  path: string,
  text: string,
  options: { names?: readonly string[] } = {},
): SourceFacts {
  const names = new Set(options.names ?? []);
  const facts: SourceFacts = { functions: [], calls: [] };
  const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
  const fn = (node: Node & { range: [number, number]; parent?: Node }) => {
    const first = lineOf(node.range[0]);
    facts.functions.push({
      at: `${path}:${first}`,
      name: functionName(node),
      lines: lineOf(node.range[1]) - first + 1,
    });
  };
  const call = (node: { callee: Node; range: [number, number] }) => {
    const name = calleeName(node.callee);
    if (name !== undefined && names.has(name)) {
      facts.calls.push({ at: `${path}:${lineOf(node.range[0])}`, name });
    }
  };
  const plugin: Deno.lint.Plugin = {
    name: "source-facts",
    rules: {
      facts: {
        create: () => ({
          FunctionDeclaration: fn,
          FunctionExpression: fn,
          ArrowFunctionExpression: fn,
          CallExpression: call,
          NewExpression: call,
        }),
      },
    },
  };
  Deno.lint.runPlugin(plugin, path, text);
  return facts;
}

/** Reads the facts of every `.ts` file under `dirs` (relative to the project root). */
export async function readSourceFacts(
  dirs: readonly string[],
  options: { names?: readonly string[] } = {},
): Promise<SourceFacts> {
  const all: SourceFacts = { functions: [], calls: [] };
  for (const dir of dirs) {
    for await (const path of walk(`${ROOT}${dir}`)) {
      const name = relative(ROOT, path).replaceAll("\\", "/");
      const facts = sourceFacts(name, await Deno.readTextFile(path), options);
      all.functions.push(...facts.functions);
      all.calls.push(...facts.calls);
    }
  }
  return all;
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await Array.fromAsync(Deno.readDir(dir));
  for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

function calleeName(callee: Node): string | undefined {
  if (callee.type === "Identifier") return callee.name;
  if (callee.type === "MemberExpression" && callee.property.type === "Identifier") {
    return callee.property.name;
  }
  return undefined;
}

function functionName(node: Node & { parent?: Node }): string {
  if (node.type === "FunctionDeclaration" || node.type === "FunctionExpression") {
    if (node.id) return node.id.name;
  }
  const parent = node.parent;
  if (parent?.type === "VariableDeclarator" && parent.id.type === "Identifier") {
    return parent.id.name;
  }
  if (
    (parent?.type === "MethodDefinition" || parent?.type === "Property") &&
    parent.key.type === "Identifier"
  ) {
    return parent.key.name;
  }
  return "(anonymous)";
}
