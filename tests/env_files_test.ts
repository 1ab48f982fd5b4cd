/**
 * Env files: readable by `env $(cat FILE)` and by dotenv, private, and cleaned up after a
 * server that died. Also the audit log's file.
 */

import assert from "node:assert/strict";
import { parse as parseDotenv } from "dotenv";
import { openAuditLog } from "../lib/mcp/audit_log.ts";
import { grantVariables } from "../lib/delivery/credential_env.ts";
import {
  openEnvFileDirectory,
  removeStaleDirectories,
  renderEnvFile,
} from "../lib/delivery/env_files.ts";
import { tempDir } from "./support/fixture.ts";

const posix = Deno.build.os !== "windows";

const VARS = grantVariables({
  accessKeyId: "ASIAEXAMPLEEXAMPLE12",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+x=",
  sessionToken: "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIE+/x==",
  expiration: new Date("2030-01-01T00:15:00Z"),
}, { region: "eu-west-1", sessionName: "timebound-iam-00000000-0000-4000-8000-000000000000" });

Deno.test("an env file is read back unchanged by dotenv and by env $(cat FILE)", async () => {
  const parent = await Deno.makeTempDir();
  const dir = await openEnvFileDirectory(parent);
  try {
    const file = await dir.write("timebound-iam-00000000-0000-4000-8000-000000000000", VARS);
    assert.equal(file, `${dir.path}/timebound-iam-00000000-0000-4000-8000-000000000000.env`);
    assert.deepEqual(parseDotenv(await Deno.readTextFile(file)), VARS);
    if (posix) {
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(dir.path)).mode! & 0o777, 0o700);
      const out = await new Deno.Command("sh", {
        args: ["-c", 'env -i $(cat "$1") /usr/bin/env', "sh", file],
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
      }).output();
      assert.equal(out.code, 0);
      const seen = Object.fromEntries(
        new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => {
          const i = line.indexOf("=");
          return [line.slice(0, i), line.slice(i + 1)];
        }),
      );
      assert.deepEqual(seen, VARS);
    }
    await assert.rejects(() =>
      dir.write("timebound-iam-00000000-0000-4000-8000-000000000000", VARS)
    );
    await assert.rejects(() => dir.write("../escape", VARS), /Invalid env file name/);
    assert.equal(await dir.remove("timebound-iam-00000000-0000-4000-8000-000000000000"), true);
    assert.equal(await dir.remove("timebound-iam-00000000-0000-4000-8000-000000000000"), false);
  } finally {
    await dir.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("renderEnvFile() refuses a value that word splitting or dotenv would change", () => {
  for (const value of ["a b", "a\nb", "a#b", "'a'", '"a"', "$(x)"]) {
    assert.throws(() => renderEnvFile({ AWS_X: value }), /unsafe characters/);
  }
});

Deno.test("a server's directory survives while it lives, and is removed at start once it died", async () => {
  await using tmp = await tempDir();
  const parent = tmp.path;
  const live = await openEnvFileDirectory(parent);
  await live.write("timebound-iam-live", { A: "1" });
  // Another server starting now leaves the live one alone.
  const other = await openEnvFileDirectory(parent);
  assert.match(live.path, /[/\\]timebound-iam-mcp-[^/\\]+$/);
  await Deno.stat(`${live.path}/timebound-iam-live.env`);
  assert.notEqual(other.path, live.path);
  await other.close();

  // A dead server's directory: its lock file holds a pid and nobody holds the lock.
  const dead = `${parent}/timebound-iam-mcp-dead`;
  await Deno.mkdir(dead, { mode: 0o700 });
  await Deno.writeTextFile(`${dead}/.lock`, "999999\n");
  await Deno.writeTextFile(`${dead}/timebound-iam-x.env`, "A=1\n");
  // Not ours to touch: no lock file, a symlink, another prefix.
  const foreign = `${parent}/timebound-iam-mcp-nolock`;
  await Deno.mkdir(foreign);
  const elsewhere = await Deno.makeTempDir();
  await Deno.writeTextFile(`${elsewhere}/.lock`, "1\n");
  if (posix) await Deno.symlink(elsewhere, `${parent}/timebound-iam-mcp-link`);

  const removed = await removeStaleDirectories(parent);
  assert.deepEqual(removed, [dead]);
  await assert.rejects(() => Deno.stat(dead), Deno.errors.NotFound);
  await Deno.stat(foreign);
  await Deno.stat(`${elsewhere}/.lock`);
  await Deno.stat(`${live.path}/timebound-iam-live.env`);
  await live.close();
  await assert.rejects(() => Deno.stat(live.path), Deno.errors.NotFound);
  await Deno.remove(elsewhere, { recursive: true });
});

Deno.test("the audit log is appended as 0600 JSON lines", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state/timebound-iam/audit.jsonl`;
  try {
    const now = () => new Date("2030-01-01T00:00:00Z");
    const first = await openAuditLog(path, { now });
    await first.record({ event: "grant", outcome: "granted", scopes: "s3:ro", ttl: "15m" });
    await first.close();
    const second = await openAuditLog(path, { now });
    await Promise.all([
      second.record({ event: "refusal", outcome: "refused", reason: "x" }),
      second.record({ event: "revocation", outcome: "revoked", session_id: "timebound-iam-1" }),
    ]);
    await second.close();
    const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.time, l.event]), [
      ["2030-01-01T00:00:00.000Z", "grant"],
      ["2030-01-01T00:00:00.000Z", "refusal"],
      ["2030-01-01T00:00:00.000Z", "revocation"],
    ]);
    if (posix) assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the audit log may be a bare file name in the working directory", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  // In a child started in dir: the working directory is the whole process's, which parallel
  // test files share.
  const module = import.meta.resolve("../lib/mcp/audit_log.ts");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "-q",
      `const { openAuditLog } = await import(${JSON.stringify(module)});\n` +
      `for (const name of ["audit.jsonl", "./audit.jsonl"]) {\n` +
      `  const log = await openAuditLog(name);\n` +
      `  await log.record({ event: "grant", outcome: "granted", scopes: "s3:ro", ttl: "15m" });\n` +
      `  await log.close();\n` +
      `}`,
    ],
    cwd: dir,
    stdin: "null",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(out.code, 0);
  const lines = (await Deno.readTextFile(`${dir}/audit.jsonl`)).trim().split("\n");
  assert.deepEqual(lines.map((line) => JSON.parse(line).event), ["grant", "grant"]);
});
