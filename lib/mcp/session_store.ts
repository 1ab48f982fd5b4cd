/**
 * The MCP server's live sessions: what each grant was for, when it expires and where its env
 * file is. Expired sessions are forgotten and their files deleted by a sweep that runs every
 * few seconds (so within a minute of expiry) and before every listing.
 *
 * @module
 */

import type { EnvFileDirectory } from "../delivery/env_files.ts";
import type { Scope } from "../request/scope.ts";

/** A session as the server remembers it: no secrets, only where they are. */
export interface Session {
  /** The session id: the RoleSessionName, `timebound-iam-<uuid>`. */
  id: string;
  /** The scopes granted, resolved to IAM prefixes. */
  scopes: Scope[];
  /** The profile of the base credentials, if one was named. */
  profile?: string;
  /** The region the credentials are for. */
  region: string;
  /** When AWS stops accepting the credentials. */
  expiresAt: Date;
  /** The env file holding the credentials. */
  file: string;
}

/** Options of {@linkcode createSessionStore}. */
export interface SessionStoreOptions {
  /** The clock. */
  now: () => Date;
  /** How often to sweep expired sessions, in milliseconds (default 15 s). */
  sweepIntervalMs?: number;
  /** Told about each session removed because it expired. */
  onExpire?: (session: Session) => void;
}

/** The live sessions and their env files. */
export interface SessionStore {
  /** Writes the session's env file and remembers the session, with its file's path. */
  add(session: Omit<Session, "file">, vars: Readonly<Record<string, string>>): Promise<Session>;
  /** The live sessions, oldest first, after removing the expired ones. */
  list(): Promise<Session[]>;
  /** The live session with this id, if any. */
  get(id: string): Session | undefined;
  /** Forgets the session and deletes its file; the session, or `undefined` if unknown. */
  remove(id: string): Promise<Session | undefined>;
  /** Removes the expired sessions and their files now. */
  sweep(): Promise<Session[]>;
  /** Stops the sweeper, forgets every session and removes the directory. */
  close(): Promise<void>;
}

/**
 * Creates the store over a private env file directory, and starts its sweeper.
 */
export function createSessionStore(
  directory: EnvFileDirectory,
  options: SessionStoreOptions,
): SessionStore {
  const sessions = new Map<string, Session>();
  let sweeping: Promise<Session[]> | undefined;
  const sweep = (): Promise<Session[]> => {
    sweeping ??= (async () => {
      const now = options.now().getTime();
      const expired = [...sessions.values()].filter((s) => s.expiresAt.getTime() <= now);
      for (const session of expired) {
        sessions.delete(session.id);
        await directory.remove(session.id);
        options.onExpire?.(session);
      }
      return expired;
    })().finally(() => sweeping = undefined);
    return sweeping;
  };
  const timer = setInterval(() => {
    sweep().catch(() => {});
  }, options.sweepIntervalMs ?? 15_000);
  Deno.unrefTimer(timer);
  let closed: Promise<void> | undefined;
  return {
    async add(session, vars) {
      const file = await directory.write(session.id, vars);
      const stored = { ...session, file };
      sessions.set(session.id, stored);
      return stored;
    },
    async list() {
      await sweep();
      return [...sessions.values()];
    },
    get(id) {
      return sessions.get(id);
    },
    async remove(id) {
      const session = sessions.get(id);
      if (!session) return undefined;
      sessions.delete(id);
      await directory.remove(id);
      return session;
    },
    sweep,
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        await sweeping;
        sessions.clear();
        await directory.close();
      })();
      return closed;
    },
  };
}
