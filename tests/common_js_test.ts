/**
 * The CommonJS packages that the CLI loads with `require` (`lib/core/common_js.ts`) are the very
 * module instances an `import` gives: an error the SDK throws is told apart by its class whichever
 * way either side loaded it. commander (an ES module, imported) is checked beside them: its
 * classes are the ones extra-typings types.
 */

import assert from "node:assert/strict";
import { requireCommonJs } from "../lib/core/common_js.ts";
import {
  credentialProvidersModule,
  iamModule,
  smithyConfigModule,
  stsModule,
} from "../lib/aws/sdk.ts";
import { Argument, Command, CommanderError, Option } from "../lib/cli/commander.ts";
import { classifyAwsError } from "../lib/aws/sdk_errors.ts";

Deno.test("the SDK packages required are the instances import gives", async () => {
  const pairs: Array<[Record<string, unknown>, Record<string, unknown>, string]> = [
    [await stsModule(), await import("@aws-sdk/client-sts"), "STSServiceException"],
    [await iamModule(), await import("@aws-sdk/client-iam"), "IAMServiceException"],
    [
      await credentialProvidersModule(),
      await import("@aws-sdk/credential-providers"),
      "fromNodeProviderChain",
    ],
    [await smithyConfigModule(), await import("@smithy/core/config"), "CredentialsProviderError"],
  ];
  for (const [required, imported, name] of pairs) {
    assert.equal(typeof required[name], "function", name);
    assert.equal(required[name], imported[name], name);
  }
});

Deno.test("an error built from the imported SDK is told apart by the required one's classes", async () => {
  const { ExpiredTokenException } = await import("@aws-sdk/client-sts");
  const error = new ExpiredTokenException({ message: "expired", $metadata: {} });
  assert.deepEqual(await classifyAwsError(error, "sts"), { kind: "expired", service: "sts" });
  const { CredentialsProviderError } = await import("@smithy/core/config");
  assert.deepEqual(
    await classifyAwsError(new CredentialsProviderError("none"), "sts"),
    { kind: "credentials" },
  );
});

Deno.test("commander's classes are the ones extra-typings exports", async () => {
  const typed = await import("@commander-js/extra-typings");
  assert.equal(Command, typed.Command);
  assert.equal(Option, typed.Option);
  assert.equal(Argument, typed.Argument);
  assert.equal(CommanderError, typed.CommanderError);
});

Deno.test("a package that cannot be required is undefined, for the caller to import", () => {
  assert.equal(requireCommonJs("no-such-package-anywhere"), undefined);
  assert.equal(
    typeof requireCommonJs<{ loadSharedConfigFiles: unknown }>("@smithy/core/config")
      ?.loadSharedConfigFiles,
    "function",
  );
});
