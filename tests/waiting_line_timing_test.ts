// The waiting line on its own, on a clock the tests move: silent for a second, then one line that
// counts whole seconds, erased by the answer or by a question on the terminal, quiet again for a
// second after the question. What the terminal receives is written out here, byte for byte; the
// real-time tests, and the CLI on a terminal, are in waiting_line_test.ts.
import assert from "node:assert/strict";
import { pauseWaitingLines, waitingLine } from "../lib/core/waiting_line.ts";

/** A terminal's standard error that keeps what was written, in order. */
function terminal(stderrIsTerminal = true) {
  const said: string[] = [];
  const io = {
    stdout() {},
    stderr: (text: string) => void said.push(text),
    env: {},
    stdinIsTerminal: true,
    stderrIsTerminal,
  };
  return { io, said };
}

const line = (what: string, seconds: number) => `\rwaiting for ${what} (${seconds}s)…`;
const erased = (what: string, seconds: number) =>
  `\r${" ".repeat(`waiting for ${what} (${seconds}s)…`.length)}\r`;

/**
 * `Date.now`, `setTimeout` and `clearTimeout` replaced by a clock that moves only when told; the
 * real ones come back at the end of the test.
 */
class TestClock implements Disposable {
  now = 1_000_000;
  #timers = new Map<number, { at: number; run: () => void }>();
  #next = 1;
  #real = {
    now: Date.now,
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
  };

  constructor() {
    Date.now = () => this.now;
    globalThis.setTimeout = ((run: () => void, ms?: number) => {
      const id = this.#next++;
      this.#timers.set(id, { at: this.now + Math.max(0, ms ?? 0), run });
      return id;
    }) as unknown as typeof setTimeout;
    globalThis.clearTimeout =
      ((id?: number) => void this.#timers.delete(id!)) as typeof clearTimeout;
  }

  /** Lets the promises waiting on what just happened go on. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve) => this.#real.setTimeout(resolve, 0));
    }
  }

  /** Moves the clock on by `ms`, running each timer due on the way at its own time. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) =>
        t.at <= end
      ).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].run();
      await this.settle();
    }
    this.now = end;
    await this.settle();
  }

  [Symbol.dispose](): void {
    Date.now = this.#real.now;
    globalThis.setTimeout = this.#real.setTimeout;
    globalThis.clearTimeout = this.#real.clearTimeout;
  }
}

/** A promise and its resolve and reject, for work that ends when the test says. */
function answer<T>() {
  return Promise.withResolvers<T>();
}

Deno.test("after a second of silence the line shows, counts whole seconds, and the answer erases it", async () => {
  using clock = new TestClock();
  const { io, said } = terminal();
  const sts = answer<number>();
  const result = waitingLine(io).run("AWS STS", () => sts.promise);
  await clock.advance(999);
  assert.deepEqual(said, []);
  await clock.advance(1);
  assert.deepEqual(said, [line("AWS STS", 1)]);
  await clock.advance(999);
  assert.deepEqual(said, [line("AWS STS", 1)]);
  await clock.advance(1);
  assert.deepEqual(said, [line("AWS STS", 1), line("AWS STS", 2)]);
  // Into two digits: the longer line is written over the shorter, nothing else.
  await clock.advance(8000);
  assert.equal(said.length, 10);
  assert.equal(said.at(-1), line("AWS STS", 10));
  sts.resolve(7);
  assert.equal(await result, 7);
  assert.equal(said.at(-1), erased("AWS STS", 10));
  said.length = 0;
  await clock.advance(5000);
  assert.deepEqual(said, []);
});

Deno.test("the count keeps to whole seconds since the start, whatever the silence before it", async () => {
  using clock = new TestClock();
  const { io, said } = terminal();
  const iam = answer<void>();
  const result = waitingLine(io, { quietMs: 50 }).run("AWS IAM", () => iam.promise);
  await clock.advance(50);
  assert.deepEqual(said, [line("AWS IAM", 0)]);
  await clock.advance(949);
  assert.deepEqual(said, [line("AWS IAM", 0)]);
  await clock.advance(1);
  assert.deepEqual(said, [line("AWS IAM", 0), line("AWS IAM", 1)]);
  iam.resolve();
  await result;
  assert.equal(said.at(-1), erased("AWS IAM", 1));
});

Deno.test("an answer within the second, or a standard error that is no terminal, writes nothing", async () => {
  using clock = new TestClock();
  for (const isTerminal of [true, false]) {
    const { io, said } = terminal(isTerminal);
    const sts = answer<string>();
    const result = waitingLine(io).run("AWS STS", () => sts.promise);
    await clock.advance(isTerminal ? 999 : 5000);
    sts.resolve("ok");
    assert.equal(await result, "ok");
    await clock.advance(5000);
    assert.deepEqual(said, [], `terminal: ${isTerminal}`);
  }
});

Deno.test("a failed wait is erased too, and the error is the caller's", async () => {
  using clock = new TestClock();
  const { io, said } = terminal();
  const sts = answer<void>();
  const result = waitingLine(io).run("AWS STS", () => sts.promise);
  await clock.advance(1000);
  sts.reject(new Error("connection refused"));
  await assert.rejects(result, /^Error: connection refused$/);
  assert.deepEqual(said, [line("AWS STS", 1), erased("AWS STS", 1)]);
  await clock.advance(5000);
  assert.equal(said.length, 2);
});

Deno.test("a wait inside a wait of the same line keeps the outer one's line", async () => {
  using clock = new TestClock();
  const { io, said } = terminal();
  const waiting = waitingLine(io);
  const inner = answer<void>();
  const outer = answer<void>();
  const result = waiting.run("AWS STS", async () => {
    await waiting.run("AWS IAM", () => inner.promise);
    await outer.promise;
  });
  await clock.advance(1500);
  inner.resolve();
  await clock.advance(1000);
  assert.deepEqual(said, [line("AWS STS", 1), line("AWS STS", 2)]);
  outer.resolve();
  await result;
  assert.deepEqual(said.slice(2), [erased("AWS STS", 2)]);
});

Deno.test("a question erases every running line at once; after the last one, a second of quiet", async () => {
  using clock = new TestClock();
  const first = terminal();
  const second = terminal();
  const sts = answer<void>();
  const iam = answer<void>();
  const running = [
    waitingLine(first.io).run("AWS STS", () => sts.promise),
    waitingLine(second.io).run("AWS IAM", () => iam.promise),
  ];
  await clock.advance(1000);
  assert.deepEqual(first.said, [line("AWS STS", 1)]);
  assert.deepEqual(second.said, [line("AWS IAM", 1)]);
  const passphrase = answer<string>();
  const code = answer<string>();
  const asked = pauseWaitingLines(async () => {
    // A question asked within a question (the MFA code after the vault's passphrase).
    const typed = await pauseWaitingLines(() => passphrase.promise);
    return `${typed} ${await code.promise}`;
  });
  await clock.settle();
  assert.deepEqual(first.said, [line("AWS STS", 1), erased("AWS STS", 1)]);
  assert.deepEqual(second.said, [line("AWS IAM", 1), erased("AWS IAM", 1)]);
  await clock.advance(5000);
  passphrase.resolve("secret");
  // The inner question is answered, the outer is still open: still nothing.
  await clock.advance(5000);
  assert.equal(first.said.length + second.said.length, 4);
  code.resolve("123456");
  assert.equal(await asked, "secret 123456");
  await clock.advance(999);
  assert.equal(first.said.length + second.said.length, 4);
  // Counted again from the end of the question.
  await clock.advance(1);
  assert.deepEqual(first.said.slice(2), [line("AWS STS", 1)]);
  assert.deepEqual(second.said.slice(2), [line("AWS IAM", 1)]);
  sts.resolve();
  iam.resolve();
  await Promise.all(running);
});

Deno.test("a question that fails lets the lines come back all the same", async () => {
  using clock = new TestClock();
  const { io, said } = terminal();
  const sts = answer<void>();
  const result = waitingLine(io).run("AWS STS", () => sts.promise);
  await clock.advance(1000);
  await assert.rejects(
    pauseWaitingLines(() => Promise.reject(new Error("cancelled"))),
    /^Error: cancelled$/,
  );
  assert.deepEqual(said, [line("AWS STS", 1), erased("AWS STS", 1)]);
  await clock.advance(1000);
  assert.deepEqual(said.slice(2), [line("AWS STS", 1)]);
  sts.resolve();
  await result;
});

Deno.test("a wait that starts while a question is open shows nothing until it is answered", async () => {
  using clock = new TestClock();
  const { io, said } = terminal();
  const sts = answer<void>();
  const question = answer<void>();
  let result: Promise<void> | undefined;
  const asked = pauseWaitingLines(async () => {
    result = waitingLine(io).run("AWS STS", () => sts.promise);
    await question.promise;
  });
  await clock.advance(5000);
  assert.deepEqual(said, []);
  question.resolve();
  await asked;
  await clock.advance(999);
  assert.deepEqual(said, []);
  await clock.advance(1);
  assert.deepEqual(said, [line("AWS STS", 1)]);
  sts.resolve();
  await result;
});
