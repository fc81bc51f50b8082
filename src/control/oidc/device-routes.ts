// The CLI's sign-in through the identity provider (device authorization grant):
//
//   POST /api/v1/auth/device        a URL and code for a browser, and a handle to poll with
//   POST /api/v1/auth/device/poll   {handle}: waits (≤ POLL_WAIT_MS) for the person to finish
//
// This coordinator polls the provider itself; pending sign-ins live in this process (at most
// MAX_DEVICE), so the CLI must come back to the same coordinator (sticky).
import type { FastifyInstance } from 'fastify';
import { secret } from '../../store/base.ts';
import { ControlError } from '../errors.ts';
import { emptyBody, handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import { IdpRefused } from './idp.ts';
import { prune, type SsoContext } from './sso-context.ts';

const MAX_DEVICE = 1_000;
/** How long one device poll waits for the person before answering `pending`. */
export const POLL_WAIT_MS = 20_000;

type DeviceResult =
  | { status: 'approved'; token: string; expiresAt: number; user: string; groups: string[] }
  | { status: 'failed'; message: string };

interface DeviceSignIn {
  done: Promise<DeviceResult>;
  result?: DeviceResult;
  expires: number;
  abort: AbortController;
}

export function registerDeviceSignIn(app: FastifyInstance, sso: SsoContext): void {
  const { o } = sso;
  const devices = new Map<string, DeviceSignIn>();

  handle(app, routes.authDevice, { preValidation: emptyBody }, async (req, reply) => {
    const provider = sso.need();
    const wait = o.deviceGuard.waitMs(req.ip);
    if (wait > 0) {
      void reply.header('retry-after', String(Math.ceil(wait / 1000)));
      throw new ControlError('RATE_LIMITED', 'too many device sign-ins from this address; try again later');
    }
    prune(devices, sso.now());
    if (devices.size >= MAX_DEVICE)
      throw new ControlError('BUSY', 'too many device sign-ins waiting; try again in a minute', {
        retryable: true,
      });
    o.deviceGuard.started(req.ip);
    const d = await provider.deviceStart();
    const handleId = secret('spd_');
    const abort = new AbortController();
    const entry: DeviceSignIn = {
      expires: sso.now() + d.expires_in * 1000,
      abort,
      done: provider
        .devicePoll(d, abort.signal)
        .then((r) => sso.signIn(r))
        .then(
          (s): DeviceResult => ({
            status: 'approved',
            token: s.token,
            expiresAt: s.expiresAt,
            user: s.user.name,
            groups: s.groups,
          }),
          (e: Error): DeviceResult => ({
            status: 'failed',
            message: e instanceof ControlError || e instanceof IdpRefused ? e.message : 'the sign-in failed',
          }),
        )
        .then((r) => (entry.result = r)),
    };
    devices.set(handleId, entry);
    return {
      handle: handleId,
      userCode: d.user_code,
      verificationUri: d.verification_uri,
      verificationUriComplete: d.verification_uri_complete ?? null,
      expiresIn: d.expires_in,
    };
  });
  handle(app, routes.authDevicePoll, {}, async (req) => {
    const id = req.body.handle;
    const entry = devices.get(id);
    if (!entry || (entry.expires <= sso.now() && !entry.result))
      throw new ControlError(
        'NOT_FOUND',
        'no such device sign-in (it expired): start again with sallyport login',
      );
    let timer: { cancel(): void } | undefined;
    const waited = await Promise.race([
      entry.done,
      new Promise<undefined>((r) => {
        const t = o.clock.setTimeout(() => r(undefined), POLL_WAIT_MS);
        timer = { cancel: () => o.clock.clearTimeout(t) };
      }),
    ]);
    timer?.cancel();
    if (!waited) return { status: 'pending' as const };
    devices.delete(id);
    return waited;
  });
  app.addHook('onClose', async () => {
    for (const d of devices.values()) d.abort.abort();
    devices.clear();
  });
}
