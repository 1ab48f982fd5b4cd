/**
 * The baseline of `deno task bench`: the least a Deno program can do to get a grant, one
 * AssumeRole with `@aws-sdk/client-sts`, configured from the environment (`AWS_ENDPOINT_URL_STS`,
 * the keys, `AWS_REGION`) and the role ARN in `TIMEBOUND_IAM_ROLE_ARN`.
 *
 * @module
 */

import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";

const client = new STSClient({});
try {
  await client.send(
    new AssumeRoleCommand({
      RoleArn: Deno.env.get("TIMEBOUND_IAM_ROLE_ARN"),
      RoleSessionName: `bench-${crypto.randomUUID()}`,
      DurationSeconds: 900,
    }),
  );
} finally {
  client.destroy();
}
