// keys add end to end: the real CLI against the local endpoint checks a pair at AWS, stores it in
// the vault's encrypted file and never shows it; it asks before it replaces a pair, and refuses
// keys it must not take. On a terminal, the keys and the vault's passphrase are typed unseen
// (tests/support/vault_world.ts).
import assert from "node:assert/strict";
import { answerPrompts, baseEnv, spawnUnderTerminal } from "./support/cli.ts";
import { findTool, ignoredBecause } from "./support/system_tool.ts";
import {
  addDevKeys,
  assertNoSecrets,
  filesHolding,
  PASSPHRASE,
  world,
} from "./support/vault_world.ts";
import { openVault } from "../lib/vault/vault.ts";

const scriptTool = Deno.build.os === "linux"
  ? await findTool("script", "util-linux")
  : { found: false, reason: "a pseudo-terminal through script(1) is Linux only" };

Deno.test("keys add --from-env checks the keys, stores them encrypted, and never shows them", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const added = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: user.accessKeyId,
    AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
  });
  assert.equal(added.code, 0, added.stderr);
  assert.match(
    added.stderr,
    new RegExp(
      `^Stored AKIA…${user.accessKeyId.slice(-4)} for profile "dev" in .*vault: ` +
        `account 123456789012, arn:aws:iam::123456789012:user/developer\n$`,
    ),
  );
  assert.deepEqual(
    w.aws.requests.map((r) => [r.action, r.accessKeyId]),
    [["GetCallerIdentity", user.accessKeyId], ["ListAccessKeys", user.accessKeyId]],
  );
  const file = `${w.home}/.local/share/timebound-iam/vault`;
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.deepEqual(await filesHolding(w.home, [user.secretAccessKey, user.accessKeyId]), []);

  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  const [header, row] = list.stdout.trimEnd().split("\n");
  assert.match(header, /^PROFILE +BACKEND +KEY +ACCOUNT +USER +AGE +MFA SESSION$/);
  assert.match(
    row,
    new RegExp(
      `^dev +file +AKIA…${user.accessKeyId.slice(-4)} +123456789012 +user/developer +now +no$`,
    ),
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("keys add asks before it replaces another pair the profile holds (--yes does not)", async () => {
  await using w = await world();
  const first = w.aws.defaultUser;
  const second = w.aws.addUser({ userName: "second-user" });
  const add = (keys: { accessKeyId: string; secretAccessKey: string }, ...flags: string[]) =>
    w.run(["keys", "add", "dev", "--from-env", ...flags], {
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    });
  assert.equal((await add(first)).code, 0);
  // The same pair again changes nothing and asks nothing.
  assert.equal((await add(first)).code, 0);
  const refused = await add(second);
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr.replace(/ in \S*vault;/, " in VAULT;"),
    `Profile "dev" holds AKIA…${first.accessKeyId.slice(-4)} in VAULT; the new pair replaces it, ` +
      "and its secret is not kept.\n" +
      "error: Not replacing the stored keys: standard input is not a terminal to ask on\n" +
      "hint: pass --yes to go ahead without asking\n",
  );
  const kept = await w.run(["keys", "list"]);
  assert.match(kept.stdout, new RegExp(`^dev +file +AKIA…${first.accessKeyId.slice(-4)} `, "m"));
  const replaced = await add(second, "--yes");
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stderr, new RegExp(`\\(replacing AKIA…${first.accessKeyId.slice(-4)}\\)`));
  const now = await w.run(["keys", "list"]);
  assert.match(now.stdout, new RegExp(`^dev +file +AKIA…${second.accessKeyId.slice(-4)} `, "m"));
  assertNoSecrets(w, [first.secretAccessKey, second.secretAccessKey]);
});

Deno.test("keys add refuses a session token, keys on the command line, and bad keys at AWS", async () => {
  await using w = await world();
  const token = await w.run(["keys", "add", "--from-env"], {
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_SESSION_TOKEN: "token",
  });
  assert.equal(token.code, 2);
  assert.match(token.stderr, /^error: AWS_SESSION_TOKEN is set: these are temporary credentials/);
  const argv = await w.run(["keys", "add", "dev", "AKIAIOSFODNN7EXAMPLE"]);
  assert.equal(argv.code, 2);
  const unknown = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: AWS does not recognise the access key of profile "dev"\n/);
  const noTerminal = await w.run(["keys", "add", "dev"]);
  assert.equal(noTerminal.code, 2);
  assert.match(
    noTerminal.stderr,
    /^error: Cannot ask for the keys: standard input is not a terminal\n/,
  );
  const list = await w.run(["keys", "list"]);
  assert.match(list.stderr, /^No keys in the vault/);
  assertNoSecrets(w, ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAIOSFODNN7EXAMPLE"]);
});

Deno.test(
  `keys add on a terminal: nothing typed is echoed, then the passphrase is asked for a grant${
    ignoredBecause(scriptTool)
  }`,
  { ignore: !scriptTool.found },
  async () => {
    await using w = await world();
    const user = w.aws.defaultUser;
    const { TIMEBOUND_IAM_VAULT_PASSPHRASE: _, ...rest } = w.env;
    const env = { ...rest, HOME: w.home };
    const add = await answerPrompts(
      await spawnUnderTerminal(["keys", "add", "dev"], env),
      [
        { prompt: "AWS access key id: ", answer: user.accessKeyId },
        { prompt: "AWS secret access key: ", answer: user.secretAccessKey },
        { prompt: "New vault passphrase: ", answer: PASSPHRASE },
        { prompt: "Type it again: ", answer: PASSPHRASE },
      ],
    );
    assert.equal(add.code, 0, add.text);
    assert.match(add.text, /Stored AKIA…\S{4} for profile "dev"/);
    for (const typed of [user.accessKeyId, user.secretAccessKey, PASSPHRASE]) {
      assert.ok(!add.text.includes(typed), "something typed was echoed");
    }
    await Deno.remove(`${w.home}/.aws/credentials`);
    const grant = await answerPrompts(
      await spawnUnderTerminal(
        ["exec", "--profile", "dev", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
        env,
      ),
      [{ prompt: "Vault passphrase: ", answer: PASSPHRASE }],
    );
    assert.equal(grant.code, 0, grant.text);
    assert.ok(!grant.text.includes(PASSPHRASE));
    assert.equal(
      w.aws.requests.find((r) => r.action === "AssumeRole")?.accessKeyId,
      user.accessKeyId,
    );
  },
);

Deno.test(
  `Ctrl-D while the vault's passphrase is typed cancels, and nothing is asked of AWS${
    ignoredBecause(scriptTool)
  }`,
  { ignore: !scriptTool.found },
  async () => {
    await using w = await world();
    await addDevKeys(w);
    const { TIMEBOUND_IAM_VAULT_PASSPHRASE: _, ...rest } = w.env;
    const before = w.aws.requests.length;
    const grant = await answerPrompts(
      await spawnUnderTerminal(
        ["exec", "--profile", "dev", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
        { ...rest, HOME: w.home },
      ),
      [{ prompt: "Vault passphrase: ", answer: `${PASSPHRASE.slice(0, 7)}\x04` }],
    );
    assert.equal(grant.code, 1, grant.text);
    assert.match(grant.text, /error: Cancelled: nothing was entered/);
    assert.equal(w.aws.requests.length, before);
  },
);

Deno.test(
  `a key that types no character (an arrow, Delete, F1) adds nothing to a passphrase typed unseen${
    ignoredBecause(scriptTool)
  }`,
  { ignore: !scriptTool.found },
  async () => {
    await using w = await world();
    const user = w.aws.defaultUser;
    const { TIMEBOUND_IAM_VAULT_PASSPHRASE: _, ...rest } = w.env;
    const add = await answerPrompts(
      await spawnUnderTerminal(["keys", "add", "dev"], { ...rest, HOME: w.home }),
      [
        { prompt: "AWS access key id: ", answer: user.accessKeyId },
        { prompt: "AWS secret access key: ", answer: user.secretAccessKey },
        // Left, Delete, Up (as xterm's application mode sends it) and F1
        { prompt: "New vault passphrase: ", answer: `${PASSPHRASE}\x1b[D\x1b[3~\x1bOA\x1bOP` },
        { prompt: "Type it again: ", answer: PASSPHRASE },
      ],
    );
    assert.equal(add.code, 0, add.text);
    // The same text from the variable opens the vault.
    const list = await w.run(["keys", "list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout + list.stderr, /dev/);
  },
);

Deno.test(
  `a passphrase typed over 1024 bytes is refused, not cut to another one${
    ignoredBecause(scriptTool)
  }`,
  { ignore: !scriptTool.found },
  async () => {
    await using w = await world();
    const user = w.aws.defaultUser;
    const { TIMEBOUND_IAM_VAULT_PASSPHRASE: _, ...rest } = w.env;
    const long = "x".repeat(1100);
    const add = await answerPrompts(
      await spawnUnderTerminal(["keys", "add", "dev"], { ...rest, HOME: w.home }),
      [
        { prompt: "AWS access key id: ", answer: user.accessKeyId },
        { prompt: "AWS secret access key: ", answer: user.secretAccessKey },
        { prompt: "New vault passphrase: ", answer: long },
        { prompt: "Type it again: ", answer: long },
      ],
    );
    assert.equal(add.code, 1, add.text);
    assert.match(add.text, /error: Too long: the answer is over 1024 bytes, and was not used/);
    assert.ok(!add.text.includes("Type it again"), add.text);
    const list = await w.run(["keys", "list"]);
    assert.match(list.stderr, /^No keys in the vault/);
  },
);

Deno.test(
  `SIGTERM while a key is typed unseen ends the CLI with the terminal echoing again${
    ignoredBecause(scriptTool)
  }`,
  { ignore: !scriptTool.found },
  async () => {
    await using w = await world();
    const child = await spawnUnderTerminal(
      ["keys", "add", "dev"],
      { ...w.env, HOME: w.home },
      { then: "stty -a" },
    );
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let screen = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      let signalled = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        screen += decoder.decode(value, { stream: true });
        if (!signalled && screen.includes("AWS access key id: ")) {
          Deno.kill(await cliPid(child.pid), "SIGTERM");
          signalled = true;
        }
      }
    } finally {
      clearTimeout(timer);
      await child.stdin.close();
    }
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 143, screen);
    assert.match(screen, /error: Interrupted by SIGTERM/);
    // stty -a, run after the CLI on its terminal: echo and line editing are back on.
    assert.match(screen, /(^|\s)echo(\s|$)/m, screen);
    assert.match(screen, /(^|\s)icanon(\s|$)/m, screen);
  },
);

/** The CLI's process under `script`'s: the deno among its descendants (from ps(1)). */
async function cliPid(root: number): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const { stdout } = await new Deno.Command("ps", { args: ["-eo", "pid=,ppid=,comm="] }).output();
    const rows = new TextDecoder().decode(stdout).trim().split("\n")
      .map((row) => row.trim().split(/\s+/))
      .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm }));
    const below = new Set([root]);
    for (let grew = true; grew;) {
      grew = false;
      for (const row of rows) {
        if (below.has(row.ppid) && !below.has(row.pid)) {
          below.add(row.pid);
          grew = true;
        }
      }
    }
    const cli = rows.find((row) => row.pid !== root && below.has(row.pid) && row.comm === "deno");
    if (cli) return cli.pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("the CLI's process was not found");
}

Deno.test("keys add asks before it replaces an unreadable item, whose error's hint names keys add", async () => {
  await using w = await world();
  const keys = w.aws.defaultUser;
  const vault = await openVault({ env: { ...await baseEnv(w.home), ...w.env } });
  await vault.backend.set("keys/dev", "{}");
  const add = (...flags: string[]) =>
    w.run(["keys", "add", "dev", "--from-env", ...flags], {
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    });
  const listed = await w.run(["keys", "list"]);
  assert.match(listed.stderr + listed.stdout, /not readable|hint: store the keys again/);
  const refused = await add();
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^Profile "dev" holds an unreadable item in \S*vault; the new pair/);
  assert.match(refused.stderr, /error: Not replacing the stored keys: standard input is not a/);
  const replaced = await add("--yes");
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stderr, /\(replacing an unreadable item\): account /);
  const now = await w.run(["keys", "list"]);
  assert.match(now.stdout, new RegExp(`^dev +file +AKIA…${keys.accessKeyId.slice(-4)} `, "m"));
  assertNoSecrets(w, [keys.secretAccessKey]);
});
