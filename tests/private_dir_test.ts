/**
 * Private directories: what another local user can plant (a symlink, a FIFO, their own directory
 * or file, a parent they can write) changes nothing and is refused with one sentence.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  createPrivateTempDir,
  isPrivateGroup,
  openPrivateDir,
  verifyParentDirectory,
} from "../lib/core/private_dir.ts";
import { tempDir } from "./support/fixture.ts";
import { canRun } from "./support/system_tool.ts";
import { OTHER_USERS_SKIP, runAs, shAs } from "./support/users.ts";

const posix = Deno.build.os !== "windows";
/** When a crashed writer's temporary is swept, as the README says: once 10 minutes old. */
const STALE_TEMPORARY_MS = 10 * 60_000;
const mode = async (path: string) => (await Deno.lstat(path)).mode! & 0o7777;

Deno.test("openPrivateDir() creates 0700 directories and 0600 files, and reads them back", async () => {
  await using scratch = await tempDir("tbi-private-");
  const root = await Deno.realPath(scratch.path);
  const dir = await openPrivateDir(`${root}/state/timebound-iam`);
  assert.equal(dir.path, `${root}/state/timebound-iam`);
  assert.equal(await dir.create("a.env", "A=1\n"), `${root}/state/timebound-iam/a.env`);
  await assert.rejects(() => dir.create("a.env", "A=2\n"), /already exists/);
  await dir.replace("b.json", "{}");
  await dir.replace("b.json", '{"v":2}');
  assert.equal(await dir.read("b.json"), '{"v":2}');
  assert.equal(await dir.read("missing"), undefined);
  const log = await dir.openAppend("audit.jsonl");
  await log.append("one\n");
  await log.append("two\n");
  await log.close();
  assert.equal(await Deno.readTextFile(`${dir.path}/audit.jsonl`), "one\ntwo\n");
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(dir.path))).map((e) => e.name).sort(),
    ["a.env", "audit.jsonl", "b.json"],
  );
  for (const name of ["../x", "a/b", "..", ""]) {
    await assert.rejects(() => dir.create(name, "x"), /Invalid file name/);
  }
  if (posix) {
    assert.equal(await mode(`${root}/state`), 0o700);
    assert.equal(await mode(dir.path), 0o700);
    for (const name of ["a.env", "b.json", "audit.jsonl"]) {
      assert.equal(await mode(`${dir.path}/${name}`), 0o600, name);
    }
  }
});

Deno.test("openPrivateDir() refuses a path whose last part is not a name, and resolves a relative one from the working directory", async () => {
  await using scratch = await tempDir("tbi-private-");
  const root = await Deno.realPath(scratch.path);
  await Deno.mkdir(`${root}/sub`);
  // Each of these would, once normalised, name a directory that exists and is not ours to
  // claim (the working directory, or the one above it).
  for (const path of [`${root}/sub/..`, `${root}/sub/.`, `${root}/sub/../`, "..", ".", ""]) {
    await assert.rejects(() => openPrivateDir(path), /is not a directory name$/, path);
  }
  // In a child started in sub/: the working directory is the whole process's, which parallel
  // test files share.
  const module = import.meta.resolve("../lib/core/private_dir.ts");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "-q",
      `const { openPrivateDir } = await import(${JSON.stringify(module)});\n` +
      `console.log((await openPrivateDir("state/../private")).path);`,
    ],
    cwd: `${root}/sub`,
    stdin: "null",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(new TextDecoder().decode(out.stdout), `${root}/sub/private\n`);
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(`${root}/sub`))).map((e) => e.name).sort(),
    ["private"],
  );
});

Deno.test({
  name: "a symlink at a file's name is never followed: the target keeps its content and mode",
  ignore: !posix,
  fn: async () => {
    await using scratch = await tempDir("tbi-private-");
    const root = await Deno.realPath(scratch.path);
    const dir = await openPrivateDir(`${root}/priv`);
    const target = `${root}/bashrc`;
    await Deno.writeTextFile(target, "echo hi\n", { mode: 0o644 });
    await Deno.chmod(target, 0o644);
    for (const name of ["log", "cache", "new"]) await Deno.symlink(target, dir.pathOf(name));
    await assert.rejects(() => dir.openAppend("log"), /"[^"]*\/priv\/log" is a symbolic link/);
    await assert.rejects(() => dir.read("cache"), /symbolic link/);
    await assert.rejects(() => dir.create("new", "x"), /already exists/);
    await assert.rejects(() => dir.openLockFile("log", { create: false }), /symbolic link/);
    // replace() renames over the link itself.
    await dir.replace("cache", "mine");
    assert.equal((await Deno.lstat(dir.pathOf("cache"))).isFile, true);
    assert.equal(await Deno.readTextFile(target), "echo hi\n");
    assert.equal(await mode(target), 0o644);
  },
});

Deno.test({
  name: "a FIFO at a file's name is refused at once, not waited on",
  ignore: !posix,
  fn: async () => {
    await using scratch = await tempDir("tbi-private-");
    const root = await Deno.realPath(scratch.path);
    const dir = await openPrivateDir(`${root}/priv`);
    const made = await new Deno.Command("mkfifo", { args: [dir.pathOf("audit.jsonl")] })
      .output();
    assert.equal(made.success, true);
    await assert.rejects(() => dir.openAppend("audit.jsonl"), /is not a regular file/);
    await assert.rejects(() => dir.read("audit.jsonl"), /is not a regular file/);
  },
});

Deno.test({
  name: "a symlink, a file or a directory others can write in place of the directory is refused",
  ignore: !posix,
  fn: async () => {
    await using scratch = await tempDir("tbi-private-");
    const root = await Deno.realPath(scratch.path);
    await Deno.mkdir(`${root}/elsewhere`);
    await Deno.symlink(`${root}/elsewhere`, `${root}/link`);
    await assert.rejects(() => openPrivateDir(`${root}/link`), /is a symbolic link/);
    await Deno.writeTextFile(`${root}/file`, "");
    await assert.rejects(() => openPrivateDir(`${root}/file`), /is not a directory/);
    await Deno.mkdir(`${root}/open`);
    await Deno.chmod(`${root}/open`, 0o777);
    await assert.rejects(
      () => openPrivateDir(`${root}/open`),
      /^RuntimeError: Directory "[^"]+\/open" is writable by other users \(mode 0777\)$/m,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${root}/elsewhere`)), []);
  },
});

Deno.test({
  name: "a parent others can write is refused unless it is sticky",
  ignore: !posix,
  fn: async () => {
    await using scratch = await tempDir("tbi-private-");
    const root = await Deno.realPath(scratch.path);
    const shared = `${root}/shared`;
    await Deno.mkdir(shared);
    await Deno.chmod(shared, 0o777);
    const error = await createPrivateTempDir(shared, "x-").catch((e) => e);
    assert.equal(
      error.message,
      `Directory "${shared}" is writable by other users and not sticky: they could replace what timebound-iam writes under it`,
    );
    assert.match(error.hint, /chmod \+t/);
    await assert.rejects(() => openPrivateDir(`${shared}/cache`), /not sticky/);
    await assert.rejects(() => openPrivateDir(`${shared}/deep/cache`), /not sticky/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(shared)), []);
    await Deno.chmod(shared, 0o1777);
    const dir = await createPrivateTempDir(shared, "x-");
    assert.equal(await mode(dir.path), 0o700);
    assert.equal(await verifyParentDirectory(shared), shared);
  },
});

Deno.test({
  name: "a parent its group can write is refused unless the group is the user's own",
  ignore: !posix || Deno.uid() !== 0,
  fn: async () => {
    await using scratch = await tempDir("tbi-private-");
    const root = await Deno.realPath(scratch.path);
    const shared = `${root}/team`;
    await Deno.mkdir(shared);
    await Deno.chmod(shared, 0o775);
    // Root's own primary group is 0: a user-private group, accepted.
    await Deno.chown(shared, 0, Deno.gid()!);
    assert.equal(await verifyParentDirectory(shared), shared);
    // A shared group (gid 2000) can hold other users: refused.
    await Deno.chown(shared, 0, 2000);
    await assert.rejects(
      () => openPrivateDir(`${shared}/cache`),
      new RegExp(`Directory "${shared}" is writable by other users and not sticky`),
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(shared)), []);
  },
});

Deno.test({
  name: "another user's directory or file is refused, and what they planted is left unchanged",
  ignore: OTHER_USERS_SKIP !== undefined,
  fn: async () => {
    // /tmp itself: a sticky directory every user can reach (our TMPDIR is private to us).
    const shared = await Deno.makeTempDir({ dir: "/tmp", prefix: "tbi-2users-" });
    try {
      await Deno.chmod(shared, 0o1777);
      // The attacker (uid 1000) makes the directory we would use, and a file we would append to.
      await shAs(
        1000,
        `mkdir -m 700 ${shared}/cache && mkdir -m 1777 ${shared}/drop && ` +
          `echo theirs > ${shared}/drop/audit.jsonl && chmod 666 ${shared}/drop/audit.jsonl`,
      );
      await assert.rejects(
        () => openPrivateDir(`${shared}/cache`),
        /^RuntimeError: Directory "[^"]+\/cache" belongs to another user \(uid 1000\), not to you \(uid 0\)$/m,
      );
      // A parent owned by another user: they could rename what we put in it.
      await assert.rejects(
        () => createPrivateTempDir(`${shared}/drop`, "x-"),
        /Directory "[^"]+\/drop" belongs to another user \(uid 1000\)/,
      );
      assert.equal(await Deno.readTextFile(`${shared}/drop/audit.jsonl`), "theirs\n");
      assert.equal(await mode(`${shared}/drop/audit.jsonl`), 0o666);
    } finally {
      await Deno.remove(shared, { recursive: true });
    }
  },
});

Deno.test({
  name: "as uid 1000, a directory that uid 1001 planted is refused",
  ignore: OTHER_USERS_SKIP !== undefined,
  fn: async () => {
    const shared = await Deno.makeTempDir({ dir: "/tmp", prefix: "tbi-2users-" });
    try {
      await Deno.chmod(shared, 0o1777);
      const home = `${shared}/victim`;
      await shAs(1000, `mkdir -m 700 ${home}`);
      await shAs(1001, `mkdir -m 700 ${shared}/cache`);
      const module = fileURLToPath(new URL("../lib/core/private_dir.ts", import.meta.url));
      const script = `import { openPrivateDir } from ${JSON.stringify(module)};\n` +
        `for (const path of Deno.args) {\n` +
        `  try { const d = await openPrivateDir(path); await d.create("f", "x");` +
        ` console.log("ok " + path); }\n` +
        `  catch (e) { console.log(e.message); }\n}\n`;
      const out = await runAs(1000, Deno.execPath(), [
        "eval",
        "--no-check",
        script,
        `${shared}/cache`,
        `${home}/mine`,
      ], {
        env: { HOME: home, DENO_DIR: `${home}/deno`, PATH: "/usr/bin:/bin", NO_COLOR: "1" },
      });
      assert.equal(out.code, 0, out.stderr);
      assert.equal(
        out.stdout,
        `Directory "${shared}/cache" belongs to another user (uid 1001), not to you (uid 1000)\n` +
          `ok ${home}/mine\n`,
      );
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${shared}/cache`)), []);
    } finally {
      await Deno.remove(shared, { recursive: true });
    }
  },
});

Deno.test("replace() removes the temporaries a killed writer left once they are stale, and nothing else", async () => {
  await using scratch = await tempDir("tbi-private-");
  const root = await Deno.realPath(scratch.path);
  const dir = await openPrivateDir(`${root}/cache`);
  const stale = `.entry.json.${crypto.randomUUID()}.tmp`;
  const fresh = `.entry.json.${crypto.randomUUID()}.tmp`;
  const others = [".entry.json.not-a-uuid.tmp", "kept.json", `${stale}.bak`];
  for (const name of [stale, fresh, ...others]) {
    await Deno.writeTextFile(`${dir.path}/${name}`, "x");
  }
  const old = new Date(Date.now() - STALE_TEMPORARY_MS - 60_000);
  for (const name of [stale, ...others]) await Deno.utime(`${dir.path}/${name}`, old, old);
  const young = new Date(Date.now() - STALE_TEMPORARY_MS + 60_000);
  await Deno.utime(`${dir.path}/${fresh}`, young, young);
  await dir.replace("other.json", "{}");
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(dir.path))).map((e) => e.name).sort(),
    [fresh, ...others, "other.json"].sort(),
  );
});

/**
 * Runs `replace()` of 1 MiB in a child process whose file size limit is lowered to 4 KiB once its
 * directory is open (`prlimit`): with SIGXFSZ ignored the write fails (EFBIG); without, the
 * kernel kills the child mid-write, as a crash or a power cut would.
 */
async function replaceUnderSizeLimit(
  path: string,
  ignoreSignal: boolean,
): Promise<{ code: number; signal: Deno.Signal | null; stdout: string }> {
  const module = fileURLToPath(new URL("../lib/core/private_dir.ts", import.meta.url));
  const script = `import { openPrivateDir } from ${JSON.stringify(module)};\n` +
    `if (Deno.args[1] === "ignore") Deno.addSignalListener("SIGXFSZ", () => {});\n` +
    `const dir = await openPrivateDir(Deno.args[0]);\n` +
    `console.log("ready");\n` +
    `await Deno.stdin.read(new Uint8Array(1));\n` +
    `try { await dir.replace("entry.json", "x".repeat(1 << 20)); console.log("written"); }\n` +
    `catch (e) { console.log(e.message); }\n`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script, path, ignoreSignal ? "ignore" : "die"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!stdout.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  const limit = await new Deno.Command("prlimit", {
    args: ["--pid", String(child.pid), "--fsize=4096:4096"],
  }).output();
  assert.ok(limit.success, new TextDecoder().decode(limit.stderr));
  const stdin = child.stdin.getWriter();
  await stdin.write(new Uint8Array([10]));
  await stdin.close();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  const status = await child.status;
  return { code: status.code, signal: status.signal, stdout: stdout.replace("ready\n", "") };
}

const PRLIMIT = Deno.build.os === "linux" ? await canRun("prlimit") : false;

Deno.test({
  name:
    "a write that fails part-way (file size limit) leaves no partial file; one killed mid-write " +
    "leaves a temporary that the next replace() removes once stale" +
    (PRLIMIT ? "" : " (ignored: needs Linux and prlimit, from util-linux)"),
  ignore: !PRLIMIT,
  fn: async () => {
    await using scratch = await tempDir("tbi-private-");
    const root = await Deno.realPath(scratch.path);
    const path = `${root}/cache`;
    const failed = await replaceUnderSizeLimit(path, true);
    assert.equal(failed.code, 0);
    assert.equal(failed.stdout, `Cannot write file "${path}/entry.json": file too large\n`);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(path)), []);

    const killed = await replaceUnderSizeLimit(path, false);
    assert.equal(killed.signal, "SIGXFSZ");
    assert.equal(killed.stdout, "");
    const left = (await Array.fromAsync(Deno.readDir(path))).map((e) => e.name);
    assert.equal(left.length, 1);
    assert.match(left[0], /^\.entry\.json\.[0-9a-f-]{36}\.tmp$/);
    assert.equal((await Deno.stat(`${path}/${left[0]}`)).size, 4096);

    const dir = await openPrivateDir(path);
    await dir.replace("entry.json", "{}");
    assert.deepEqual((await Array.fromAsync(Deno.readDir(path))).length, 2, "not stale yet");
    const old = new Date(Date.now() - STALE_TEMPORARY_MS - 1000);
    await Deno.utime(`${path}/${left[0]}`, old, old);
    await dir.replace("entry.json", "{}");
    assert.deepEqual((await Array.fromAsync(Deno.readDir(path))).map((e) => e.name), [
      "entry.json",
    ]);
  },
});

Deno.test("isPrivateGroup(): only a group of the user's own name, with nobody else in it, is the user's", async () => {
  await using scratch = await tempDir("tbi-private-");
  const root = await Deno.realPath(scratch.path);
  const files = { passwd: `${root}/passwd`, group: `${root}/group` };
  await Deno.writeTextFile(
    files.passwd,
    "root:x:0:0::/root:/bin/sh\nann:x:1000:1000::/home/ann:/bin/sh\n" +
      "bob:x:1001:100::/home/bob:/bin/sh\ncat:x:1002:1003::/home/cat:/bin/sh\n" +
      "dan:x:1004:1003::/home/dan:/bin/sh\n",
  );
  await Deno.writeTextFile(
    files.group,
    "root:x:0:\nann:x:1000:ann\nusers:x:100:\ncat:x:1003:\nbob:x:1001:ann\n",
  );
  const cases: Array<[string, number, number, boolean]> = [
    ["a user-private group", 1000, 1000, true],
    ["root's", 0, 0, true],
    ["a shared primary group (users)", 100, 1001, false],
    ["a group of another name", 1003, 1002, false],
    ["another account's primary group too", 1003, 1004, false],
    ["one that lists another member", 1001, 1001, false],
    ["unknown to the files: its id is not the user's", 2000, 1000, false],
  ];
  for (const [what, gid, uid, expected] of cases) {
    assert.equal(isPrivateGroup(gid, uid, files), expected, what);
  }
  // Without the files (a directory service): the group whose id is the user's own id.
  const none = { passwd: `${root}/none`, group: `${root}/none` };
  assert.equal(isPrivateGroup(501, 501, none), true);
  assert.equal(isPrivateGroup(20, 501, none), false, "macOS's staff");
});

Deno.test({
  name:
    "as uid 1000, a parent that a group shared with others can write is refused; one of its own group is not",
  ignore: OTHER_USERS_SKIP !== undefined,
  fn: async () => {
    const shared = await Deno.makeTempDir({ dir: "/tmp", prefix: "tbi-group-" });
    try {
      await Deno.chmod(shared, 0o1777);
      const module = fileURLToPath(new URL("../lib/core/private_dir.ts", import.meta.url));
      const script = `import { openPrivateDir } from ${JSON.stringify(module)};\n` +
        `try { await openPrivateDir(Deno.args[0]); console.log("ok"); }\n` +
        `catch (e) { console.log(e.message); }\n`;
      const results: string[] = [];
      for (const gid of [100, 1000]) {
        const team = `${shared}/team-${gid}`;
        await Deno.mkdir(team);
        await Deno.chown(team, 1000, gid);
        await Deno.chmod(team, 0o775);
        const out = await runAs(1000, Deno.execPath(), [
          "eval",
          "--no-check",
          script,
          `${team}/timebound-iam`,
        ], {
          gid,
          env: {
            HOME: shared,
            DENO_DIR: `${shared}/deno`,
            PATH: "/usr/bin:/bin",
            NO_COLOR: "1",
          },
        });
        assert.equal(out.code, 0, out.stderr);
        results.push(out.stdout);
      }
      assert.deepEqual(results, [
        `Directory "${shared}/team-100" is writable by other users and not sticky: they could replace what timebound-iam writes under it\n`,
        "ok\n",
      ]);
    } finally {
      await Deno.remove(shared, { recursive: true });
    }
  },
});
