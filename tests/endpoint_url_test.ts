// An AWS endpoint URL that is not http(s) is refused before any request, naming where it came
// from (a variable or a setting in a file) and never the URL; the AWS SDK's own switch that makes
// it ignore them makes the check ignore them too.
import assert from "node:assert/strict";
import { checkEndpointUrl, checkEndpointVariables } from "../lib/aws/endpoint_url.ts";
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

Deno.test("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true, in any case, turns the check off", () => {
  for (const value of ["true", "TRUE", "True"]) {
    checkEndpointVariables({
      AWS_ENDPOINT_URL_STS: "garbage",
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value,
    });
  }
  // Anything else leaves it on, as it leaves the SDK using the variables.
  for (const value of ["false", "", "1", "yes"]) {
    assert.match(
      refusal(() =>
        checkEndpointVariables({
          AWS_ENDPOINT_URL_STS: "garbage",
          AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value,
        })
      ).message,
      /^Invalid AWS_ENDPOINT_URL_STS: /,
      value,
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
