// What the story's steps share (story.ts runs them): the cast — the deployment, the connector,
// the engineer's node, the reason — the context every step gets, and the state they hand on.
import type { Agent } from '../agent/index.ts';
import type { ApiClient } from '../control/index.ts';
import type { ClientCert } from './client.ts';
import type { Reporter } from './events.ts';
import type { LabService } from './service.ts';
import type { LabUser, Topology } from './topology.ts';

export const DEPLOYMENT = 'acme-prod';
export const CONNECTOR = 'acme-prod-connector';
export const ENGINEER = 'alice-laptop';
export const REASON = 'INC-4711 slow queries on the customer cluster';

export class StepFailed extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StoryContext {
  topo: Topology;
  rep: Reporter;
  services: LabService[];
  alice: LabUser;
  bob: LabUser;
  dir: string;
  signal: AbortSignal;
}

/** What the steps hand on to each other, and what stays running for the console and the user. */
export interface StoryState {
  connector?: Agent;
  engineer?: Agent;
  aliceApi?: ApiClient;
  requestId?: string;
  grantId?: string;
  cert?: ClientCert;
  /** The request left pending for the console (after the story). */
  inboxRequestId?: string;
}

/** Sets the detail the step's ok/failed event carries. */
export type Detail = (v: Record<string, unknown>) => void;

/** One step: does its work, returns the line for people, throws when it went wrong. */
export type Step = (c: StoryContext, s: StoryState, detail: Detail) => Promise<string>;
