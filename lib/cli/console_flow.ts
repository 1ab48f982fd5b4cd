/**
 * The story of `console`: a grant exactly as `exec` makes it, then the federation flow (a
 * sign-in token for the session, without `SessionDuration`, so the console ends with the
 * credentials), then the login URL handed to the browser through a one-time loopback link or,
 * with `--print`, written to stdout.
 * `--like-serve` takes the scopes from `serve`'s allow list, so the human sees what an agent
 * would.
 *
 * The sign-in token and the URL are bearer secrets: they reach the browser through the one-time
 * link's redirect, or stdout (`--print`), and nothing else: no process's argument list (the
 * browser's holds only the link), no log line, no error, no `--debug` output.
 *
 * @module
 */

import { formatTime } from "../core/time_text.ts";
import { waitingLine } from "../core/waiting_line.ts";
import type { Grant } from "../aws/broker.ts";
import {
  consoleDestination,
  type DestinationOptions,
  federationUrl,
  loginUrl,
  SIGNIN_URL_VARIABLE,
} from "../aws/console_url.ts";
import { requestSigninToken } from "../aws/signin_token.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { RuntimeError, UsageError, UserError } from "../core/errors.ts";
import { signalExitCode, watchStopSignals } from "../core/signals.ts";
import { browserCommand, openInBrowser } from "../delivery/browser.ts";
import { type PeerRefusal, serveHandoff } from "../delivery/browser_handoff.ts";
import { type AllowList, checkAllowed, parseAllowList } from "../request/allow_list.ts";
import { loadCatalog, resolveScopes } from "../request/catalog.ts";
import { ANY_TARGET } from "../request/resource.ts";
import { formatScopes, parseScopes } from "../request/scope.ts";
import { parseTtl } from "../request/ttl.ts";
import { resolveGrantSettings } from "../grant/settings.ts";
import type { Cli } from "./options.ts";
import { type GrantFlags, obtainGrant } from "./grant_flow.ts";

/** The flags of `console`: a grant's, and where and how the console opens. */
export interface ConsoleFlags extends GrantFlags {
  /** `--service`: a service's console page. */
  service?: string;
  /** `--path`: a page under the region's console host. */
  path?: string;
  /** `--print`: write the URL to stdout instead of opening it. */
  print?: true;
  /** `--no-logout-first` sets this to false. */
  logoutFirst: boolean;
  /** `--like-serve`: the scopes of serve's allow list. */
  likeServe?: true;
  /** `--allow`: the allow list as serve takes it, instead of the config file's. */
  allow?: string;
  /** `--browser-timeout`: how long to wait for the browser, in seconds (default 120). */
  browserTimeout?: number;
}

/** How long `console` waits for the browser to follow its link, unless `--browser-timeout`. */
export const BROWSER_TIMEOUT_SECONDS = 120;

/** How long the link keeps answering (410) after it was followed, to notice a second visitor. */
const LINGER_MS = 2000;

/**
 * The seconds of `--browser-timeout`: `90`, `90s` or `2m`, from 1 second to 15 minutes (the
 * sign-in URL's own life).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBrowserTimeout } from "./console_flow.ts";
 * assert.equal(parseBrowserTimeout("2m"), 120);
 * assert.equal(parseBrowserTimeout("5"), 5);
 * ```
 */
export function parseBrowserTimeout(text: string): number {
  const match = /^(\d{1,4})([sm]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (match[2] === "m" ? 60 : 1) : NaN;
  if (!(seconds >= 1 && seconds <= 900)) {
    throw new UsageError(
      `Invalid --browser-timeout "${text.slice(0, 40)}": use seconds or minutes from 1s to 15m`,
      { hint: "e.g. --browser-timeout 30s or --browser-timeout 5m" },
    );
  }
  return seconds;
}

/** `90` as `1m30s`, `120` as `2m`, `5` as `5s`. */
function formatSeconds(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return `${minutes ? `${minutes}m` : ""}${rest || !minutes ? `${rest}s` : ""}`;
}

/** What to say on stderr after `--print`. */
export const PRINT_WARNING = "warning: the URL on stdout is a bearer secret: whoever opens it " +
  "within 15 minutes is signed in to the AWS console as this session; share it with nobody\n";

/**
 * The scopes `--like-serve` opens: serve's allow list (`--allow`, else `configAllow`, the config
 * file's `serve.allow`) as scopes, resources included; or, with `-s`, those scopes once the allow
 * list is checked to allow them (needed when it allows `*:LEVEL`, every service). The list comes
 * back too: the policy follows its account-wide narrowing, as serve's grants do. Without
 * `--like-serve`, the `-s` values as given.
 */
export async function consoleScopes(
  flags: Pick<ConsoleFlags, "scope" | "likeServe" | "allow">,
  configAllow: string | undefined,
): Promise<{ scope: string[]; allow?: AllowList }> {
  if (!flags.likeServe) {
    if (flags.allow !== undefined) {
      throw new UsageError("--allow goes with --like-serve", {
        hint: "timebound-iam console --like-serve --allow 's3:ro' -t 15m",
      });
    }
    return { scope: flags.scope };
  }
  const text = flags.allow ?? configAllow;
  if (text === undefined) {
    throw new UsageError("No allow list for --like-serve: serve lets agents ask for any scope", {
      hint:
        "give serve's list with --allow, or set serve.allow with setup aws; or name scopes with -s",
    });
  }
  const catalog = await loadCatalog();
  const allow = await parseAllowList(text, catalog);
  if (flags.scope.length > 0) {
    const scopes = resolveScopes(parseScopes(flags.scope), catalog);
    try {
      await checkAllowed(scopes, allow, {
        catalog,
        target: () => Promise.resolve(ANY_TARGET),
      });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      // The same refusal serve gives an agent, in words for the human at the console.
      throw new UsageError(
        error.message.replace(/^Not allowed by this server/, "Not in serve's allow list"),
        {
          hint: "--like-serve shows what an agent may see: name scopes within the list",
        },
      );
    }
    return { scope: flags.scope, allow };
  }
  if (allow.everyService !== undefined) {
    throw new UsageError(
      `The allow list "${allow.text}" allows every service (*:${allow.everyService}): ` +
        "no one session policy holds them all",
      { hint: "name the scopes to look at with -s, e.g. --like-serve -s s3:ro" },
    );
  }
  return { scope: [formatScopes(allow.scopes)], allow };
}

/** STS's shortest session: a TTL under it ends by the policy's deadline, not by STS. */
const MIN_STS_SECONDS = 900;

/**
 * What the summary's last row says: which console page, where the URL goes, for a grant
 * under 15 minutes that the tab outlives the deadline (the session lasts STS's 15 minutes; the
 * policy denies every action after the deadline), and the federation endpoint when
 * `TIMEBOUND_IAM_SIGNIN_URL` replaces AWS's (a planted one would receive the session).
 */
function consoleRow(flags: ConsoleFlags, env: Readonly<Record<string, string>>): string[] {
  const page = flags.service !== undefined
    ? `the ${flags.service} page`
    : flags.path !== undefined
    ? `the page ${flags.path}`
    : "the home page";
  const short = flags.ttl !== undefined && parseTtl(flags.ttl) < MIN_STS_SECONDS;
  // An endpoint other than AWS's receives the session itself: say so before the human agrees.
  const override = env[SIGNIN_URL_VARIABLE] ? federationUrl("us-east-1", env) : undefined;
  return [
    `AWS console, ${page}, ${flags.print ? "URL written to stdout" : "opened in the browser"}`,
    ...short ? ["(after the deadline the browser tab stays open, but every action is denied)"] : [],
    ...override
      ? [
        `(signed in through ${override.origin}${override.pathname}, from ` +
        `${SIGNIN_URL_VARIABLE}: it receives the session)`,
      ]
      : [],
  ];
}

/**
 * Runs `console`: checks the page and the endpoint first (no AWS call for a bad flag), makes the
 * grant, trades it for a sign-in token and opens (or prints) the login URL.
 */
export async function openConsole(cli: Cli, flags: ConsoleFlags): Promise<void> {
  const env = cli.io.env;
  const page: DestinationOptions = { service: flags.service, path: flags.path };
  // Checked on a sample region so a typo fails before any AWS call; the grant decides the region.
  consoleDestination("us-east-1", page);
  federationUrl("us-east-1", env);
  // Resolved once: the grant uses the same settings, and the config file holds serve's list.
  const settings = await resolveGrantSettings(flags, env);
  const { scope, allow } = await consoleScopes(flags, settings.file.config.serve?.allow);
  const grant = await obtainGrant(cli, { ...flags, scope }, {
    command: consoleRow(flags, env),
    settings,
    allow,
  });
  if (!grant) return;
  await signIn(cli, grant, { ...flags, page });
}

async function signIn(
  cli: Cli,
  grant: Grant,
  options: Pick<ConsoleFlags, "print" | "logoutFirst" | "debug" | "browserTimeout"> & {
    page: DestinationOptions;
  },
): Promise<void> {
  const env = cli.io.env;
  const federation = federationUrl(grant.region, env);
  const destination = consoleDestination(grant.region, options.page);
  if (options.debug || env.TIMEBOUND_IAM_DEBUG === "1") {
    cli.io.stderr(
      `debug: getSigninToken at ${federation.origin}${federation.pathname} ` +
        "(no SessionDuration: the console ends with the session)\n",
    );
  }
  // On a terminal, a federation endpoint slower than a second says so.
  const token = await waitingLine(cli.io).run(
    "AWS sign-in",
    () => requestSigninToken(grant.credentials, { federation, timeoutMs: awsTimeoutMs(env) }),
  );
  const url = loginUrl(token, { federation, destination, logoutFirst: options.logoutFirst });
  const until = formatTime(grant.credentials.expiration);
  if (options.print) {
    cli.io.stderr(PRINT_WARNING);
    cli.io.stdout(`${url}\n`);
    return;
  }
  const program = await handOff(cli, url, options.browserTimeout ?? BROWSER_TIMEOUT_SECONDS);
  cli.io.stderr(
    `Opened the AWS console with ${program}: session ${grant.sessionName}, ` +
      `${destination}, until ${until}\n`,
  );
}

/**
 * What to say on stderr when the one-time link refused a request that was not this user's: the
 * link still waits for the browser, and the human learns that someone else had it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { refusalWarning } from "./console_flow.ts";
 * assert.match(refusalWarning({ kind: "other", uid: 1001 }), /^warning: another user .*uid 1001/);
 * ```
 */
export function refusalWarning(refusal: PeerRefusal): string {
  if (refusal.kind === "other") {
    return `warning: another user on this machine (uid ${refusal.uid}) asked for the one-time ` +
      "sign-in link: refused, it got no URL; the link still waits for your browser\n";
  }
  return "warning: the one-time sign-in link was asked for by a connection whose user cannot be " +
    `checked (${refusal.reason}): refused; if it was your browser, use --print\n`;
}

/**
 * Gives the browser a one-time loopback link to `url` and waits, at most `seconds`, for it to be
 * followed; then a moment more, so that a second visitor is noticed and warned about. The server
 * is stopped on every path: followed, timed out, the opener failed, or a stop signal.
 */
async function handOff(cli: Cli, url: string, seconds: number): Promise<string> {
  const warning = "warning: the one-time sign-in link was asked for again after it was used: " +
    "another program on this machine may have opened the console as this session\n";
  await using link = await serveHandoff(url, {
    onReuse: () => cli.io.stderr(warning),
    onRefused: (refusal) => cli.io.stderr(refusalWarning(refusal)),
  });
  const stop = watchStopSignals();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const interrupted = stop.signal.then((signal): never => {
      throw new UserError(`Interrupted by ${signal}`, signalExitCode(signal));
    });
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() =>
        reject(
          new RuntimeError(
            `The browser did not open the sign-in link within ${formatSeconds(seconds)}`,
            {
              hint: "check BROWSER, raise --browser-timeout, or use --print and open the URL " +
                "yourself",
            },
          ),
        ), seconds * 1000);
    });
    cli.io.stderr(`waiting for the browser… (up to ${formatSeconds(seconds)})\n`);
    const opened = openInBrowser(link.url, { env: cli.io.env });
    opened.catch(() => {}); // awaited below only until the link is followed
    // The opener's failure counts until the link is followed: after that the console is open.
    const failed = opened.then(() => new Promise<never>(() => {}));
    await Promise.race([link.followed, failed, interrupted, expired]);
    clearTimeout(timer);
    const linger = new Promise<void>((resolve) => timer = setTimeout(resolve, LINGER_MS));
    await Promise.race([linger, interrupted]);
    return browserCommand(link.url, { env: cli.io.env }).program;
  } finally {
    clearTimeout(timer);
    stop.dispose();
  }
}
