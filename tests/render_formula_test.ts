import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { FORMULA_TARGETS, parseChecksums, renderFormula } from "../scripts/render_formula.ts";
import { tempDir } from "./support/fixture.ts";
import { findTool, ignoredBecause } from "./support/system_tool.ts";

const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];
// A distinct, recognisable checksum per target: the target's index repeated.
const SUMS = TARGETS.map((target, i) => `${String(i + 1).repeat(64)}  timebound-iam-${target}`)
  .join("\n") + "\n";
const RELEASE = { version: "v1.2.3", repo: "acme/timebound-iam" };
const BASE = "https://github.com/acme/timebound-iam/releases/download/v1.2.3";

Deno.test("parseChecksums() reads sha256sum output, text and binary mode", async (t) => {
  await t.step("two spaces", () => {
    const sums = parseChecksums(SUMS);
    assert.equal(sums.size, 5);
    assert.equal(sums.get("timebound-iam-aarch64-apple-darwin"), "4".repeat(64));
  });
  await t.step("binary mode, a directory, CRLF and upper case", () => {
    const sums = parseChecksums(`${"AB".repeat(32)} *dist/timebound-iam-x\r\n`);
    assert.deepEqual([...sums], [["timebound-iam-x", "ab".repeat(32)]]);
  });
  await t.step("rejects a line that is not a checksum", () => {
    assert.throws(() => parseChecksums("deadbeef  file\n"), /Invalid SHA256SUMS line 1/);
  });
});

Deno.test("renderFormula() writes one url and sha256 per OS and architecture", async (t) => {
  const formula = renderFormula(RELEASE, parseChecksums(SUMS));

  await t.step("the class, version, homepage and license", () => {
    assert.match(formula, /^class TimeboundIam < Formula$/m);
    assert.match(formula, /^ {2}version "1\.2\.3"$/m);
    assert.match(formula, /^ {2}homepage "https:\/\/github\.com\/acme\/timebound-iam"$/m);
    assert.match(formula, /^ {2}license "MIT"$/m);
  });

  await t.step("on_macos and on_linux, each with on_arm and on_intel", () => {
    for (const [os, cpus] of Object.entries(FORMULA_TARGETS)) {
      const block = formula.match(new RegExp(`  on_${os} do\\n([\\s\\S]*?)\\n  end\\n`))?.[1];
      assert.ok(block, `on_${os} block`);
      for (const [cpu, target] of Object.entries(cpus)) {
        const sha = String(TARGETS.indexOf(target) + 1).repeat(64);
        assert.ok(
          block.includes(
            `    on_${cpu} do\n      url "${BASE}/timebound-iam-${target}"\n` +
              `      sha256 "${sha}"\n    end`,
          ),
          `on_${os} on_${cpu}: ${target}`,
        );
      }
    }
    assert.ok(!formula.includes("windows"), "no Windows binary in a Homebrew formula");
  });

  await t.step("installs the binary as timebound-iam, with completions, and tests it", () => {
    assert.match(formula, /bin\.install File\.basename\(stable\.url\) => "timebound-iam"/);
    assert.match(formula, /generate_completions_from_executable\(bin\/"timebound-iam"/);
    assert.match(formula, /test do\n.*shell_output\("#\{bin\}\/timebound-iam --version"\)/);
  });

  await t.step("a base URL replaces the GitHub release", () => {
    const mirrored = renderFormula(
      { ...RELEASE, baseUrl: "https://mirror.example/tbi/" },
      parseChecksums(SUMS),
    );
    assert.match(
      mirrored,
      /url "https:\/\/mirror\.example\/tbi\/timebound-iam-x86_64-apple-darwin"/,
    );
  });
});

Deno.test("renderFormula() refuses what would make a broken formula", async (t) => {
  await t.step("a missing checksum", () => {
    const sums = parseChecksums(SUMS);
    sums.delete("timebound-iam-aarch64-unknown-linux-gnu");
    assert.throws(
      () => renderFormula(RELEASE, sums),
      /Missing checksum for "timebound-iam-aarch64-unknown-linux-gnu" in SHA256SUMS/,
    );
  });
  await t.step("a version that is not MAJOR.MINOR.PATCH", () => {
    assert.throws(
      () => renderFormula({ ...RELEASE, version: "main" }, parseChecksums(SUMS)),
      /Invalid version "main"/,
    );
  });
  await t.step("a repository that is not owner/name", () => {
    assert.throws(
      () => renderFormula({ ...RELEASE, repo: "acme" }, parseChecksums(SUMS)),
      /Invalid repository "acme"/,
    );
  });
});

// Enough of Homebrew's Formula DSL to evaluate the formula on one OS and CPU and print the url
// and sha256 that Homebrew would pick there.
const FORMULA_STUB = `
OS_NAME, CPU_NAME, FILE = ARGV
class Formula
  class << self
    attr_reader :picked
    %i[desc homepage version license].each { |m| define_method(m) { |*| nil } }
    def on_macos = (yield if OS_NAME == "macos")
    def on_linux = (yield if OS_NAME == "linux")
    def on_arm = (yield if CPU_NAME == "arm")
    def on_intel = (yield if CPU_NAME == "intel")
    def url(value) = ((@picked ||= []) << value)
    def sha256(value) = ((@picked ||= []) << value)
    def test(*) = nil
  end
end
load FILE
puts TimeboundIam.picked
`;

const ruby = await findTool("ruby");

Deno.test({
  name: `the rendered formula is valid Ruby and picks the right binary${ignoredBecause(ruby)}`,
  ignore: !ruby.found,
  async fn(t) {
    await using tmp = await tempDir("tbi-formula-");
    const dir = tmp.path;
    const file = `${dir}/timebound-iam.rb`;
    await Deno.writeTextFile(file, renderFormula(RELEASE, parseChecksums(SUMS)));
    await Deno.writeTextFile(`${dir}/stub.rb`, FORMULA_STUB);

    await t.step("ruby -c", async () => {
      const out = await new Deno.Command("ruby", { args: ["-c", file] }).output();
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "Syntax OK");
      assert.equal(out.code, 0);
    });

    for (const [os, cpus] of Object.entries(FORMULA_TARGETS)) {
      for (const [cpu, target] of Object.entries(cpus)) {
        await t.step(`${os} on ${cpu} downloads ${target}`, async () => {
          const out = await new Deno.Command("ruby", {
            args: [`${dir}/stub.rb`, os, cpu, file],
          }).output();
          assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
          assert.deepEqual(new TextDecoder().decode(out.stdout).trim().split("\n"), [
            `${BASE}/timebound-iam-${target}`,
            String(TARGETS.indexOf(target) + 1).repeat(64),
          ]);
        });
      }
    }
  },
});

Deno.test("scripts/render_formula.ts renders from a SHA256SUMS file", async () => {
  await using tmp = await tempDir("tbi-formula-");
  const dir = tmp.path;
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, SUMS);
  const script = fileURLToPath(new URL("../scripts/render_formula.ts", import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-R", script, "--version", "1.2.3", "--repo", RELEASE.repo, "--sums"]
      .concat(`${dir}/SHA256SUMS`),
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(out.code, 0);
  assert.equal(
    new TextDecoder().decode(out.stdout),
    renderFormula(RELEASE, parseChecksums(SUMS)),
  );
});
