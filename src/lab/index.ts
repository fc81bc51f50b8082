// `sallyport lab`: the whole BYOC story on one machine (issue 8). Starts a coordinator (with the
// console), a relay, a customer deployment (a connector in front of ClickHouse or a demo service,
// Prometheus, the Kubernetes API stub) and an engineer node, then tells the story (story.ts) and
// stays up until Ctrl-C — or, with --once, exits with the outcome. With --netns (root) every party
// runs as the real CLI in its own network namespace behind real NAT instead (nat-lab.ts).
//
//   parse flags ─► lab dir ─► topology (relay, coordinator) ─► users, policy, deployment
//      ─► customer services ─► story 1–5 ─► ready (console URL, users) ─► wait for a signal
//      ─► stop agents, coordinator, relay, servers (children by PID) ─► exit code
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { realClock, type Clock } from '../clock/index.ts';
import { setupAccounts } from './accounts.ts';
import { Customer } from './customer.ts';
import { Reporter } from './events.ts';
import { readyLines } from './ready.ts';
import { LabUsageError, parseLabArgs, type LabOptions } from './options.ts';
import { netnsLabMissing, runNatLab } from './nat-lab.ts';
import { StepFailed, runStory, type StoryState } from './story.ts';
import { LAB_REGION, Topology } from './topology.ts';
import { untilSignal } from './wait.ts';

export const LAB_HELP = `usage: sallyport lab [--dir DIR] [--port N] [--json] [--once] [--demo] [--netns]

Runs the whole story on this machine, on loopback, with embedded defaults (SQLite, self-signed
listeners, a lab directory): a coordinator with the console, a relay, a customer deployment
"acme-prod" whose connector serves ClickHouse (a private server, if clickhouse-server is installed;
otherwise a clearly labelled demo service), Prometheus (if installed) and a Kubernetes API recording
stub, and an engineer node with a SOCKS5 proxy. Then it tells the story:

  1. enrolment, and the services registered
  2. alice asks for access with a reason; bob, a second person, approves
  3. alice's client certificate (key made locally), and the path: relay, then direct
  4. a query on system tables, then a refused query on customer data (and a PromQL query with an
     admin path refused; pods listed and secrets refused by the Kubernetes target)
  5. the audit log verified (hash chain and signed checkpoints)

Afterwards it stays up, prints the console URL and the lab users' passwords, and stops everything
it started on Ctrl-C (SIGINT) or SIGTERM.

options:
  --dir DIR     lab directory (state, logs, the engineer's certificate, the audit export); it must be
                empty or absent. Default: a fresh temporary directory, removed at exit unless a step failed
  --port N      the coordinator's HTTPS port on 127.0.0.1 (the console's); default any free port
  --json        print the story as events, one JSON object per line:
                {"step":"enrol","chapter":1,"status":"ok","message":"…","detail":{…},"t":812}
                (status running, ok, failed or info; t in ms since the start)
  --once        run the story and exit: 0 when every step went as expected, else 1 naming the step
  --demo        serve the demo service even when ClickHouse is installed
  --netns       (root) each party in its own network namespace behind real NAT, as the real CLI:
                the vendor (coordinator, relay with STUN), the customer (the services and the
                connector, behind a NAT router; the namespace drops every unsolicited inbound
                connection) and the engineer (agent with SOCKS5, curl, behind its own NAT). The
                console is reached from this host over a veth to the vendor namespace (the URL is
                printed). Names start spl-<pid>; all is removed at exit. Needs ip, nft and curl.
                --port is then the coordinator's port inside the vendor namespace (default 8443)

examples:
  npm start                                  # the same as: npx sallyport lab
  sallyport lab --port 8443                  # then open https://127.0.0.1:8443/console/
  sallyport lab --once --json | jq -c '{step, status}'
  sallyport lab --dir ./lab                  # keep the state and the logs (./lab/lab.log)
  sudo npx sallyport lab --netns             # every party behind NAT in its own namespace

exit codes: 0 story complete (and, without --once, stopped by a signal), 1 a step failed,
            2 bad usage (also --netns without root), 130 interrupted before the story ended
`;

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processIo: Io = {
  out: (l) => void process.stdout.write(l + '\n'),
  err: (l) => void process.stderr.write(l + '\n'),
};

function labDir(o: LabOptions): { dir: string; temporary: boolean } {
  if (!o.dir) return { dir: mkdtempSync(join(tmpdir(), 'sallyport-lab-')), temporary: true };
  const dir = resolve(o.dir);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new LabUsageError(`--dir ${o.dir} is not empty: give a new or empty directory`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { dir, temporary: false };
}

function fileLogger(dir: string): Logger {
  return pino(
    { level: process.env.SALLYPORT_LOG_LEVEL ?? 'info', base: undefined },
    pino.destination({ dest: join(dir, 'lab.log'), sync: true, mode: 0o600 }),
  );
}

/** What a lab body (one process on loopback, or --netns) is given by runLab. */
export interface LabRun {
  o: LabOptions;
  dir: string;
  rep: Reporter;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
  /** PIDs to SIGKILL if the lab exits before its clean-up ran. */
  children: Set<number>;
  /** Clean-up, run (last registered first) after the body, whatever happened. */
  onStop(fn: () => Promise<void>): void;
}

export async function runLab(argv: string[], io: Io = processIo): Promise<number> {
  let o: LabOptions;
  let where: { dir: string; temporary: boolean };
  try {
    o = parseLabArgs(argv);
    if (o.netns) {
      const missing = netnsLabMissing();
      if (missing) {
        io.err(
          `sallyport lab --netns: ${missing}.\n` +
            'Run it as root (e.g. sudo npx sallyport lab --netns), or run `sallyport lab` without --netns:\n' +
            'every party then runs on loopback in one process.',
        );
        return 2;
      }
    }
    where = labDir(o);
  } catch (e) {
    if (e instanceof LabUsageError) {
      io.err(`sallyport lab: ${e.message}\nRun 'sallyport lab --help'.`);
      return 2;
    }
    throw e;
  }
  const clock = realClock;
  const rep = new Reporter({ json: o.json, out: io.out, clock });
  const logger = fileLogger(where.dir);
  const ctl = new AbortController();
  const children = new Set<number>();
  const killChildren = (): void => {
    for (const pid of children)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
  };
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      rep.emit('stop', 6, 'info', `${sig}: stopping everything the lab started`);
      ctl.abort(new Error(sig));
    } else {
      io.err('sallyport lab: second signal: stopping children now');
      killChildren();
      // (--netns: the namespaces' own exit handler kills what runs in them and deletes them)
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killChildren);
  const stops: (() => Promise<void>)[] = [];
  const run: LabRun = {
    o,
    dir: where.dir,
    rep,
    logger,
    clock,
    signal: ctl.signal,
    children,
    onStop: (fn) => void stops.push(fn),
  };
  let code = 0;
  try {
    await (o.netns ? runNatLab(run) : runLoopbackLab(run));
  } catch (e) {
    if (ctl.signal.aborted) code = 130;
    else if (e instanceof StepFailed) {
      code = 1;
      io.err(
        `sallyport lab: step '${e.step}' failed: ${e.message}\n  log: ${join(where.dir, o.netns ? 'logs' : 'lab.log')}`,
      );
    } else {
      code = 1;
      const msg = (e as Error).message;
      const hint = /EADDRINUSE/.test(msg)
        ? `\n  port ${o.port} is taken: choose another --port, or omit --port for any free one`
        : '';
      rep.emit('setup', 0, 'failed', msg);
      io.err(
        `sallyport lab: could not start: ${msg}${hint}\n  log: ${join(where.dir, o.netns ? 'logs' : 'lab.log')}`,
      );
    }
  } finally {
    for (const fn of stops.reverse()) await fn().catch(() => {});
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killChildren);
    rep.emit('done', 6, code === 0 ? 'ok' : 'failed', code === 0 ? 'stopped cleanly' : `exit code ${code}`, {
      exitCode: code,
    });
    logger.flush();
    if (where.temporary && code === 0) rmSync(where.dir, { recursive: true, force: true });
  }
  return code;
}

/** Every party in this process, on loopback. */
async function runLoopbackLab(x: LabRun): Promise<void> {
  const { o, rep, clock, logger, signal, dir } = x;
  const customer = new Customer();
  x.onStop(() => customer.stop());
  const state: StoryState = {};
  rep.emit('setup', 0, 'running', `lab directory ${dir}; starting the coordinator and a relay`);
  // (it stops what it started when it fails)
  const topo = await Topology.start({ dir, port: o.port, clock, logger, signal });
  x.onStop(() => topo.stop());
  const users = await setupAccounts(topo.admin);
  rep.emit(
    'setup',
    0,
    'ok',
    `coordinator ${topo.coordinator.url} (console at /console/), relay ${LAB_REGION} ${topo.relayUrl}`,
    { dir, coordinator: topo.coordinator.url, console: topo.consoleUrl, log: join(dir, 'lab.log') },
  );
  rep.emit('services', 0, 'running', "starting the customer's services");
  await customer.start({
    dir,
    clock,
    logger,
    signal,
    demo: o.demo,
    started: (s) => {
      if (s.pid !== undefined) x.children.add(s.pid);
      rep.emit('services', 0, 'info', `${s.spec.name}: ${s.label}`);
    },
    skipped: (what, why) => rep.emit('services', 0, 'info', `${what}: ${why}`),
  });
  rep.emit('services', 0, 'ok', customer.services.map((s) => s.spec.name).join(', '), {
    services: customer.services.map((s) => ({
      name: s.spec.name,
      kind: s.spec.kind,
      serves: s.label,
      demo: s.demo,
    })),
  });
  await runStory(
    { topo, rep, services: customer.services, alice: users.alice, bob: users.bob, dir, signal },
    state,
  );
  const consoleAnswers = await topo
    .anonymous()
    .raw('GET', '/console/')
    .then((r) => r.status)
    .catch(() => 0);
  const creds = [users.alice, users.bob, topo.adminUser].map((u) => ({ user: u.name, password: u.password }));
  rep.emit('ready', 6, 'ok', `the story is complete; console ${topo.consoleUrl}`, {
    console: topo.consoleUrl,
    consoleHttpStatus: consoleAnswers,
    users: creds,
    grant: state.grantId,
    pendingRequest: state.inboxRequestId ?? null,
    socks5: state.engineer?.socksAddress ?? null,
    dir,
  });
  if (o.once) return;
  const main = customer.services[0];
  const tailnetName = state.engineer?.netmap?.services.find((s) => s.name === main?.spec.name)?.tailnetName;
  for (const l of readyLines({
    consoleUrl: topo.consoleUrl,
    consoleStatus: consoleAnswers,
    dir,
    users: { ...users, admin: topo.adminUser },
    socks5: state.engineer?.socksAddress,
    pending: state.inboxRequestId,
    main: main && tailnetName ? { service: main, tailnetName } : undefined,
  }))
    rep.say(l);
  await untilSignal(signal);
}
