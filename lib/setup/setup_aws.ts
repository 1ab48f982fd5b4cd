/**
 * The story of `timebound-iam setup aws`, without the command line: gather the choices (flags or
 * the wizard), find the caller, render the trust and permission policies, the `aws iam`
 * commands, the MCP client snippet and the agent rules; with `--apply`, bring the role in line
 * through IAM and record it in the config file.
 *
 * @module
 */

import { type WaitingLine, waitingLine } from "../core/waiting_line.ts";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import { renderProcessProfile } from "../delivery/credential_process.ts";
import { type BrokerContext, connectBroker } from "../aws/broker.ts";
import { MFA_SESSION_MAX_SECONDS } from "../aws/mfa_session.ts";
import {
  type BrokerRolePlan,
  buildTrustPolicy,
  type McpClient,
  PERMISSION_POLICY_NAME,
  renderAgentRules,
  renderAwsCommands,
  renderClientSnippet,
  roleArnFor,
  type TrustMode,
} from "./broker_role.ts";
import type { Io } from "../core/io.ts";
import { offerKeysImport } from "./offer_import.ts";
import { type Catalog, loadCatalog, resolveScopes } from "../request/catalog.ts";
import type { ArnTarget } from "../request/resource.ts";
import { formatScopes, parseScopes, type Scope } from "../request/scope.ts";
import {
  buildRolePolicy,
  readOnlyScopes,
  roleDescription,
  roleScopes,
  wholeServices,
} from "./role_scopes.ts";
import {
  configProfileName,
  loadConfig,
  type LoadedConfig,
  saveConfig,
  withBrokerRole,
  withoutIdentityRefusals,
} from "../grant/config_file.ts";
import { resolveGrantSettings } from "../grant/settings.ts";
import { DeclinedError, UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import {
  applyRoleChanges,
  describeRoleChange,
  planRoleChanges,
  readBrokerRole,
} from "./iam_role.ts";
import type { SetupPrompts } from "./wizard.ts";
import { formatTtl, parseTtl } from "../request/ttl.ts";

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
  /** `--scopes`, each possibly comma-separated: levels and resources, as a grant's. */
  scopes?: string[];
  /** `--role-name`. */
  roleName: string;
  /** `--max-session`. */
  maxSession?: string;
  /** `--trust`. */
  trust: TrustMode;
  /** `--client`. */
  client?: McpClient;
  /** `--require-mfa`: the trust policy requires MFA. */
  requireMfa?: boolean;
  /** `--mfa-max-age`: and at most this long since the code was typed. */
  mfaMaxAge?: string;
  /** `--apply`. */
  apply?: boolean;
  /** `--yes`. */
  yes?: boolean;
}

const MAX_SESSION_MIN = 3600;
const MAX_SESSION_MAX = 43200;

/**
 * The story of `setup aws`: gather the choices, find the caller, print the documents, and with
 * `--apply` bring the role in line and record it in the config file.
 */
export async function setupAws(io: Io, flags: SetupFlags, deps: SetupDeps): Promise<void> {
  const { region } = await setUpBrokerRole(io, flags, deps);
  await offerKeysImport(io, {
    profile: flags.profile,
    region,
    confirm: io.stdinIsTerminal ? deps.prompts.confirm : undefined,
  });
}

/** Gathers the choices, prints the documents, and with `--apply` brings the role in line. */
async function setUpBrokerRole(
  io: Io,
  flags: SetupFlags,
  deps: SetupDeps,
): Promise<{ region: string }> {
  // The wizard asks what the flags leave open; with --services, the flags alone decide. With
  // --apply the command is a fix to make (`doctor` and notes suggest it): no wizard, and what the
  // flags leave out stays as the role has it.
  const chosen = !!(flags.services?.length || flags.scopes?.length);
  const wizard = io.stdinIsTerminal && !chosen && !flags.apply;
  const config = await loadConfig(io.env, { whole: true });
  checkRoleName(flags.roleName);
  // Checked before anything is asked or read.
  const catalog = await loadCatalog();
  flagScopes(flags, catalog);
  if (flags.maxSession !== undefined) parseMaxSession(flags.maxSession);

  const mfaMaxAgeSeconds = flags.mfaMaxAge === undefined ? undefined : parseTtl(flags.mfaMaxAge, {
    min: 60,
    max: MFA_SESSION_MAX_SECONDS,
    maxReason: "the longest MFA session",
  });
  const { region } = await resolveGrantSettings(flags, io.env, config);
  // On a terminal, a wait for AWS of more than a second says so (never during a question).
  const waiting = waitingLine(io);
  const broker = await waiting.run("AWS STS", () =>
    connectBroker({
      profile: flags.profile,
      region,
      env: io.env,
      createClient: deps.createStsClient,
    })).catch((error) => {
      // Without services there is nothing to set up: say that first.
      if (!wizard && !chosen) missingServices();
      throw error;
    });
  broker.client.destroy();
  // Bare resource names become ARNs of the caller's account, in any region.
  const target: ArnTarget = {
    account: broker.account,
    region: "*",
    partition: broker.callerArn.split(":")[1] || "aws",
  };
  // Without the wizard, what the flags leave out stays as the role has it (a fix that `doctor`
  // or a note suggests must not shrink the role's services or its MaxSessionDuration); the
  // wizard starts from what the role has.
  const kept = wizard || !chosen || flags.maxSession === undefined
    ? await waiting.run(
      "AWS IAM",
      () => existingChoices(io, { flags, deps, broker, catalog, target, quiet: wizard }),
    )
    : undefined;
  const answers = await roleAnswers(flags, { deps, wizard, kept, catalog });
  const plan: BrokerRolePlan = {
    roleName: flags.roleName,
    roleArn: roleArnFor(broker.callerArn, flags.roleName),
    trust: buildTrustPolicy(broker.callerArn, {
      mode: flags.trust,
      requireMfa: flags.requireMfa,
      mfaMaxAgeSeconds: mfaMaxAgeSeconds,
    }),
    permissions: await buildRolePolicy(answers.scopes, catalog, target),
    scopes: answers.scopes,
    description: roleDescription(answers.scopes),
    maxSessionSeconds: answers.maxSessionSeconds,
  };
  io.stdout(renderDocuments(plan, broker, {
    client: answers.client,
    profile: flags.profile,
    // The profile block always names the base credentials' profile: without it, the process
    // would look for them in the profile it defines (AWS_PROFILE=timebound-ro …).
    baseProfile: configProfileName(flags.profile, io.env),
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
    io.stderr(
      "Nothing was changed in AWS. Create the role with the commands above, or run again with " +
        "--apply.\n",
    );
    return { region: broker.region };
  }
  await applyPlan(io, plan, { flags, deps, broker, config, confirmed, waiting });
  return { region: broker.region };
}

/** The scopes, the longest session and the MCP client: from the flags, else the wizard. */
async function roleAnswers(
  flags: SetupFlags,
  options: { deps: SetupDeps; wizard: boolean; kept?: Partial<RoleChoices>; catalog: Catalog },
): Promise<RoleChoices & { client?: McpClient }> {
  const { deps, wizard, kept = {}, catalog } = options;
  const scopes = flagScopes(flags, catalog) ??
    (wizard ? await askScopes(deps.prompts, catalog, kept.scopes) : undefined) ??
    kept.scopes ?? missingServices();
  const current = kept.maxSessionSeconds === undefined
    ? undefined
    : formatTtl(kept.maxSessionSeconds);
  const maxSessionSeconds = flags.maxSession !== undefined
    ? parseMaxSession(flags.maxSession)
    : wizard
    ? parseMaxSession(await deps.prompts.maxSession(current))
    : kept.maxSessionSeconds ?? MAX_SESSION_MIN;
  const client = flags.client ?? (wizard ? await deps.prompts.client() : undefined);
  const byService = (a: Scope, b: Scope) => a.service < b.service ? -1 : +(a.service > b.service);
  return { scopes: [...scopes].sort(byService), maxSessionSeconds, client };
}

/** `--services` (whole services) and `--scopes` together, resolved; none when neither is given. */
function flagScopes(flags: SetupFlags, catalog: Catalog): Scope[] | undefined {
  if (!flags.services?.length && !flags.scopes?.length) return undefined;
  const services = flags.services?.length ? parseServices(flags.services, catalog) : [];
  const named = flags.scopes?.length ? parseScopes(flags.scopes) : [];
  return resolveScopes([...services.map(wholeService), ...named], catalog);
}

function wholeService(service: string): Scope {
  return { service, level: "full" };
}

/**
 * The wizard's scopes: the services (the role's own chosen at first), then, optionally, levels
 * and resources for some of them (the role's own scopes offered); a service the scopes do not
 * name keeps full access.
 */
async function askScopes(
  prompts: SetupPrompts,
  catalog: Catalog,
  current: readonly Scope[] | undefined,
): Promise<Scope[]> {
  const had = current ? [...new Set(current.map((scope) => scope.service))] : undefined;
  const services = parseServices(await prompts.services(catalog, had), catalog);
  const offered = current && !wholeServices(current) ? formatScopes(current) : undefined;
  const narrowed = (await prompts.scopes?.(services, offered))?.trim();
  if (!narrowed) return services.map(wholeService);
  const named = resolveScopes(parseScopes([narrowed]), catalog);
  const rest = services.filter((service) => !named.some((scope) => scope.service === service));
  return [...named, ...rest.map(wholeService)];
}

/** What the role is set up with: its scopes and its MaxSessionDuration. */
interface RoleChoices {
  scopes: Scope[];
  maxSessionSeconds: number;
}

/**
 * The existing role's scopes and MaxSessionDuration, for what the flags leave out (said on
 * stderr, unless `quiet`: the wizard shows them as its defaults); nothing when the role does not
 * exist or cannot be read (then the defaults hold, and no services is an error as before).
 */
async function existingChoices(
  io: Io,
  options: {
    flags: SetupFlags;
    deps: SetupDeps;
    broker: BrokerContext;
    catalog: Catalog;
    target: ArnTarget;
    quiet: boolean;
  },
): Promise<Partial<RoleChoices>> {
  const { flags, deps, broker } = options;
  let current;
  const iam = await deps.createIamClient({ region: broker.region, profile: flags.profile });
  try {
    current = await readBrokerRole(iam, flags.roleName, {
      callerArn: broker.callerArn,
      profile: flags.profile,
    });
  } catch {
    return {};
  } finally {
    iam.destroy();
  }
  if (!current.exists) return {};
  const scopes = await roleScopes(current, options.catalog, options.target);
  const kept: Partial<RoleChoices> = {};
  const said: string[] = [];
  if (!flags.services?.length && !flags.scopes?.length && scopes) {
    kept.scopes = scopes;
    said.push(
      wholeServices(scopes)
        ? `its services (${scopes.map((scope) => scope.service).join(", ")})`
        : `its scopes (${formatScopes(scopes)})`,
    );
  }
  if (flags.maxSession === undefined && current.maxSessionSeconds !== undefined) {
    kept.maxSessionSeconds = current.maxSessionSeconds;
    said.push(`its MaxSessionDuration (${formatTtl(current.maxSessionSeconds)})`);
  }
  if (said.length && !options.quiet) {
    io.stderr(
      `Keeping ${said.join(" and ")} of ${current.arn ?? flags.roleName}: pass --services, ` +
        "--scopes or --max-session to change them.\n",
    );
  }
  return kept;
}

/**
 * Reads the role, lists the changes, asks before making them (unless confirmed already), makes
 * them, and records the role in the config file.
 */
async function applyPlan(
  io: Io,
  plan: BrokerRolePlan,
  options: {
    flags: SetupFlags;
    deps: SetupDeps;
    broker: BrokerContext;
    config: LoadedConfig;
    confirmed: boolean;
    waiting: WaitingLine;
  },
): Promise<void> {
  const { flags, deps, broker, waiting } = options;
  const iam = await deps.createIamClient({ region: broker.region, profile: flags.profile });
  try {
    const caller = { callerArn: broker.callerArn, profile: flags.profile };
    const current = await waiting.run("AWS IAM", () => readBrokerRole(iam, plan.roleName, caller));
    const changes = planRoleChanges(current, plan);
    if (changes.length === 0) {
      io.stderr(`Role ${current.arn ?? plan.roleArn} is up to date: nothing to change.\n`);
    } else {
      io.stderr(`Changes to make in account ${broker.account}:\n`);
      for (const change of changes) io.stderr(`  - ${describeRoleChange(change, plan)}\n`);
      if (!options.confirmed) await confirmChanges(io, deps);
      await waiting.run("AWS IAM", () => applyRoleChanges(iam, plan, { changes, caller }));
      io.stderr(`✓ Role ${current.arn ?? plan.roleArn} is set up.\n`);
    }
    await recordRole(io, options.config.config, {
      path: options.config.path,
      profile: configProfileName(flags.profile, io.env),
      roleArn: current.arn ?? plan.roleArn,
      region: flags.region,
    });
  } finally {
    iam.destroy();
  }
}

async function confirmChanges(io: Io, deps: SetupDeps): Promise<void> {
  if (!io.stdinIsTerminal) {
    throw new UsageError("Cannot ask before changing the role: standard input is not a terminal", {
      hint: "pass --yes to apply without asking",
    });
  }
  if (!await deps.prompts.confirm("Apply these changes?")) {
    throw new DeclinedError("Declined: nothing was changed");
  }
}

function renderDocuments(
  plan: BrokerRolePlan,
  broker: BrokerContext,
  options: { client?: McpClient; profile?: string; baseProfile: string; serverCommand: string },
): string {
  const prefixes = [...new Set(plan.scopes.map((scope) => scope.service))];
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
    `2. Permission policy ${PERMISSION_POLICY_NAME} (the most any grant can have${
      wholeServices(plan.scopes) ? "" : `: ${formatScopes(plan.scopes)}`
    }):`,
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
    renderAgentRules(
      wholeServices(plan.scopes) ? prefixes : formatScopes(plan.scopes).split(","),
    ).trimEnd(),
    "",
    "6. AWS profile for any AWS tool, read-only on these services, in ~/.aws/config " +
      `(--profile ${options.baseProfile} holds your base credentials; then: aws --profile ` +
      "timebound-ro …):",
    "",
    renderProcessProfile("timebound-ro", {
      scopes: formatScopes(readOnlyScopes(plan.scopes)).split(","),
      ttl: "15m",
      baseProfile: options.baseProfile,
      command: options.serverCommand,
    }).trimEnd(),
    "",
  );
  return `${out.join("\n")}\n`;
}

async function recordRole(
  io: Io,
  config: Parameters<typeof withBrokerRole>[0],
  entry: { path: string; profile: string; roleArn: string; region?: string },
): Promise<void> {
  // The trust policy now allows a SourceIdentity and session tags: forget a past refusal.
  const updated = withoutIdentityRefusals(
    withBrokerRole(config, entry.profile, entry),
    entry.roleArn,
  );
  if (JSON.stringify(updated) === JSON.stringify(config)) {
    io.stderr(`Config file ${entry.path} already names this role.\n`);
    return;
  }
  await saveConfig(entry.path, updated);
  const forgot = config.identityRefusals?.some((r) => r.role === entry.roleArn) ||
      config.rolesWithoutIdentity?.includes(entry.roleArn)
    ? "; its grants carry a source identity and session tags again"
    : "";
  io.stderr(
    `Wrote ${entry.path}: profile "${entry.profile}" uses ${entry.roleArn}${forgot}.\n`,
  );
}

function parseServices(values: readonly string[], catalog: Catalog): string[] {
  const names = values.flatMap((value) => value.split(",")).map((name) => name.trim());
  if (names.every((name) => name === "")) {
    missing("No services given: pass --services s3,dynamodb");
  }
  for (const [i, name] of names.entries()) {
    if (name === "") {
      throw new UsageError(
        `Invalid --services "${logText(values.join(","), 100)}": empty item between commas`,
      );
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      throw new UsageError(
        `Invalid service "${
          logText(name, 64)
        }" in --services: name services by IAM prefix, e.g. s3,dynamodb`,
        { hint: '"timebound-iam services" lists every service; there is no wildcard' },
      );
    }
    names[i] = name;
  }
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

function missingServices(): never {
  missing("No services given: pass --services s3,dynamodb (or run on a terminal to choose)");
}
