// An AWS endpoint URL that is not http(s) is refused before any request, naming where it came
// from (a variable or a setting in a file) and never the URL; the AWS SDK's own switch that makes
// it ignore them makes the check ignore them too, read as the SDK reads it (exactly "true").
import assert from "node:assert/strict";
import {
  checkEndpointUrl,
  checkEndpointVariables,
  ignoresConfiguredEndpoints,
} from "../lib/aws/endpoint_url.ts";
import { UsageError } from "../lib/core/errors.ts";

/** The error a check throws, as the user reads it: message, hint and exit code. */
function refusal(check: () => unknown): { message: string; hint?: string; exitCode: number } {
  try {
    check();
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return { message: error.message, hint: error.hint, exitCode: error.exitCode };
  }
  assert.fail("not refused");
}

Deno.test("each of AWS_ENDPOINT_URL_STS, _IAM and AWS_ENDPOINT_URL is checked, and named", () => {
  for (const name of ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"]) {
    assert.deepEqual(
      refusal(() => checkEndpointVariables({ [name]: "ftp://alice:s3cret@example.com/" })),
      {
        message: `Invalid ${name}: it must be an http:// or https:// URL`,
        hint: `give one such as http://127.0.0.1:4566, or unset ${name}`,
        exitCode: 2,
      },
    );
  }
  // Another service's variable is not timebound-iam's to check.
  checkEndpointVariables({ AWS_ENDPOINT_URL_S3: "garbage" });
  // Empty is unset, for the SDK as here.
  checkEndpointVariables({ AWS_ENDPOINT_URL_STS: "", AWS_ENDPOINT_URL: "" });
});

Deno.test("only an exact true, as the AWS SDK reads it, turns the check off", () => {
  const bad = { AWS_ENDPOINT_URL_STS: "garbage" };
  checkEndpointVariables({ ...bad, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" });
  // The profile's ignore_configured_endpoint_urls, when the variable says neither true nor false.
  for (const value of [undefined, "TRUE", "1", "yes", ""]) {
    checkEndpointVariables({ ...bad, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value }, "true");
  }
  const cases: Array<[string | undefined, string | undefined]> = [
    ["false", "true"],
    ["TRUE", undefined],
    ["True", "TRUE"],
    ["1", "1"],
    [" true", undefined],
    ["true ", undefined],
    ["yes", "yes"],
    ["", undefined],
    [undefined, "false"],
    [undefined, undefined],
  ];
  for (const [value, setting] of cases) {
    assert.match(
      refusal(() =>
        checkEndpointVariables({ ...bad, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value }, setting)
      ).message,
      /^Invalid AWS_ENDPOINT_URL_STS: /,
      `${value} / ${setting}`,
    );
  }
});

Deno.test("a refused variable's hint says when the switch holds what the AWS SDK does not read as true", () => {
  const hint = (value?: string) =>
    refusal(() =>
      checkEndpointVariables({
        AWS_ENDPOINT_URL: "garbage",
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value,
      })
    ).hint;
  assert.equal(
    hint("TRUE"),
    "give one such as http://127.0.0.1:4566, or unset AWS_ENDPOINT_URL " +
      '(AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is "TRUE": the AWS SDK turns the endpoint settings ' +
      "off only for exactly true)",
  );
  // What it quotes is neutralised and cut: one line, whatever the variable holds.
  assert.match(
    hint("x\u001b[2J".repeat(20))!,
    /is "(x\\u\{1b\}\[2J){8}… \(60 more characters\)": the AWS SDK/,
  );
  for (const value of [undefined, "false"]) {
    assert.equal(hint(value), "give one such as http://127.0.0.1:4566, or unset AWS_ENDPOINT_URL");
  }
});

Deno.test("ignoresConfiguredEndpoints() decides as the AWS SDK: the variable, else the profile's setting", () => {
  const cases: Array<[string | undefined, string | undefined, boolean]> = [
    ["true", undefined, true],
    ["true", "false", true],
    ["false", "true", false],
    [undefined, "true", true],
    ["TRUE", "true", true],
    ["TRUE", undefined, false],
    ["", "true", true],
    [undefined, "True", false],
    [undefined, undefined, false],
  ];
  for (const [value, setting, ignored] of cases) {
    assert.equal(
      ignoresConfiguredEndpoints({ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value }, setting),
      ignored,
      `${value} / ${setting}`,
    );
  }
});

Deno.test("a setting in a file is named with its file, and the hint says to remove it", () => {
  const where = { setting: 'endpoint_url of profile "dev"', file: "~/.aws/config" };
  for (const value of ["file:///tmp/x", "localhost:4566", "garbage", "http://", "ftp://x@h/"]) {
    assert.deepEqual(refusal(() => checkEndpointUrl(value, where)), {
      message:
        'Invalid endpoint_url of profile "dev" in ~/.aws/config: it must be an http:// or https:// URL',
      hint: "give one such as http://127.0.0.1:4566, or remove it",
      exitCode: 2,
    });
  }
  for (const value of ["http://127.0.0.1:4566", "https://sts.example.com/", "HTTP://h"]) {
    assert.equal(checkEndpointUrl(value, where), value);
  }
});
