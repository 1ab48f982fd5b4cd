/**
 * Finds an AWS CLI that honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` (v1 from
 * 1.29, v2 from 2.13), walking PATH in order and asking each `aws` its version: Debian's
 * `/usr/bin/aws` (2.9.19) ignores the variables and `npx` puts `/usr/bin` first, so the first
 * `aws` on PATH is not always one that would reach the signing proxy.
 *
 * @module
 */

import { delimiter, join } from "node:path";

/** The AWS CLI found, or why there is none. */
export interface EndpointAwareAws {
  /** Its full path, or `undefined` when none was found. */
  path?: string;
  /** `aws-cli/1.45.11`, or why none was found. */
  version: string;
}

/** Whether `aws-cli/X.Y.Z` honours `AWS_ENDPOINT_URL`. */
export function honoursEndpointUrl(version: string): boolean {
  const m = /aws-cli\/(\d+)\.(\d+)\./.exec(version);
  if (m === null) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return (major === 1 && minor >= 29) || (major === 2 && minor >= 13) || major > 2;
}

let found: Promise<EndpointAwareAws> | undefined;

/** The first `aws` on PATH that honours `AWS_ENDPOINT_URL` (looked up once). */
export function endpointAwareAws(): Promise<EndpointAwareAws> {
  found ??= (async () => {
    const seen: string[] = [];
    for (const dir of (Deno.env.get("PATH") ?? "").split(delimiter)) {
      const path = join(dir, Deno.build.os === "windows" ? "aws.cmd" : "aws");
      try {
        const out = await new Deno.Command(path, {
          args: ["--version"],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const version = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        const short = /aws-cli\/\S+/.exec(version)?.[0] ?? "?";
        seen.push(`${path} ${short}`);
        if (out.success && honoursEndpointUrl(version)) return { path, version: short };
      } catch {
        // Not there: the next directory.
      }
    }
    return {
      version: `no aws on PATH honours AWS_ENDPOINT_URL (${seen.join(", ") || "none found"})`,
    };
  })();
  return found;
}
