// Pieces shared by the agent's commands (agent, login, connect, status).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ctlRequest, socketPath, type CtlRequest } from '../agent/index.ts';
import { Failed, type FlagTable, type ReportOptions } from './kit/index.ts';

/** --state DIR, as the commands that talk to the running agent declare it. */
export const STATE_FLAG = {
  state: {
    type: 'string',
    value: 'DIR',
    env: 'SALLYPORT_STATE',
    help: "the agent's state directory (env SALLYPORT_STATE; default ~/.sallyport)",
  },
} as const satisfies FlagTable;

/** The error printer's options for commands that ask the agent: no agent answering is a failure (exit 1). */
export const AGENT_ERRORS: ReportOptions = { failedCodes: ['AGENT_CONTROL'] };

/**
 * Asks the running agent of `state` (its control socket) and returns its reply; Failed with its
 * message when it refuses, AgentError AGENT_CONTROL when none answers (see AGENT_ERRORS).
 */
export async function askAgent(
  state: string,
  req: CtlRequest,
  onProgress?: (p: unknown) => void,
): Promise<Record<string, unknown>> {
  const { reply, socket } = await ctlRequest(socketPath(state), req, onProgress);
  socket.destroy();
  if (!reply.ok) throw new Failed(reply.message);
  return reply;
}

/** The state directory: --state, else $SALLYPORT_STATE, else ~/.sallyport. */
export function stateDir(flag: string | undefined): string {
  return flag ?? process.env.SALLYPORT_STATE ?? join(homedir(), '.sallyport');
}

export { untilStopped } from './signals.ts';
