// Usage records to an S3 bucket: one PutObject per record under its idempotent key, so sending a
// record again (after a lost answer or a kill -9) writes the same bytes under the same key.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Sink } from './drain.ts';
import { EgressError } from './errors.ts';

export interface S3SinkOptions {
  bucket: string;
  /** AWS region (e.g. eu-west-1). */
  region: string;
  /** Endpoint URL, e.g. a VPC interface endpoint (https://bucket.vpce-….s3.eu-west-1.vpce.amazonaws.com); default: the region's. */
  endpoint?: string;
  /** Path-style addressing (endpoint/bucket/key); needed by most S3 stand-ins. Default false. */
  forcePathStyle?: boolean;
  /** The object key of a record (e.g. usageKeyOfBody). */
  keyOf: (body: Buffer) => string;
  /** Per-request timeout (default 30 000 ms). */
  requestTimeoutMs?: number;
  /** A client to use instead (tests). Credentials otherwise come from the SDK's default chain. */
  client?: S3Client;
}

/** An upload failure, as a retryable EGRESS_UPLOAD error that names the cause but no secret. */
export function uploadError(what: string, e: unknown): EgressError {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err?.$metadata?.httpStatusCode;
  return new EgressError(
    'EGRESS_UPLOAD',
    `${what}: ${err?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${err?.message ?? String(e)}`,
    { cause: e, retryable: true },
  );
}

export class S3Sink implements Sink {
  readonly client: S3Client;
  readonly #o: S3SinkOptions;

  constructor(o: S3SinkOptions) {
    if (!o.bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket))
      throw new EgressError('EGRESS_INVALID_OPTIONS', `bucket '${o.bucket}' is not an S3 bucket name`);
    if (!o.region)
      throw new EgressError('EGRESS_INVALID_OPTIONS', 'an AWS region is required (--region or AWS_REGION)');
    if (o.endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(o.endpoint))
      throw new EgressError(
        'EGRESS_INVALID_OPTIONS',
        `endpoint '${o.endpoint}' is not an http(s)://host[:port] URL`,
      );
    this.#o = o;
    this.client =
      o.client ??
      new S3Client({
        region: o.region,
        endpoint: o.endpoint,
        forcePathStyle: o.forcePathStyle ?? false,
        // a plain PUT with Content-Length and Content-MD5-free body: no aws-chunked framing
        requestChecksumCalculation: 'WHEN_REQUIRED',
        requestHandler: { requestTimeout: o.requestTimeoutMs ?? 30_000, connectionTimeout: 5_000 },
        maxAttempts: 2,
      });
  }

  async send(_seq: number, body: Buffer, opts: { signal: AbortSignal }): Promise<void> {
    const key = this.#o.keyOf(body);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.#o.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
        }),
        { abortSignal: opts.signal },
      );
    } catch (e) {
      throw uploadError(`PutObject s3://${this.#o.bucket}/${key}`, e);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
