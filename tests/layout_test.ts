import assert from "node:assert/strict";
import { findCycles, folderGraph, importsInto, readModuleGraph } from "./support/module_graph.ts";
import { readSourceFacts, sourceFacts } from "./support/source_facts.ts";

const describe = (cycles: string[][]) => cycles.map((cycle) => cycle.join(" → ")).join("\n");

Deno.test("no module of the project imports itself back, directly or through others", async () => {
  const graph = await readModuleGraph(["main.ts", "lib/mod.ts"]);
  assert.ok(graph.size > 40, `the graph holds the project's modules (${graph.size})`);
  const cycles = findCycles(graph);
  assert.equal(cycles.length, 0, `import cycles:\n${describe(cycles)}`);
});

Deno.test("the folders of lib/ import each other in one direction only", async () => {
  const folders = folderGraph(await readModuleGraph(["main.ts", "lib/mod.ts"]));
  assert.ok(folders.has("lib/commands/"), "the commands import the other folders");
  const cycles = findCycles(folders);
  assert.equal(cycles.length, 0, `folder cycles:\n${describe(cycles)}`);
});

Deno.test("findCycles() names every file of each cycle, in import order", async (t) => {
  const graph = (edges: Record<string, string[]>) =>
    new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));
  await t.step("a chain has none", () => {
    assert.deepEqual(findCycles(graph({ a: ["b"], b: ["c"], c: [] })), []);
  });
  await t.step("a three-file cycle is named whole", () => {
    assert.deepEqual(
      findCycles(
        graph({
          "lib/cli.ts": ["lib/commands/exec.ts"],
          "lib/commands/exec.ts": ["lib/x.ts"],
          "lib/x.ts": ["lib/cli.ts"],
        }),
      ),
      [["lib/cli.ts", "lib/commands/exec.ts", "lib/x.ts", "lib/cli.ts"]],
    );
  });
  await t.step("a file that imports itself", () => {
    assert.deepEqual(findCycles(graph({ a: ["a"] })), [["a", "a"]]);
  });
  await t.step("two separate cycles are both reported", () => {
    assert.deepEqual(
      findCycles(graph({ a: ["b"], b: ["a"], c: ["d"], d: ["c"], e: ["a", "c"] })),
      [["a", "b", "a"], ["c", "d", "c"]],
    );
  });
  await t.step("folders: two files in different folders that meet only through the folders", () => {
    const files = graph({
      "lib/a/one.ts": ["lib/b/two.ts"],
      "lib/b/three.ts": ["lib/a/four.ts"],
      "lib/b/two.ts": [],
      "lib/a/four.ts": [],
    });
    assert.deepEqual(findCycles(files), []);
    assert.deepEqual(findCycles(folderGraph(files)), [["lib/a/", "lib/b/", "lib/a/"]]);
  });
});

Deno.test("setup/ and mcp/ import nothing from cli/, which holds the terminal's concerns", async () => {
  const graph = await readModuleGraph(["main.ts", "lib/mod.ts"]);
  assert.ok([...graph.keys()].some((file) => file.startsWith("lib/setup/")), "setup/ is read");
  assert.ok([...graph.keys()].some((file) => file.startsWith("lib/mcp/")), "mcp/ is read");
  const found = importsInto(graph, ["lib/setup/", "lib/mcp/"], "lib/cli/");
  assert.deepEqual(found, [], `imports from cli/:\n${found.join("\n")}`);
});

Deno.test("importsInto() names each import from the folders into another", () => {
  const graph = new Map(Object.entries({
    "lib/setup/doctor.ts": new Set(["lib/cli/config.ts", "lib/aws/broker.ts"]),
    "lib/mcp/tools/grant_access.ts": new Set(["lib/cli/options.ts"]),
    "lib/commands/exec.ts": new Set(["lib/cli/options.ts"]),
  }));
  assert.deepEqual(importsInto(graph, ["lib/setup/", "lib/mcp/"], "lib/cli/"), [
    "lib/mcp/tools/grant_access.ts → lib/cli/options.ts",
    "lib/setup/doctor.ts → lib/cli/config.ts",
  ]);
});

Deno.test("only grant/ assumes the broker role, and only aws/sts_connection.ts sends AssumeRole", async () => {
  const { calls } = await readSourceFacts(["lib"], {
    names: ["assumeBrokerRole", "AssumeRoleCommand"],
  });
  assert.ok(calls.some((call) => call.at.startsWith("lib/grant/")), "the engine is read");
  const outside = calls.filter((call) =>
    call.name === "assumeBrokerRole"
      ? !call.at.startsWith("lib/grant/")
      : !call.at.startsWith("lib/aws/sts_connection.ts:")
  );
  assert.deepEqual(outside, [], "AssumeRole outside the engine");
});

Deno.test("a role ARN is checked in at most two places", async () => {
  const { calls } = await readSourceFacts(["lib"], { names: ["checkRoleArn"] });
  const places = new Set(calls.map((call) => call.at));
  assert.ok(places.size >= 1 && places.size <= 2, [...places].join("\n"));
});

Deno.test("no function in lib/ is over 100 lines", async () => {
  const { functions } = await readSourceFacts(["lib"]);
  assert.ok(functions.length > 500, `the functions are read (${functions.length})`);
  const long = functions.filter((fn) => fn.lines > 100)
    .map((fn) => `${fn.at} ${fn.name}: ${fn.lines} lines`);
  assert.deepEqual(long, [], `functions over 100 lines:\n${long.join("\n")}`);
});

Deno.test("sourceFacts() measures functions and finds calls, never in comments or strings", () => {
  const text = [
    "// assumeBrokerRole(broker) in a comment",
    "export function grant() {",
    '  const text = "assumeBrokerRole(x)";',
    "  return aws.assumeBrokerRole(broker, { policy });",
    "}",
    "const renew = async () => {",
    "  await new AssumeRoleCommand({});",
    "};",
    "class Pool { close() { return 1; } }",
  ].join("\n");
  const facts = sourceFacts("lib/x.ts", text, {
    names: ["assumeBrokerRole", "AssumeRoleCommand"],
  });
  assert.deepEqual(facts.calls, [
    { at: "lib/x.ts:4", name: "assumeBrokerRole" },
    { at: "lib/x.ts:7", name: "AssumeRoleCommand" },
  ]);
  assert.deepEqual(facts.functions, [
    { at: "lib/x.ts:2", name: "grant", lines: 4 },
    { at: "lib/x.ts:6", name: "renew", lines: 3 },
    { at: "lib/x.ts:9", name: "close", lines: 1 },
  ]);
});
