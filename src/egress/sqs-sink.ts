// State messages to an SQS queue. On a FIFO queue (URL ending in .fifo) each message carries
// MessageDeduplicationId DEPLOYMENT.HOST.SEQ and MessageGroupId DEPLOYMENT.HOST, so a message sent
// again within SQS's 5-minute deduplication window is dropped by the queue; on a standard queue the
// same id travels as the message attribute `sallyport-dedup-id` and the consumer drops repeats.
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Sink } from './drain.ts';
import { EgressError } from './errors.ts';
import { uploadError } from './s3-sink.ts';
import { stateIdsOfBody } from './state.ts';

export interface SqsSinkOptions {
  queueUrl: string;
  region: string;
  /** Endpoint URL, e.g. a VPC interface endpoint; default: the region's. */
  endpoint?: string;
  requestTimeoutMs?: number;
  client?: SQSClient;
}

export const DEDUP_ATTRIBUTE = 'sallyport-dedup-id';

export class SqsSink implements Sink {
  readonly client: SQSClient;
  readonly fifo: boolean;
  readonly #url: string;

  constructor(o: SqsSinkOptions) {
    if (!/^https?:\/\/[^/\s]+\/\S+$/.test(o.queueUrl ?? ''))
      throw new EgressError(
        'EGRESS_INVALID_OPTIONS',
        `queue URL '${o.queueUrl}' is not an http(s) SQS queue URL`,
      );
    if (!o.region)
      throw new EgressError('EGRESS_INVALID_OPTIONS', 'an AWS region is required (--region or AWS_REGION)');
    this.#url = o.queueUrl;
    this.fifo = o.queueUrl.endsWith('.fifo');
    this.client =
      o.client ??
      new SQSClient({
        region: o.region,
        endpoint: o.endpoint,
        requestHandler: { requestTimeout: o.requestTimeoutMs ?? 30_000, connectionTimeout: 5_000 },
        maxAttempts: 2,
      });
  }

  async send(seq: number, body: Buffer, opts: { signal: AbortSignal }): Promise<void> {
    const { dedupId, groupId } = stateIdsOfBody(body);
    const cmd = new SendMessageCommand({
      QueueUrl: this.#url,
      MessageBody: body.toString('utf8'),
      ...(this.fifo
        ? { MessageDeduplicationId: dedupId, MessageGroupId: groupId }
        : { MessageAttributes: { [DEDUP_ATTRIBUTE]: { DataType: 'String', StringValue: dedupId } } }),
    });
    try {
      await this.client.send(cmd, { abortSignal: opts.signal });
    } catch (e) {
      throw uploadError(`SendMessage ${dedupId}`, e);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
