// The customer's side of the lab: the services the connector serves. ClickHouse when it is
// installed (a private server), else a clearly labelled demo service; Prometheus when installed;
// always the Kubernetes API recording stub. The first service is the story's main one (chapter 4).
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { clickhouseService } from './customer-clickhouse.ts';
import { kubernetesService, prometheusService } from './customer-more.ts';
import { demoService } from './demo.ts';
import { clickhouseInstalled } from './servers/clickhouse.ts';
import type { LabService } from './service.ts';

export interface CustomerOptions {
  dir: string;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  /** Serve the demo service even when ClickHouse is installed. */
  demo: boolean;
  /** Called as each service comes up (progress). */
  started(s: LabService): void;
  /** Called when an optional server is not installed (progress). */
  skipped(what: string, why: string): void;
}

export class Customer {
  readonly services: LabService[] = [];

  /** Starts every service; on failure stops those already started and rethrows. */
  async start(o: CustomerOptions): Promise<void> {
    const add = (s: LabService): void => {
      this.services.push(s);
      o.started(s);
    };
    try {
      add(await this.#main(o));
      o.signal.throwIfAborted();
      const prom = await prometheusService(o).catch(
        (e: Error) => `could not start (${e.message}): not served`,
      );
      if (typeof prom === 'string') o.skipped('Prometheus', prom);
      else add(prom);
      o.signal.throwIfAborted();
      add(await kubernetesService(o));
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** ClickHouse if installed and it starts, else the demo service (saying why). */
  async #main(o: CustomerOptions): Promise<LabService> {
    if (o.demo) return demoService('--demo given');
    if (!clickhouseInstalled()) {
      o.skipped('ClickHouse', 'not installed (apt-get install clickhouse-server): serving a demo service');
      return demoService('ClickHouse is not installed');
    }
    try {
      return await clickhouseService(o);
    } catch (e) {
      o.signal.throwIfAborted();
      const why = (e as Error).message.split('\n')[0];
      o.skipped('ClickHouse', `installed but did not start (${why}): serving a demo service`);
      return demoService('ClickHouse did not start');
    }
  }

  async stop(): Promise<void> {
    for (const s of this.services.splice(0).reverse()) await s.stop().catch(() => {});
  }
}
