// `sallyport login URL`: enrolls this machine's node key with the device flow: it shows a code that
// a signed-in user approves ('sallyport admin device approve CODE'), then remembers the coordinator.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { realClock } from '../clock/index.ts';
import { PublicKey } from '../crypto/index.ts';
import { ApiClient, ApiError, deviceStartBody } from '../control/index.ts';
import { loadOrCreateNodeKey, writeSettings } from '../agent/index.ts';
import { stateDir } from './agent-common.ts';
import { EXIT, apiFailure } from './exit.ts';

export const help = `usage: sallyport login URL --coordinator-key KEY [--ca FILE] [--state DIR] [--name NAME]
                       [--timeout SECONDS]

Enrolls this machine as an engineer node: creates the node key in the state directory (0600) if
needed, asks the coordinator at URL for a device code (proving it holds the node key with a MAC
keyed by the node key and the pinned coordinator key, so a wrong --coordinator-key is refused at
once), prints the user code to approve, and waits.
Once a signed-in user approves it ('sallyport admin device approve CODE'), the coordinator URL,
its pinned key and CA are saved in the state directory for 'sallyport agent'.

options:
  --coordinator-key KEY  the coordinator's channel key to pin (base64; printed by the coordinator)
  --ca FILE              PEM certificate(s) to trust for the coordinator's TLS
  --state DIR            state directory (env SALLYPORT_STATE; default ~/.sallyport)
  --name NAME            device name (default: the host name)
  --timeout SECONDS      give up after this long (default: the code's lifetime)
  --help                 this text

example:
  sallyport login https://coord.example.com:8443 --coordinator-key 3q2+7w...

exit codes: 0 approved, 1 expired or refused, 2 bad usage, 3 coordinator unreachable
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => realClock.setTimeout(r, ms));

export async function run(argv: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs({
      args: argv,
      options: {
        'coordinator-key': { type: 'string' },
        ca: { type: 'string' },
        state: { type: 'string' },
        name: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`sallyport login: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  const a = p.values;
  if (a.help) {
    process.stdout.write(help);
    return 0;
  }
  const url = p.positionals[0];
  const usage = (m: string): number => (process.stderr.write(`sallyport login: ${m}\n`), 2);
  if (!url || !/^https:\/\//.test(url) || p.positionals.length > 1)
    return usage('want one https:// coordinator URL');
  if (!a['coordinator-key']) return usage('--coordinator-key is required (the coordinator prints it)');
  try {
    PublicKey.fromBase64(a['coordinator-key']);
  } catch {
    return usage('--coordinator-key is not a base64 X25519 key');
  }
  const dir = stateDir(a.state);
  const name = a.name ?? hostname();
  try {
    const { key } = loadOrCreateNodeKey(dir);
    const api = new ApiClient({ server: url, ...(a.ca ? { ca: readFileSync(a.ca, 'utf8') } : {}) });
    // Prove the node key: a MAC over the coordinator's fresh challenge, keyed by X25519 with the
    // pinned coordinator key (a wrong --coordinator-key is refused here, before any code is shown).
    const { challenge } = await api.call<{ challenge: string }>('GET', '/api/v1/device/challenge');
    const start = await api.call<{
      deviceCode: string;
      userCode: string;
      verificationUri: string;
      expiresIn: number;
    }>(
      'POST',
      '/api/v1/device/start',
      deviceStartBody(key, PublicKey.fromBase64(a['coordinator-key']), challenge, name),
    );
    process.stdout.write(
      `To approve this device (${name}, key ${key.publicKey.fingerprint()}), a signed-in user runs:\n\n` +
        `  ${start.verificationUri.replace('CODE', start.userCode)}\n\n` +
        `user code: ${start.userCode}   (valid for ${start.expiresIn} s)\nwaiting for approval...\n`,
    );
    let polls = 0;
    const limit = realClock.now() + 1000 * (a.timeout ? Number(a.timeout) : start.expiresIn);
    for (;;) {
      const r = await api.call<{ status: string }>('POST', '/api/v1/device/poll', {
        deviceCode: start.deviceCode,
      });
      if (r.status === 'approved') break;
      if (r.status !== 'pending') {
        process.stderr.write(
          `sallyport login: the device code is ${r.status}: run 'sallyport login' again for a new code\n`,
        );
        return EXIT.FAILED;
      }
      const left = Math.ceil((limit - realClock.now()) / 1000);
      if (left <= 0) {
        process.stderr.write(
          "sallyport login: timed out waiting for approval: run 'sallyport login' again, and have the code approved sooner\n",
        );
        return EXIT.FAILED;
      }
      if (++polls % 30 === 0) process.stderr.write(`still waiting for approval (${left} s left)…\n`);
      await sleep(1000);
    }
    writeSettings(dir, {
      coordinator: url,
      coordinatorKey: a['coordinator-key'],
      ...(a.ca ? { ca: a.ca } : {}),
      name,
    });
    process.stdout.write(
      `approved. Start the node with: sallyport agent --state ${dir} --socks5 127.0.0.1:1055\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof ApiError && (e.code === 'PROOF' || e.code === 'CHALLENGE')) {
      process.stderr.write(
        `sallyport login: the coordinator refused this device's proof of its node key (${e.code}): ${e.message}\n` +
          "check --coordinator-key against the key 'sallyport coordinator' printed, then run 'sallyport login' again\n",
      );
      return EXIT.FAILED;
    }
    const f = apiFailure(e, url);
    process.stderr.write(`sallyport login: ${f?.message ?? (e as Error).message}\n`);
    return f?.code ?? EXIT.FAILED;
  }
}
