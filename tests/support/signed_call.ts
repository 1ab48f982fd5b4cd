/**
 * A request to the signing proxy signed with a grant's stand-in credentials, as a client that
 * follows no SDK would send it: the test names the method, path, signing service, body and which
 * headers are signed, and may add unsigned ones after signing.
 *
 * @module
 */

import { canonicalRequest, signString, stringToSign, toAmzDate } from "./sigv4.ts";

/** A call signed with the stand-ins over the `signed` headers, with `unsigned` ones added after. */
export async function signedCall(
  proxy: { url: string },
  standIn: { accessKeyId: string; secretAccessKey: string; sessionToken: string },
  call: {
    method: string;
    path: string;
    service: string;
    body?: string;
    signed?: Record<string, string>;
    unsigned?: Record<string, string>;
  },
): Promise<Response> {
  const url = new URL(call.path, proxy.url);
  const amzDate = toAmzDate(new Date());
  const body = new TextEncoder().encode(call.body ?? "");
  const headers = new Headers({
    ...call.signed,
    host: url.host,
    "x-amz-date": amzDate,
    "x-amz-security-token": standIn.sessionToken,
  });
  const auth = {
    accessKeyId: standIn.accessKeyId,
    date: amzDate.slice(0, 8),
    region: "us-east-1",
    service: call.service,
    signedHeaders: [...headers.keys()].sort(),
    signature: "",
  };
  const canonical = canonicalRequest({ method: call.method, url, headers, body }, auth);
  const signature = signString(
    standIn.secretAccessKey,
    stringToSign(canonical, amzDate, auth),
    auth,
  );
  headers.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${auth.accessKeyId}/${auth.date}/us-east-1/${call.service}/` +
      `aws4_request, SignedHeaders=${auth.signedHeaders.join(";")}, Signature=${signature}`,
  );
  headers.delete("host");
  for (const [name, value] of Object.entries(call.unsigned ?? {})) headers.set(name, value);
  return await fetch(url, {
    method: call.method,
    headers,
    body: call.body === undefined ? undefined : body,
  });
}
