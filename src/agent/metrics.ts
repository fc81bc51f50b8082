// The agent's counters, in its own prom-client Registry (never the global one).
import { Counter, Registry } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly handshakesRefused = new Counter({
    name: 'sallyport_agent_handshakes_refused_total',
    help: 'Session messages from node keys not in the netmap, dropped before the session layer (I3)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly streamsAccepted = new Counter({
    name: 'sallyport_agent_streams_accepted_total',
    help: 'Incoming streams the router accepted',
    registers: [this.registry],
  });
  readonly streamsRefused = new Counter({
    name: 'sallyport_agent_streams_refused_total',
    help: 'Incoming streams the router refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly streamsCut = new Counter({
    name: 'sallyport_agent_streams_cut_total',
    help: 'Live streams cut because their grant ended',
    registers: [this.registry],
  });
  readonly streamBytes = new Counter({
    name: 'sallyport_agent_stream_bytes_total',
    help: 'Bytes through the router, by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly proxyRequests = new Counter({
    name: 'sallyport_agent_proxy_requests_total',
    help: 'SOCKS5 and local-forward connections, by result',
    labelNames: ['via', 'result'] as const,
    registers: [this.registry],
  });
  readonly controlRequests = new Counter({
    name: 'sallyport_agent_control_requests_total',
    help: 'Local control socket requests, by command',
    labelNames: ['command'] as const,
    registers: [this.registry],
  });

  /** A counter's value by labels, for status and tests. */
  static async value(c: Counter, labels: Record<string, string> = {}): Promise<number> {
    const v = await c.get();
    return v.values
      .filter((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val))
      .reduce((s, x) => s + x.value, 0);
  }
}
