/**
 * `timebound-iam setup aws`: from nothing to a working broker role in one run. Choose the
 * services, the longest session and the MCP client (on a terminal, or with flags); get the
 * trust and permission policies, the `aws iam` commands, the client snippet and the agent rules;
 * with `--apply`, create or update the role through IAM and write the config file.
 *
 * @module
 */

import type { IAMClient } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import { Command, Option } from "@commander-js/extra-typings";
import { type BrokerContext, connectBroker, DEFAULT_ROLE_NAME } from "../broker.ts";
import {
  type BrokerRolePlan,
  buildPermissionPolicy,
  buildTrustPolicy,
  MCP_CLIENTS,
  type McpClient,
  PERMISSION_POLICY_NAME,
  renderAgentRules,
  renderAwsCommands,
  renderClientSnippet,
  roleArnFor,
  TRUST_MODES,
  type TrustMode,
} from "../broker_role.ts";
import { type Cli, profileOption, regionOption } from "../cli.ts";
import { type Catalog, loadCatalog, resolveScopes } from "../catalog.ts";
import {
  configProfileName,
  loadConfig,
  resolveBrokerSettings,
  saveConfig,
  withBrokerRole,
} from "../config.ts";
import { RuntimeError, UsageError } from "../errors.ts";
import {
  applyRoleChanges,
  createIamClient,
  describeRoleChange,
  planRoleChanges,
  readBrokerRole,
} from "../iam_role.ts";
import { type SetupPrompts, terminalPrompts } from "../setup_prompts.ts";
import { formatTtl, parseTtl } from "../ttl.ts";

/** The seams of `setup aws`: the questions and the AWS clients. Tests hand in their own. */
export interface SetupDeps {
  /** The questions asked on a terminal. */
  prompts: SetupPrompts;
  /** Creates the STS client for the caller's identity. */
  createStsClient?: (config: { region: string; profile?: string }) => Promise<STSClient>;
  /** Creates the IAM client for `--apply`. */
  createIamClient: (config: { region: string; profile?: string }) => Promise<IAMClient>;
  /** The command an MCP client runs to start the server. */
  serverCommand: string;
}

/** The flags of `setup aws`. */
export interface SetupFlags {
  /** `--profile`. */
  profile?: string;
  /** `--region`. */
  region?: string;
  /** `--services`, each possibly comma-separated. */
  services?: string[];
  /** `--role-name`. */
  roleName: string;
  /** `--max-session`. */
  maxSession?: string;
  /** `--trust`. */
  trust: TrustMode;
  /** `--client`. */
  client?: McpClient;
  /** `--apply`. */
  apply?: boolean;
  /** `--yes`. */
  yes?: boolean;
}

const MAX_SESSION_MIN = 3600;
const MAX_SESSION_MAX = 43200;

/** Builds the `setup` command with its `aws` subcommand. */
export function setupCommand(
  cli: Cli,
  deps: Partial<SetupDeps> = {},
): Command<unknown[], Record<string, unknown>> {
  const aws = new Command("aws")
    .description("create the broker role right the first time: policies, commands, snippets")
    .addOption(profileOption())
    .addOption(regionOption())
    .addOption(
      new Option("--services <list>", "services the broker may use, e.g. s3,dynamodb (repeatable)")
        .argParser((value: string, previous: string[] | undefined) => [...previous ?? [], value]),
    )
    .addOption(
      new Option("--role-name <name>", "the broker role's name").default(DEFAULT_ROLE_NAME),
    )
    .addOption(
      new Option(
        "--max-session <duration>",
        "the role's MaxSessionDuration, 1h to 12h (default 1h)",
      ),
    )
    .addOption(
      new Option("--trust <who>", "who may assume the role: the calling principal, or the account")
        .choices(TRUST_MODES).default("caller" as TrustMode),
    )
    .addOption(
      new Option("--client <name>", "the MCP client to write a snippet for").choices(MCP_CLIENTS),
    )
    .option("--apply", "create or update the role through IAM, then write the config file")
    .option("--yes", "do not ask before --apply changes anything")
    .option("--debug", "show AWS request ids and stack traces")
    .addHelpText(
      "after",
      `
Without flags on a terminal, it asks for the services, the longest session and the MCP client.
Without --apply it changes nothing: it prints what to create. With --apply it needs
iam:GetRole, iam:CreateRole, iam:UpdateRole, iam:UpdateAssumeRolePolicy, iam:GetRolePolicy and
iam:PutRolePolicy, changes only what differs, and records the role in the config file.

Examples:
  timebound-iam setup aws
  timebound-iam setup aws --services s3,dynamodb,logs --max-session 4h --client kiro
  timebound-iam setup aws --services s3 --max-session 4h --apply --yes`,
    )
    .action(async (options) => {
      await setupAws(cli, options as SetupFlags, {
        prompts: deps.prompts ?? terminalPrompts(),
        createStsClient: deps.createStsClient,
        createIamClient: deps.createIamClient ?? createIamClient,
        serverCommand: deps.serverCommand ?? serverCommand(),
      });
    });
  const setup = new Command("setup")
    .description("set up timebound-iam with a cloud (aws)")
    // Subcommands added here miss the settings the root copies onto `setup` later.
    .hook("preSubcommand", (command, sub) => {
      sub.copyInheritedSettings(command);
    });
  setup.addCommand(aws);
  return setup;
}

/**
 * The story of `setup aws`: gather the choices, find the caller, print the documents, and with
 * `--apply` bring the role in line and record it in the config file.
 */
export async function setupAws(cli: Cli, flags: SetupFlags, deps: SetupDeps): Promise<void> {
  const interactive = cli.io.stdinIsTerminal;
  // The wizard asks what the flags leave open; with --services, the flags alone decide.
  const wizard = interactive && !flags.services?.length;
  const config = await loadConfig(cli.io.env);
  const catalog = await loadCatalog();
  const services = flags.services?.length
    ? parseServices(flags.services, catalog)
    : wizard
    ? parseServices(await deps.prompts.services(catalog), catalog)
    : missing("No services given: pass --services s3,dynamodb (or run on a terminal to choose)");
  const maxSessionText = flags.maxSession ?? (wizard ? await deps.prompts.maxSession() : "1h");
  const maxSessionSeconds = parseMaxSession(maxSessionText);
  const client = flags.client ?? (wizard ? await deps.prompts.client() : undefined);
  checkRoleName(flags.roleName);

  const { region } = await resolveBrokerSettings(flags, cli.io.env);
  const broker = await connectBroker({
    profile: flags.profile,
    region,
    env: cli.io.env,
    createClient: deps.createStsClient,
  });
  broker.client.destroy();
  const plan: BrokerRolePlan = {
    roleName: flags.roleName,
    roleArn: roleArnFor(broker.callerArn, flags.roleName),
    trust: buildTrustPolicy(broker.callerArn, { mode: flags.trust }),
    permissions: buildPermissionPolicy(services),
    maxSessionSeconds,
  };
  cli.io.stdout(renderDocuments(plan, broker, {
    client,
    profile: flags.profile,
    serverCommand: deps.serverCommand,
  }));

  let apply = flags.apply ?? false;
  let confirmed = flags.yes ?? false;
  if (!apply && wizard) {
    apply = await deps.prompts.confirm(
      `Create or update the role ${plan.roleName} in account ${broker.account} now?`,
    );
    confirmed = apply;
  }
  if (!apply) {
    cli.io.stderr(
      "Nothing was changed in AWS. Create the role with the commands above, or run again with " +
        "--apply.\n",
    );
    return;
  }
  const iam = await deps.createIamClient({ region: broker.region, profile: flags.profile });
  try {
    const caller = { callerArn: broker.callerArn, profile: flags.profile };
    const current = await readBrokerRole(iam, plan.roleName, caller);
    const changes = planRoleChanges(current, plan);
    if (changes.length === 0) {
      cli.io.stderr(`Role ${current.arn ?? plan.roleArn} is up to date: nothing to change.\n`);
    } else {
      cli.io.stderr(`Changes to make in account ${broker.account}:\n`);
      for (const change of changes) cli.io.stderr(`  - ${describeRoleChange(change, plan)}\n`);
      if (!confirmed) {
        if (!interactive) {
          throw new UsageError(
            "Cannot ask before changing the role: standard input is not a terminal",
            {
              hint: "pass --yes to apply without asking",
            },
          );
        }
        if (!await deps.prompts.confirm("Apply these changes?")) {
          throw new RuntimeError("Declined: nothing was changed");
        }
      }
      await applyRoleChanges(iam, plan, changes, caller);
      cli.io.stderr(`✓ Role ${current.arn ?? plan.roleArn} is set up.\n`);
    }
    await recordRole(cli, config.config, {
      path: config.path,
      profile: configProfileName(flags.profile, cli.io.env),
      roleArn: current.arn ?? plan.roleArn,
      region: flags.region,
    });
  } finally {
    iam.destroy();
  }
}

function renderDocuments(
  plan: BrokerRolePlan,
  broker: BrokerContext,
  options: { client?: McpClient; profile?: string; serverCommand: string },
): string {
  const prefixes = plan.permissions.Statement[0].Action.map((a) => a.replace(/:\*$/, ""));
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  const out: string[] = [
    `Broker role ${plan.roleName} in account ${broker.account}`,
    `Caller: ${broker.callerArn}`,
    "",
    "1. Trust policy (who may assume the role):",
    "",
    json(plan.trust.document),
    ...plan.trust.notes.map((note) => `note: ${note}`),
    "",
    `2. Permission policy ${PERMISSION_POLICY_NAME} (the most any grant can have):`,
    "",
    json(plan.permissions),
    "",
    `3. Create or update the role with the AWS CLI (MaxSessionDuration ${
      formatTtl(plan.maxSessionSeconds)
    } = ${plan.maxSessionSeconds} seconds):`,
    "",
    renderAwsCommands(plan, { profile: options.profile }).trimEnd(),
    "",
  ];
  const server = { command: options.serverCommand, profile: options.profile };
  const clients = options.client ? [options.client] : [];
  if (clients.length === 0) {
    out.push(
      "4. MCP client: add this server to its mcpServers (--client claude|kiro|cursor|vscode " +
        "gives the exact file):",
      "",
      renderClientSnippet("claude", server).text.trimEnd(),
      "",
    );
  }
  for (const client of clients) {
    const snippet = renderClientSnippet(client, server);
    out.push(`4. MCP client ${snippet.title}, in ${snippet.file}:`, "", snippet.text.trimEnd(), "");
    if (snippet.command) out.push(`or run: ${snippet.command}`, "");
  }
  out.push(
    "5. Agent rules, for AGENTS.md (or your agent's rules or steering file):",
    "",
    renderAgentRules(prefixes).trimEnd(),
    "",
  );
  return `${out.join("\n")}\n`;
}

async function recordRole(
  cli: Cli,
  config: Parameters<typeof withBrokerRole>[0],
  entry: { path: string; profile: string; roleArn: string; region?: string },
): Promise<void> {
  const updated = withBrokerRole(config, entry.profile, entry);
  if (JSON.stringify(updated) === JSON.stringify(config)) {
    cli.io.stderr(`Config file ${entry.path} already names this role.\n`);
    return;
  }
  await saveConfig(entry.path, updated);
  cli.io.stderr(
    `Wrote ${entry.path}: profile "${entry.profile}" uses ${entry.roleArn}.\n`,
  );
}

function parseServices(values: readonly string[], catalog: Catalog): string[] {
  const names = values.flatMap((value) => value.split(",")).map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) missing("No services given: pass --services s3,dynamodb");
  const scopes = resolveScopes(
    names.map((service) => ({ service, level: "full" as const })),
    catalog,
  );
  return scopes.map((scope) => scope.service);
}

function parseMaxSession(text: string): number {
  const seconds = parseTtl(text, {
    min: 1,
    max: MAX_SESSION_MAX,
    maxReason: "IAM's limit for a role's MaxSessionDuration",
  });
  if (seconds < MAX_SESSION_MIN) {
    throw new UsageError(
      `Invalid --max-session "${text}": a role's MaxSessionDuration is 1h to 12h`,
    );
  }
  return seconds;
}

function checkRoleName(name: string): void {
  if (!/^[\w+=,.@-]{1,64}$/.test(name)) {
    throw new UsageError(
      `Invalid role name "${name}": use 1 to 64 letters, digits and + = , . @ _ -`,
    );
  }
}

function missing(message: string): never {
  throw new UsageError(message);
}

function serverCommand(): string {
  // A compiled binary names itself; under `deno run`, the installed name is the best guess.
  const path = Deno.execPath();
  return /(^|[\\/])timebound-iam[^\\/]*$/.test(path) ? path : "timebound-iam";
}
