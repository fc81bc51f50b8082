// The story the lab tells, chapter by chapter, each step as events (events.ts):
//
//   1 enrol        the connector and the engineer's node enrol; the services are registered
//   2 request      alice (on call) asks for access with a reason; her own approval is refused
//     approve      bob (a second person, an approver) approves: the grant starts
//   3 certificate  alice's key is made locally; the coordinator signs her grant certificate
//     path         the engineer reaches the connector through the relay, then directly
//   4 query        an allowed query on system tables (or the demo's read API)
//     refused      a query on customer data, refused
//     prometheus   (if installed) a PromQL query, and an admin path refused
//     kubernetes   the recording API stub: pods listed, secrets refused
//   5 audit        the coordinator's log: chain and signed checkpoints verified with its key;
//                  the connector's local log: chain verified
//
// Each step emits `running`, then `ok` or `failed` with its detail; a failed step throws
// StepFailed and the story stops there.
import { auditStep } from './audit.ts';
import { approveStep, certificateStep, enrolStep, inboxStep, requestStep } from './chapter-access.ts';
import { pathStep } from './chapter-path.ts';
import { probeSteps } from './chapter-probes.ts';
import { REASON, StepFailed, type Detail, type StoryContext, type StoryState } from './cast.ts';
import type { Reporter } from './events.ts';

export { DEPLOYMENT, StepFailed, type StoryState } from './cast.ts';

/** Runs one step: `running`, then `ok` or `failed` (StepFailed). Any story's context (the --netns one too). */
export async function runStep<C extends { rep: Reporter }, S>(
  c: C,
  s: S,
  name: string,
  chapter: number,
  running: string,
  fn: (c: C, s: S, detail: Detail) => Promise<string>,
): Promise<void> {
  c.rep.emit(name, chapter, 'running', running);
  let detail: Record<string, unknown> | undefined;
  try {
    const msg = await fn(c, s, (v) => (detail = v));
    c.rep.emit(name, chapter, 'ok', msg, detail);
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    c.rep.emit(name, chapter, 'failed', m, detail);
    throw new StepFailed(name, m);
  }
}

export async function runStory(c: StoryContext, s: StoryState): Promise<void> {
  const enrol = 'the connector and the engineer node enrol with single-use pre-auth keys';
  await runStep(c, s, 'enrol', 1, enrol, enrolStep);
  await runStep(c, s, 'request', 2, `${c.alice.name} asks for access: "${REASON}"`, requestStep);
  await runStep(c, s, 'approve', 2, `${c.bob.name} (sre-leads) approves`, approveStep);
  const cert = 'key made on the engineer machine; CSR signed for the grant';
  await runStep(c, s, 'certificate', 3, cert, certificateStep);
  const path = 'the engineer node dials the connector (relay first, then a direct UDP path)';
  await runStep(c, s, 'path', 3, path, pathStep);
  for (const p of probeSteps(c.services)) await runStep(c, s, p.name, 4, p.running, p.fn);
  const audit = "the coordinator's audit log and the connector's local log are verified";
  await runStep(c, s, 'audit', 5, audit, auditStep);
  // after the story: something for the approver to find in the console
  await runStep(c, s, 'inbox', 6, 'a second request, left pending for the console', inboxStep);
}
