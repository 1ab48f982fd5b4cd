/**
 * The questions `setup aws` asks on a terminal, behind one interface so that tests hand in
 * their own answers. The terminal version uses `@inquirer/prompts` and writes to standard error,
 * so standard output keeps only the documents.
 *
 * @module
 */

import type { McpClient } from "./broker_role.ts";
import { MCP_CLIENTS } from "./broker_role.ts";
import { type Catalog, findServices, type ServiceListing } from "../request/catalog.ts";
import { RuntimeError } from "../core/errors.ts";
import { pauseWaitingLines } from "../core/waiting_line.ts";

/** What `setup aws` asks when a flag does not answer it. */
export interface SetupPrompts {
  /**
   * Which services the broker may use: IAM prefixes, at least one; `current` (an existing role's)
   * are chosen at first.
   */
  services(catalog: Catalog, current?: readonly string[]): Promise<string[]>;
  /**
   * Optionally narrower scopes for the chosen services (`s3:ro@my-bucket,dynamodb:full@Orders`),
   * `current` offered; empty for full access to each service.
   */
  scopes?(services: readonly string[], current?: string): Promise<string>;
  /** The longest session to allow, as a duration (`4h`); `current` chosen at first. */
  maxSession(current?: string): Promise<string>;
  /** The MCP client to write a snippet for, or `undefined` for none. */
  client(): Promise<McpClient | undefined>;
  /** A yes/no question; false by default. */
  confirm(message: string): Promise<boolean>;
}

/** The session lengths offered, with what each means. */
export const MAX_SESSION_CHOICES: ReadonlyArray<{ value: string; name: string }> = [
  { value: "1h", name: "1h  (AWS's default)" },
  { value: "2h", name: "2h" },
  { value: "4h", name: "4h  (a working session)" },
  { value: "8h", name: "8h  (a working day)" },
  { value: "12h", name: "12h (AWS's maximum)" },
];

const CLIENT_TITLES: Record<McpClient, string> = {
  claude: "Claude Code / Claude Desktop",
  kiro: "Kiro",
  cursor: "Cursor",
  vscode: "VS Code",
};

const DONE = "\u0000done";

/**
 * The questions on the terminal. Services are a searchable multi-select: type to filter the
 * catalog, Enter toggles the highlighted service, and the first entry ends the choice.
 */
export function terminalPrompts(): SetupPrompts {
  const load = () => Promise.all([import("@inquirer/prompts"), import("node:process")]);
  return {
    services: (catalog, current) =>
      ask(async () => {
        const [{ search }, process] = await load();
        const chosen = new Set<string>(current ?? []);
        const width = Math.max(...catalog.services.map((s) => s.prefix.length));
        for (;;) {
          const answer = await search<string>({
            message: `Services the broker may use (${chosen.size} chosen; type to filter, ` +
              "Enter toggles)",
            pageSize: 12,
            source: (term) => {
              const done = {
                value: DONE,
                name: chosen.size
                  ? `✔ done: ${[...chosen].join(", ")}`
                  : "✔ done (choose at least one service first)",
              };
              const matches = rankServices(catalog, term).map((s) => ({
                value: s.prefix,
                name: `${chosen.has(s.prefix) ? "◉" : "◯"} ${s.prefix.padEnd(width)}  ${s.name}`,
              }));
              return term ? [...matches, done] : [done, ...matches];
            },
          }, { output: process.stderr });
          if (answer === DONE) {
            if (chosen.size) return [...chosen];
          } else if (chosen.has(answer)) chosen.delete(answer);
          else chosen.add(answer);
        }
      }),
    scopes: (services, current) =>
      ask(async () => {
        const [{ input }, process] = await load();
        return await input({
          message: `Narrow them with scopes, e.g. ${services[0]}:ro@NAME (Enter: full access ` +
            "to each service)",
          default: current,
        }, { output: process.stderr });
      }),
    maxSession: (current) =>
      ask(async () => {
        const [{ select }, process] = await load();
        const known = MAX_SESSION_CHOICES.some((choice) => choice.value === current);
        return await select({
          message: "Longest session the role allows (MaxSessionDuration)",
          choices: current && !known
            ? [...MAX_SESSION_CHOICES, { value: current, name: `${current} (the role's now)` }]
            : MAX_SESSION_CHOICES,
          default: current ?? "1h",
        }, { output: process.stderr });
      }),
    client: () =>
      ask(async () => {
        const [{ select }, process] = await load();
        const answer = await select<McpClient | "none">({
          message: "MCP client to configure",
          choices: [
            ...MCP_CLIENTS.map((value) => ({ value, name: CLIENT_TITLES[value] })),
            { value: "none" as const, name: "none" },
          ],
        }, { output: process.stderr });
        return answer === "none" ? undefined : answer;
      }),
    confirm: (message) =>
      ask(async () => {
        const [{ confirm }, process] = await load();
        return await confirm({ message, default: false }, { output: process.stderr });
      }),
  };
}

/**
 * The services that match what the user typed, best first: the prefix or an alias itself, then
 * prefixes and aliases that start with it, then names that contain it (`s3` puts `s3` before
 * `glacier`, "Amazon S3 Glacier").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCatalog } from "../request/catalog.ts";
 * import { rankServices } from "./wizard.ts";
 * const catalog = createCatalog([
 *   { prefix: "glacier", name: "Amazon S3 Glacier" },
 *   { prefix: "s3", name: "Amazon S3" },
 * ], () => Promise.resolve([]));
 * assert.equal(rankServices(catalog, "s3")[0].prefix, "s3");
 * ```
 */
export function rankServices(catalog: Catalog, term: string | undefined): ServiceListing[] {
  const needle = term?.trim().toLowerCase() ?? "";
  const rank = (s: ServiceListing) => {
    const names = [s.prefix, ...s.aliases];
    if (names.includes(needle)) return 0;
    if (names.some((name) => name.startsWith(needle))) return 1;
    return 2;
  };
  return findServices(catalog, needle)
    .map((service, index) => ({ service, index, rank: rank(service) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ service }) => service);
}

async function ask<T>(question: () => Promise<T>): Promise<T> {
  try {
    return await pauseWaitingLines(question);
  } catch (error) {
    if ((error as Error).name === "ExitPromptError") {
      throw new RuntimeError("Cancelled: nothing was changed");
    }
    throw error;
  }
}
