/**
 * The project's own module graph, read from `deno info --json`, and the import cycles in it:
 * among files, and among the folders of `lib/` (a folder that imports another folder that
 * imports it back is a cycle too, even when no single file closes it).
 *
 * @module
 */

import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Each module (a path relative to the project root) and the project modules it imports. */
export type ModuleGraph = Map<string, Set<string>>;

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface InfoModule {
  specifier?: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/**
 * Runs `deno info --json` on the entry points and keeps the project's own TypeScript modules,
 * static and dynamic imports alike.
 */
export async function readModuleGraph(entries: readonly string[]): Promise<ModuleGraph> {
  const graph: ModuleGraph = new Map();
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    for (const module of info.modules) {
      const from = ownModule(module.specifier);
      if (from === undefined) continue;
      const targets = graph.get(from) ?? new Set<string>();
      graph.set(from, targets);
      for (const dependency of module.dependencies ?? []) {
        for (const edge of [dependency.code, dependency.type]) {
          const to = ownModule(edge?.specifier);
          if (to !== undefined) targets.add(to);
        }
      }
    }
  }
  return graph;
}

function ownModule(specifier: string | undefined): string | undefined {
  if (!specifier?.startsWith("file:") || !specifier.endsWith(".ts")) return undefined;
  return relative(ROOT, fileURLToPath(specifier)).replaceAll("\\", "/");
}

/** The graph of `lib/`'s folders: an edge where a file of one imports a file of another. */
export function folderGraph(graph: ModuleGraph): ModuleGraph {
  const folders: ModuleGraph = new Map();
  const folderOf = (path: string) => {
    const parts = path.split("/");
    return parts[0] === "lib" && parts.length > 2 ? `lib/${parts[1]}/` : undefined;
  };
  for (const [from, targets] of graph) {
    const a = folderOf(from);
    if (a === undefined) continue;
    for (const to of targets) {
      const b = folderOf(to);
      if (b === undefined || b === a) continue;
      const edges = folders.get(a) ?? new Set<string>();
      edges.add(b);
      folders.set(a, edges);
    }
  }
  return folders;
}

/**
 * Every cycle of the graph, one per strongly connected component of two or more nodes (or one
 * node that imports itself), each as the path that closes it: `a → b → a`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findCycles } from "./module_graph.ts";
 *
 * const graph = new Map([["a", new Set(["b"])], ["b", new Set(["a"])], ["c", new Set(["a"])]]);
 * assert.deepEqual(findCycles(graph), [["a", "b", "a"]]);
 * ```
 */
export function findCycles(graph: ModuleGraph): string[][] {
  // Tarjan's strongly connected components, then one closing path inside each.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = graph.get(node)?.has(node) ?? false;
      if (component.length > 1 || selfLoop) components.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => closingPath(graph, new Set(component)));
}

/** A shortest path from the component's first node (by name) back to itself. */
function closingPath(graph: ModuleGraph, component: Set<string>): string[] {
  const start = [...component].sort()[0];
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of [...(graph.get(node) ?? [])].sort()) {
      if (!component.has(target)) continue;
      if (target === start) {
        const between: string[] = [];
        for (let at = node; at !== start; at = previous.get(at)!) between.unshift(at);
        return [start, ...between, start];
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

/**
 * The imports of files under any of the folders `from` into files under `into` (paths relative to
 * the project root, each ending in `/`), as `importer → imported` lines, sorted.
 */
export function importsInto(graph: ModuleGraph, from: readonly string[], into: string): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    if (!from.some((folder) => file.startsWith(folder))) continue;
    for (const target of targets) {
      if (target.startsWith(into)) found.push(`${file} → ${target}`);
    }
  }
  return found.sort();
}
