/**
 * The few S3 operations the local endpoint serves (REST-XML, path-style addressing, as SDKs use
 * it with an IP endpoint): CreateBucket, ListBuckets, DeleteBucket, ListObjects(V2), PutObject,
 * GetObject (ranges too), HeadObject, DeleteObject, CopyObject, and multipart uploads (Create,
 * UploadPart, UploadPartCopy, Complete, Abort). Bodies arrive decoded (see `aws_chunked.ts`); `Content-MD5` and
 * `x-amz-checksum-crc32` are checked as S3 checks them. Answers and errors are S3's own XML.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { AwsError } from "./aws_error.ts";
import { escapeXml } from "./xml.ts";

/** S3's XML namespace. */
export const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";
const MIN_PART_BYTES = 5 * 1024 * 1024;

interface StoredObject {
  body: Uint8Array;
  etag: string;
  lastModified: Date;
  headers: Record<string, string>;
}

interface Upload {
  key: string;
  parts: Map<number, { body: Uint8Array; etag: string }>;
  headers: Record<string, string>;
}

interface Bucket {
  name: string;
  accountId: string;
  region: string;
  created: Date;
  objects: Map<string, StoredObject>;
  uploads: Map<string, Upload>;
}

/** A request as the S3 handler sees it, once its signature was checked. */
export interface S3Request {
  method: string;
  url: URL;
  headers: Headers;
  /** The decoded body. */
  body: Uint8Array;
  /** The caller's account. */
  accountId: string;
  /** The region the request was signed for. */
  region: string;
  now: Date;
}

/**
 * The object `x-amz-copy-source` names, as S3 reads it: `[/]BUCKET/KEY[?versionId=ID]`,
 * URL-encoded (decoded whole, so `%2F` is a slash); `undefined` when it names none.
 */
export function copySourceOf(headers: Headers): { bucket: string; key: string } | undefined {
  const header = headers.get("x-amz-copy-source");
  if (header === null) return undefined;
  let text: string;
  try {
    text = decodeURIComponent(header.split("?")[0].replace(/^\//, ""));
  } catch {
    throw new AwsError("InvalidArgument", "Invalid copy source encoding");
  }
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1) {
    throw new AwsError("InvalidArgument", "Invalid copy source object key");
  }
  return { bucket: text.slice(0, slash), key: text.slice(slash + 1) };
}

/** The S3 operation a request names, and its bucket and key (decoded). */
export function s3Operation(method: string, url: URL, headers: Headers): {
  action: string;
  bucket: string;
  key: string;
} {
  const [, rawBucket = "", ...rest] = url.pathname.split("/");
  const bucket = decodeURIComponent(rawBucket);
  const key = decodeURIComponent(rest.join("/"));
  const q = url.searchParams;
  const op = (action: string) => ({ action, bucket, key });
  if (bucket === "") return op(method === "GET" ? "ListBuckets" : "Unknown");
  if (key === "") {
    if (method === "PUT") return op("CreateBucket");
    if (method === "DELETE") return op("DeleteBucket");
    if (method === "HEAD") return op("HeadBucket");
    if (method === "GET" && q.has("location")) return op("GetBucketLocation");
    if (method === "GET") return op(q.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects");
    return op("Unknown");
  }
  if (method === "POST" && q.has("uploads")) return op("CreateMultipartUpload");
  if (method === "PUT" && q.has("uploadId")) {
    return op(headers.has("x-amz-copy-source") ? "UploadPartCopy" : "UploadPart");
  }
  if (method === "POST" && q.has("uploadId")) return op("CompleteMultipartUpload");
  if (method === "DELETE" && q.has("uploadId")) return op("AbortMultipartUpload");
  if (method === "PUT" && headers.has("x-amz-copy-source")) return op("CopyObject");
  const objectOps: Record<string, string> = {
    PUT: "PutObject",
    GET: "GetObject",
    HEAD: "HeadObject",
    DELETE: "DeleteObject",
  };
  return op(objectOps[method] ?? "Unknown");
}

function xmlResponse(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    headers: { "content-type": "application/xml", ...headers },
  });
}

function md5(data: Uint8Array): Uint8Array {
  return createHash("md5").update(data).digest();
}

function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64(data: Uint8Array): string {
  return btoa(String.fromCharCode(...data));
}

/** S3's CRC32 checksum header value: the big-endian CRC32, base64. */
export function crc32Base64(data: Uint8Array): string {
  const value = crc32(data) >>> 0;
  return base64(
    new Uint8Array([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]),
  );
}

/** Checks the body's `Content-MD5` and `x-amz-checksum-crc32` headers as S3 does. */
export function checkDigests(headers: Headers, body: Uint8Array): void {
  const contentMd5 = headers.get("content-md5");
  if (contentMd5 !== null && contentMd5 !== base64(md5(body))) {
    throw new AwsError(
      "BadDigest",
      "The Content-MD5 you specified did not match what we received.",
    );
  }
  const crc = headers.get("x-amz-checksum-crc32");
  if (crc !== null && crc !== crc32Base64(body)) {
    throw new AwsError(
      "BadDigest",
      "The CRC32 you specified did not match the calculated checksum.",
    );
  }
}

const storedHeaderNames =
  /^(content-type|content-encoding|content-disposition|cache-control|x-amz-meta-.+)$/;

function storedHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!storedHeaderNames.test(name)) return;
    if (name === "content-encoding") {
      const rest = value.split(",").map((v) => v.trim()).filter((v) => v && v !== "aws-chunked");
      if (rest.length > 0) out[name] = rest.join(",");
      return;
    }
    out[name] = value;
  });
  return out;
}

/** The buckets of the local endpoint and the operations on them. */
export class LocalS3 {
  readonly #buckets = new Map<string, Bucket>();

  /** Every object's key in a bucket (for tests). */
  keys(bucket: string): string[] {
    return [...this.#buckets.get(bucket)?.objects.keys() ?? []];
  }

  /** Answers one authenticated request. */
  handle(request: S3Request): Response {
    const { action, bucket, key } = s3Operation(request.method, request.url, request.headers);
    if (action === "ListBuckets") return this.#listBuckets(request);
    if (action === "CreateBucket") return this.#createBucket(request, bucket);
    const found = this.#bucket(request, bucket);
    switch (action) {
      case "DeleteBucket":
        if (found.objects.size > 0) {
          throw new AwsError("BucketNotEmpty", "The bucket you tried to delete is not empty", 409);
        }
        this.#buckets.delete(bucket);
        return new Response(null, { status: 204 });
      case "HeadBucket":
        return new Response(null, { headers: { "x-amz-bucket-region": found.region } });
      case "GetBucketLocation":
        return xmlResponse(
          `<LocationConstraint xmlns="${S3_NAMESPACE}">${
            found.region === "us-east-1" ? "" : found.region
          }</LocationConstraint>`,
        );
      case "ListObjects":
      case "ListObjectsV2":
        return this.#listObjects(request, found, action === "ListObjectsV2");
      case "PutObject":
        return this.#putObject(request, found, key);
      case "GetObject":
      case "HeadObject":
        return this.#getObject(request, found, key);
      case "DeleteObject":
        found.objects.delete(key);
        return new Response(null, { status: 204 });
      case "CreateMultipartUpload":
        return this.#createUpload(request, found, key);
      case "UploadPart":
        return this.#uploadPart(request, found, key);
      case "CopyObject":
        return this.#copyObject(request, found, key);
      case "UploadPartCopy":
        return this.#uploadPart(request, found, key, this.#copied(request).body);
      case "CompleteMultipartUpload":
        return this.#completeUpload(request, found, key);
      case "AbortMultipartUpload":
        this.#upload(request, found);
        found.uploads.delete(request.url.searchParams.get("uploadId")!);
        return new Response(null, { status: 204 });
      default:
        throw new AwsError(
          "NotImplemented",
          "A header you provided implies functionality that is not implemented",
          501,
        );
    }
  }

  #bucket(request: S3Request, name: string): Bucket {
    const bucket = this.#buckets.get(name);
    if (bucket === undefined) {
      throw new AwsError("NoSuchBucket", "The specified bucket does not exist", 404);
    }
    if (bucket.accountId !== request.accountId) {
      throw new AwsError("AccessDenied", "Access Denied", 403);
    }
    return bucket;
  }

  #listBuckets(request: S3Request): Response {
    const mine = [...this.#buckets.values()].filter((b) => b.accountId === request.accountId)
      .sort((a, b) => a.name < b.name ? -1 : 1);
    const items = mine.map((b) =>
      `<Bucket><Name>${escapeXml(b.name)}</Name><CreationDate>${b.created.toISOString()}` +
      `</CreationDate></Bucket>`
    ).join("");
    return xmlResponse(
      `<ListAllMyBucketsResult xmlns="${S3_NAMESPACE}"><Owner><ID>${request.accountId}</ID>` +
        `</Owner><Buckets>${items}</Buckets></ListAllMyBucketsResult>`,
    );
  }

  #createBucket(request: S3Request, name: string): Response {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes("..")) {
      throw new AwsError("InvalidBucketName", "The specified bucket is not valid.");
    }
    const text = new TextDecoder().decode(request.body);
    const constraint = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(text)?.[1] ?? "";
    if ((constraint || "us-east-1") !== request.region) {
      throw new AwsError(
        "IllegalLocationConstraintException",
        constraint === ""
          ? "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
          : `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
      );
    }
    const existing = this.#buckets.get(name);
    if (existing !== undefined) {
      if (existing.accountId !== request.accountId) {
        throw new AwsError(
          "BucketAlreadyExists",
          "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
          409,
        );
      }
      // us-east-1 answers a repeated create by the owner with success, as it always has.
      if (request.region !== "us-east-1") {
        throw new AwsError(
          "BucketAlreadyOwnedByYou",
          "Your previous request to create the named bucket succeeded and you already own it.",
          409,
        );
      }
      return new Response(null, { headers: { location: `/${name}` } });
    }
    this.#buckets.set(name, {
      name,
      accountId: request.accountId,
      region: request.region,
      created: request.now,
      objects: new Map(),
      uploads: new Map(),
    });
    return new Response(null, { headers: { location: `/${name}` } });
  }

  #listObjects(request: S3Request, bucket: Bucket, v2: boolean): Response {
    const q = request.url.searchParams;
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const maxKeys = Math.min(1000, Number(q.get("max-keys") ?? "1000"));
    const after = v2
      ? (q.get("continuation-token")
        ? atob(q.get("continuation-token")!)
        : q.get("start-after") ?? "")
      : q.get("marker") ?? "";
    const encode = q.get("encoding-type") === "url"
      ? (text: string) => encodeURIComponent(text).replace(/%2F/g, "/")
      : (text: string) => text;
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const contents: string[] = [];
    const prefixes = new Set<string>();
    let last = "";
    let truncated = false;
    for (const key of keys) {
      if (contents.length + prefixes.size >= maxKeys) {
        truncated = true;
        break;
      }
      last = key;
      const cut = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        prefixes.add(key.slice(0, cut + delimiter.length));
        continue;
      }
      const object = bucket.objects.get(key)!;
      contents.push(
        `<Contents><Key>${
          escapeXml(encode(key))
        }</Key><LastModified>${object.lastModified.toISOString()}` +
          `</LastModified><ETag>${
            escapeXml(object.etag)
          }</ETag><Size>${object.body.length}</Size>` +
          `<StorageClass>STANDARD</StorageClass></Contents>`,
      );
    }
    const common = [...prefixes].map((p) =>
      `<CommonPrefixes><Prefix>${escapeXml(encode(p))}</Prefix></CommonPrefixes>`
    ).join("");
    const paging = v2
      ? `<KeyCount>${contents.length + prefixes.size}</KeyCount>` +
        (truncated ? `<NextContinuationToken>${btoa(last)}</NextContinuationToken>` : "")
      : `<Marker>${escapeXml(after)}</Marker>` +
        (truncated && delimiter ? `<NextMarker>${escapeXml(encode(last))}</NextMarker>` : "");
    return xmlResponse(
      `<ListBucketResult xmlns="${S3_NAMESPACE}"><Name>${escapeXml(bucket.name)}</Name>` +
        `<Prefix>${escapeXml(encode(prefix))}</Prefix>${paging}<MaxKeys>${maxKeys}</MaxKeys>` +
        (delimiter ? `<Delimiter>${escapeXml(encode(delimiter))}</Delimiter>` : "") +
        (q.get("encoding-type") === "url" ? "<EncodingType>url</EncodingType>" : "") +
        `<IsTruncated>${truncated}</IsTruncated>${contents.join("")}${common}</ListBucketResult>`,
    );
  }

  #putObject(request: S3Request, bucket: Bucket, key: string): Response {
    checkDigests(request.headers, request.body);
    const etag = `"${hex(md5(request.body))}"`;
    bucket.objects.set(key, {
      body: request.body,
      etag,
      lastModified: request.now,
      headers: storedHeaders(request.headers),
    });
    return new Response(null, { headers: { etag } });
  }

  #getObject(request: S3Request, bucket: Bucket, key: string): Response {
    const object = bucket.objects.get(key);
    if (object === undefined) {
      if (request.method === "HEAD") return new Response(null, { status: 404 });
      throw new AwsError("NoSuchKey", "The specified key does not exist.", 404);
    }
    const headers: Record<string, string> = {
      etag: object.etag,
      "last-modified": object.lastModified.toUTCString(),
      "accept-ranges": "bytes",
      "content-type": "binary/octet-stream",
      ...object.headers,
    };
    const size = object.body.length;
    let body = object.body;
    let status = 200;
    const range = request.headers.get("range");
    if (range !== null) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      let start = m && m[1] !== "" ? Number(m[1]) : m && m[2] !== "" ? size - Number(m[2]) : 0;
      let end = m && m[1] !== "" && m[2] !== "" ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (m === null || start >= size || start > end) {
        throw new AwsError("InvalidRange", "The requested range is not satisfiable", 416);
      }
      start = Math.max(0, start);
      end = Math.max(start, end);
      body = object.body.subarray(start, end + 1);
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["content-length"] = String(body.length);
    return new Response(request.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, {
      status,
      headers,
    });
  }

  #createUpload(request: S3Request, bucket: Bucket, key: string): Response {
    const uploadId = crypto.randomUUID().replace(/-/g, "");
    bucket.uploads.set(uploadId, {
      key,
      parts: new Map(),
      headers: storedHeaders(request.headers),
    });
    return xmlResponse(
      `<InitiateMultipartUploadResult xmlns="${S3_NAMESPACE}"><Bucket>${escapeXml(bucket.name)}` +
        `</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId>` +
        `</InitiateMultipartUploadResult>`,
    );
  }

  #upload(request: S3Request, bucket: Bucket): Upload {
    const upload = bucket.uploads.get(request.url.searchParams.get("uploadId") ?? "");
    if (upload === undefined) {
      throw new AwsError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        404,
      );
    }
    return upload;
  }

  /** The object `x-amz-copy-source` names (in a bucket of the caller's). */
  #copied(request: S3Request): StoredObject {
    const source = copySourceOf(request.headers)!;
    const object = this.#bucket(request, source.bucket).objects.get(source.key);
    if (object === undefined) {
      throw new AwsError("NoSuchKey", "The specified key does not exist.", 404);
    }
    return object;
  }

  #copyObject(request: S3Request, bucket: Bucket, key: string): Response {
    const source = this.#copied(request);
    const replace = request.headers.get("x-amz-metadata-directive") === "REPLACE";
    bucket.objects.set(key, {
      body: source.body,
      etag: source.etag,
      lastModified: request.now,
      headers: replace ? storedHeaders(request.headers) : source.headers,
    });
    return xmlResponse(
      `<CopyObjectResult xmlns="${S3_NAMESPACE}"><LastModified>${request.now.toISOString()}` +
        `</LastModified><ETag>${escapeXml(source.etag)}</ETag></CopyObjectResult>`,
    );
  }

  #uploadPart(request: S3Request, bucket: Bucket, key: string, copied?: Uint8Array): Response {
    const upload = this.#upload(request, bucket);
    const number = Number(request.url.searchParams.get("partNumber"));
    if (!Number.isInteger(number) || number < 1 || number > 10000 || upload.key !== key) {
      throw new AwsError(
        "InvalidArgument",
        "Part number must be an integer between 1 and 10000, inclusive",
      );
    }
    if (copied !== undefined) {
      const range = /^bytes=(\d+)-(\d+)$/.exec(
        request.headers.get("x-amz-copy-source-range") ?? "",
      );
      const body = range ? copied.subarray(Number(range[1]), Number(range[2]) + 1) : copied;
      const etag = `"${hex(md5(body))}"`;
      upload.parts.set(number, { body, etag });
      return xmlResponse(
        `<CopyPartResult xmlns="${S3_NAMESPACE}"><LastModified>${request.now.toISOString()}` +
          `</LastModified><ETag>${escapeXml(etag)}</ETag></CopyPartResult>`,
      );
    }
    checkDigests(request.headers, request.body);
    const etag = `"${hex(md5(request.body))}"`;
    upload.parts.set(number, { body: request.body, etag });
    return new Response(null, { headers: { etag } });
  }

  #completeUpload(request: S3Request, bucket: Bucket, key: string): Response {
    const upload = this.#upload(request, bucket);
    const text = new TextDecoder().decode(request.body);
    const listed = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, part]) => ({
      number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(part)?.[1]),
      etag: (/<ETag>([^<]*)<\/ETag>/.exec(part)?.[1] ?? "").replace(/&quot;/g, '"'),
    }));
    if (listed.length === 0) {
      throw new AwsError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
      );
    }
    const parts = listed.map((item, index) => {
      if (index > 0 && item.number <= listed[index - 1].number) {
        throw new AwsError(
          "InvalidPartOrder",
          "The list of parts was not in ascending order. Parts must be ordered by part number.",
        );
      }
      const part = upload.parts.get(item.number);
      if (part === undefined || part.etag.replace(/"/g, "") !== item.etag.replace(/"/g, "")) {
        throw new AwsError(
          "InvalidPart",
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        );
      }
      if (index < listed.length - 1 && part.body.length < MIN_PART_BYTES) {
        throw new AwsError(
          "EntityTooSmall",
          "Your proposed upload is smaller than the minimum allowed size",
        );
      }
      return part;
    });
    const body = new Uint8Array(parts.reduce((n, p) => n + p.body.length, 0));
    let offset = 0;
    for (const part of parts) {
      body.set(part.body, offset);
      offset += part.body.length;
    }
    const digests = new Uint8Array(parts.flatMap((p) => [...md5(p.body)]));
    const etag = `"${hex(md5(digests))}-${parts.length}"`;
    bucket.objects.set(key, { body, etag, lastModified: request.now, headers: upload.headers });
    bucket.uploads.delete(request.url.searchParams.get("uploadId")!);
    return xmlResponse(
      `<CompleteMultipartUploadResult xmlns="${S3_NAMESPACE}"><Location>/${
        escapeXml(bucket.name)
      }/` +
        `${escapeXml(key)}</Location><Bucket>${escapeXml(bucket.name)}</Bucket><Key>${
          escapeXml(key)
        }` +
        `</Key><ETag>${escapeXml(etag)}</ETag></CompleteMultipartUploadResult>`,
    );
  }
}

/** S3's error body. */
export function s3ErrorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message><RequestId>${escapeXml(requestId)}</RequestId>` +
    `</Error>`;
}
