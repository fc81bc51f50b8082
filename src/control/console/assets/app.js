// sallyport console: the page's only script (an ES module served as is: no build step, no
// dependencies, no inline code, so the Content-Security-Policy can forbid inline script).
//
// It talks to the coordinator's JSON API (/api/v1) with the session cookie, which it cannot read
// (HttpOnly); every state-changing call carries the session's CSRF token in `x-csrf-token`. It
// renders with DOM calls and textContent only (never HTML from data). Times come from the
// coordinator's clock (GET /console/session `now`) advanced by the page's monotonic clock, so a
// wrong clock on the reader's machine does not skew the countdowns. This is browser code: the
// Node rule "take a Clock" does not apply here; the page's own timers are the ones below.
/* global history, document, window, fetch, performance, setInterval, clearInterval, setTimeout, clearTimeout, Node, EventSource, URLSearchParams, Blob */

const POLL_MS = 5000;
/** With the event stream open, lists reload on its events; this slow poll only catches the rest. */
const LIVE_POLL_MS = 30_000;
const AUDIT_ROWS = 25;

const $ = (id) => document.getElementById(id);

const state = {
  session: null,
  clockBase: 0,
  perfBase: 0,
  poll: 0,
  tick: 0,
  polling: false,
  rendered: new Map(),
  decidable: 0,
  deployments: new Set(),
  refreshGrantsAt: 0,
  customer: null,
  events: null,
  live: false,
  eventTimer: 0,
  lastPoll: 0,
};

// ── helpers ─────────────────────────────────────────────────────────────────────────────────

class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const serverNow = () => state.clockBase + (performance.now() - state.perfBase);

async function call(method, path, body, retried = false) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.session) headers['x-csrf-token'] = state.session.csrf;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    // The coordinator restarted (new CSRF key) or the token went stale: fetch it again, retry once.
    if (res.status === 403 && e.code === 'CSRF' && state.session && !retried) {
      const s = await call('GET', '/console/session');
      state.session = { ...state.session, csrf: s.csrf };
      return call(method, path, body, true);
    }
    // REAUTH: the session is fine but too old for this action (approving): fail() offers a fresh sign-in.
    if (res.status === 401 && state.session && e.code !== 'REAUTH')
      showSignIn('Your session ended: sign in again.');
    throw new ApiFailure(res.status, e.code || `HTTP_${res.status}`, e.message || res.statusText);
  }
  return data;
}

/** Creates an element: props are attributes, `class`, `text`, or `on<event>` listeners. */
function el(tag, props = {}, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat(Infinity))
    if (c !== null && c !== undefined && c !== false) n.append(c instanceof Node ? c : String(c));
  return n;
}

/** Replaces the children of `id`, unless what it shows has not changed (keeps focus and reading place). */
function show(id, signature, build) {
  if (state.rendered.get(id) === signature) return;
  state.rendered.set(id, signature);
  const box = $(id);
  const focused = document.activeElement;
  const inside = focused !== null && box.contains(focused);
  box.replaceChildren(...[build()].flat());
  if (!inside) return;
  // The focused control went with the old content: focus its twin (same id) or the section heading.
  const twin = focused.id ? $(focused.id) : null;
  const heading = box.closest('section') && box.closest('section').querySelector('h2');
  if (twin) twin.focus();
  else if (heading) heading.focus();
}

const utc = (ms) =>
  ms === null || ms === undefined ? '—' : new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';

function left(ms) {
  if (ms <= 0) return 'ended';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${two(m)}m ${two(sec)}s`;
  if (m > 0) return `${m}m ${two(sec)}s`;
  return `${sec}s`;
}

function duration(ms) {
  const m = Math.round(ms / 60000);
  return m >= 60 ? `${Math.floor(m / 60)}h${m % 60 ? ` ${m % 60}m` : ''}` : `${m}m`;
}

function announce(text) {
  const live = $('live');
  live.textContent = '';
  // A new text node after clearing makes screen readers read a repeated message again.
  live.append(text);
}

function fail(e, where) {
  const msg = e instanceof ApiFailure ? `${e.message} (${e.code})` : String(e && e.message ? e.message : e);
  $('app-error').textContent = `${where}: ${msg}`;
  if (e instanceof ApiFailure && e.code === 'REAUTH') {
    const back = `/console/${document.location.hash || '#approvals'}`;
    const link =
      state.session && state.session.signIn && state.session.signIn.method === 'oidc'
        ? el('a', {
            href: `/console/sso/start?fresh=1&return=${encodeURIComponent(back)}`,
            text: 'Sign in again',
          })
        : el('button', { type: 'button', text: 'Sign in again', onclick: () => void signOut() });
    $('app-error').append(' ', link);
  }
}

function facts(pairs) {
  return el(
    'dl',
    { class: 'facts' },
    pairs.map(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]),
  );
}

const table = (caption, heads, rows) =>
  el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      {},
      el('caption', { text: caption }),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          heads.map((h) => el('th', { scope: 'col', text: h })),
        ),
      ),
      el('tbody', {}, rows),
    ),
  );

const needsAdmin = (what) =>
  el('p', { class: 'hint', text: `${what} are shown to administrators of the coordinator.` });

async function act(button, work) {
  button.disabled = true;
  $('app-error').textContent = '';
  try {
    await work();
  } catch (e) {
    fail(e, button.textContent);
    announce(`${button.textContent} failed: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

// ── session ─────────────────────────────────────────────────────────────────────────────────

function setSession(s) {
  state.session = s;
  state.clockBase = s.now;
  state.perfBase = performance.now();
  state.customer = s.customer || null;
  const role = state.customer ? 'customer' : 'vendor';
  for (const e of document.querySelectorAll('[data-role]')) e.hidden = e.dataset.role !== role;
  for (const e of document.querySelectorAll('[data-admin]')) if (!s.user.admin) e.hidden = true;
  $('app-h').textContent = state.customer
    ? `Customer portal · ${state.customer.name || state.customer.deployments.join(', ')}`
    : 'Access';
  const who = `${s.user.name}${s.user.admin ? ' (administrator)' : ''}`;
  const tag = state.customer ? `${who} · customer of ${state.customer.deployments.join(', ')}` : who;
  $('who-name').textContent = !state.customer && s.groups.length ? `${tag} · ${s.groups.join(', ')}` : tag;
  $('who').hidden = false;
  $('signin').hidden = true;
  $('app').hidden = false;
}

function showSignIn(message) {
  stopTimers();
  state.session = null;
  state.rendered.clear();
  state.deployments.clear();
  state.decidable = 0;
  // Nothing of the last person's view stays in the page.
  for (const id of [
    'approvals-list',
    'controls-list',
    'history-list',
    'grants-list',
    'audit-state',
    'audit-list',
    'deployments-list',
    'peers-list',
  ])
    $(id).replaceChildren();
  for (const id of ['app-error', 'request-result', 'who-name']) $(id).textContent = '';
  $('who').hidden = true;
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('signin-user').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const button = ev.submitter || $('signin-form').querySelector('button');
  button.disabled = true;
  $('signin-error').textContent = '';
  try {
    const s = await call('POST', '/console/session', {
      user: $('signin-user').value.trim(),
      password: $('signin-password').value,
    });
    $('signin-password').value = '';
    setSession(s);
    $('app-h').focus();
    announce(`Signed in as ${s.user.name}.`);
    await start();
    await route();
  } catch (e) {
    $('signin-error').textContent = e.message || 'sign-in failed';
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try {
    await call('DELETE', '/console/session');
  } catch {
    // Signed out here either way; the cookie ends with its session at the latest.
  } finally {
    showSignIn('');
    announce('Signed out.');
  }
}

// ── approvals ───────────────────────────────────────────────────────────────────────────────

async function loadApprovals() {
  const me = state.session.user.name;
  const groups = state.session.groups;
  const [requests, extensions] = await Promise.all([
    call('GET', '/api/v1/requests?status=pending'),
    call('GET', '/api/v1/extensions?status=pending'),
  ]);
  for (const r of requests) state.deployments.add(r.deployment);
  const items = [
    ...requests.map((r) => ({ kind: 'request', r })),
    ...extensions.map((r) => ({ kind: 'extension', r })),
  ];
  const approverOf = (r) =>
    groups.includes(r.rules.approval.group) || (r.rules.customer && groups.includes(r.rules.customer.group));
  const decidable = items.filter(
    ({ r }) => r.requester !== me && approverOf(r) && !r.approvals.some((a) => a.by === me),
  );
  const mine = items.filter(({ r }) => r.requester === me);
  const n = decidable.length;
  if (n > state.decidable)
    announce(`${n} request${n === 1 ? '' : 's'} wait${n === 1 ? 's' : ''} for your decision.`);
  state.decidable = n;
  show('approvals-list', JSON.stringify([decidable, mine]), () => {
    if (!decidable.length && !mine.length)
      return el('p', { class: 'hint', text: 'Nothing is waiting for a decision.' });
    return [...decidable.map((x) => decisionCard(x, 'decide')), ...mine.map((x) => decisionCard(x, 'mine'))];
  });
}

/** A pending access request or extension request: decide it, or (your own) cancel it. */
function decisionCard({ kind, r }, role) {
  const h = `${kind}-${r.id}-h`;
  const base = `/api/v1/${kind === 'request' ? 'requests' : 'extensions'}/${encodeURIComponent(r.id)}`;
  const what =
    kind === 'request'
      ? `the request of ${r.requester} for ${r.deployment}`
      : `the extension asked by ${r.requester}`;
  const need = [
    `${r.rules.approval.threshold} from ${r.rules.approval.group}`,
    r.rules.customer ? `${r.rules.customer.threshold} from ${r.rules.customer.group}` : null,
  ]
    .filter(Boolean)
    .join(' and ');
  const actions = el('div', { class: 'actions' });
  if (role === 'decide') {
    const reasonId = `deny-${kind}-${r.id}`;
    const approve = el('button', {
      type: 'button',
      'aria-describedby': h,
      text: 'Approve',
      onclick: () =>
        act(approve, async () => {
          await call('POST', `${base}/approve`, {});
          announce(`Approved ${what}.`);
          await refresh(['approvals', 'grants', 'audit']);
        }),
    });
    const reason = el('input', { id: reasonId, maxlength: 500 });
    const deny = el('button', {
      type: 'button',
      class: 'danger',
      'aria-describedby': h,
      text: 'Deny',
      onclick: () =>
        act(deny, async () => {
          if (!reason.value.trim()) {
            reason.focus();
            throw new Error('write the reason for the denial first');
          }
          await call('POST', `${base}/deny`, { reason: reason.value.trim() });
          announce(`Denied ${what}.`);
          await refresh(['approvals', 'audit']);
        }),
    });
    actions.append(
      approve,
      el('label', { for: reasonId, class: 'inline-label', text: 'Reason to deny' }),
      reason,
      deny,
    );
  } else {
    const cancel = el('button', {
      type: 'button',
      class: 'secondary',
      'aria-describedby': h,
      text: 'Cancel request',
      onclick: () =>
        act(cancel, async () => {
          await call('POST', `${base}/cancel`, {});
          announce(`Your ${kind} request was cancelled.`);
          await refresh(['approvals', 'audit']);
        }),
    });
    actions.append(
      el('p', {
        class: 'hint',
        text: `Your ${kind} request: it needs ${need}; you cannot approve it yourself.`,
      }),
      cancel,
    );
  }
  const common = [
    ['Reason', r.reason],
    ['Requested', utc(r.createdAt)],
    ['Decide before', utc(r.pendingUntil)],
    ['Approvals', `${r.approvals.length} so far (needs ${need})`],
  ];
  const head =
    kind === 'request'
      ? `${r.requester} asks for ${r.access} access to ${r.deployment}`
      : `${r.requester} asks for ${duration(r.addMs)} more on a grant`;
  const detail =
    kind === 'request'
      ? [
          ['Services', r.services.join(', ')],
          ['Duration', duration(r.durationMs)],
          ...common,
          ['Request', mono(r.id)],
        ]
      : [['Extra time', duration(r.addMs)], ...common, ['Grant', mono(r.grantId)], ['Extension', mono(r.id)]];
  return el(
    'article',
    { class: 'card', 'aria-labelledby': h, [`data-${kind}`]: r.id },
    el('h3', { id: h, text: head }),
    facts(detail),
    actions,
  );
}

const mono = (text) => el('span', { class: 'mono', text });

async function requestAccess(ev) {
  ev.preventDefault();
  const button = ev.submitter || $('request-form').querySelector('button');
  const out = $('request-result');
  out.textContent = '';
  await act(button, async () => {
    const r = await call('POST', '/api/v1/requests', {
      deployment: $('req-deployment').value.trim(),
      services: $('req-services')
        .value.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      access: $('req-access').value,
      duration: $('req-duration').value.trim(),
      reason: $('req-reason').value.trim(),
    });
    out.textContent = `Request ${r.id} is ${r.status}.`;
    $('req-reason').value = '';
    await refresh(['approvals', 'grants', 'audit']);
  });
}

// ── grants ──────────────────────────────────────────────────────────────────────────────────

async function loadGrants() {
  const rows = await call('GET', '/api/v1/access-grants?status=active');
  for (const g of rows) state.deployments.add(g.deployment);
  show('grants-list', JSON.stringify(rows), () => {
    if (!rows.length) return el('p', { class: 'hint', text: 'No grant is in force.' });
    return table(
      'Grants in force now, with the time each has left',
      ['Holder', 'Deployment', 'Services', 'Access', 'Ends', 'Time left', 'Revoke'],
      rows.map(grantRow),
    );
  });
  tick();
}

function grantRow(g) {
  const reasonId = `revoke-${g.id}`;
  const revoke = el('button', {
    type: 'button',
    class: 'danger',
    'data-action': 'revoke',
    'aria-label': `Revoke the grant of ${g.subject} to ${g.deployment}`,
    text: 'Revoke',
    onclick: () =>
      act(revoke, async () => {
        await call('POST', `/api/v1/access-grants/${encodeURIComponent(g.id)}/revoke`, {
          reason: $(reasonId).value.trim(),
        });
        announce(`Revoked the grant of ${g.subject} to ${g.deployment}.`);
        await refresh(lists().filter((l) => ['grants', 'audit', 'history'].includes(l)));
      }),
  });
  return el(
    'tr',
    { 'data-grant': g.id },
    el('td', { text: g.subject }),
    el('td', { text: g.deployment }),
    el('td', { text: g.services.join(', ') }),
    el('td', { text: g.access }),
    el('td', {}, el('time', { datetime: new Date(g.end).toISOString(), text: utc(g.end) })),
    el(
      'td',
      {},
      el('span', { class: 'timer', role: 'timer', 'data-end': g.end, text: left(g.end - serverNow()) }),
    ),
    el(
      'td',
      {},
      el('label', { for: reasonId, class: 'sr-only', text: `Reason for revoking the grant of ${g.subject}` }),
      el('input', { id: reasonId, placeholder: 'reason', size: 12, maxlength: 1000 }),
      ' ',
      revoke,
    ),
  );
}

/** Once a second: every countdown; a grant reaching its end makes the list reload. */
function tick() {
  const now = serverNow();
  let ended = false;
  for (const t of document.querySelectorAll('.timer[data-end]')) {
    const ms = Number(t.dataset.end) - now;
    t.textContent = left(ms);
    t.classList.toggle('low', ms > 0 && ms < 5 * 60_000);
    if (ms <= 0) ended = true;
  }
  if (ended && now > state.refreshGrantsAt) {
    state.refreshGrantsAt = now + POLL_MS;
    void refresh(['grants', 'audit']);
  }
}

// ── incidents ───────────────────────────────────────────────────────────────────────────────

/** Open incidents: Alertmanager alerts the coordinator's webhook received, newest first. */
async function loadIncidents() {
  const rows = await call('GET', '/api/v1/incidents?state=open');
  show('incidents-list', JSON.stringify(rows), () => {
    if (!rows.length) return el('p', { class: 'hint', text: 'No incident is open.' });
    return table(
      'Open incidents, from the alerts Alertmanager sent',
      ['Deployment', 'Alert', 'Severity', 'Summary', 'Opened'],
      rows.map((i) =>
        el(
          'tr',
          { 'data-incident': i.id },
          el('td', { text: i.deployment ?? `global${i.deploymentLabel ? ` (${i.deploymentLabel})` : ''}` }),
          el('td', { text: i.alertname }),
          el('td', { text: i.severity || '—' }),
          el('td', { text: i.summary }),
          el(
            'td',
            { class: 'nowrap' },
            el('time', { datetime: new Date(i.openedAt).toISOString(), text: utc(i.openedAt) }),
          ),
        ),
      ),
    );
  });
}

// ── audit ───────────────────────────────────────────────────────────────────────────────────

async function loadAudit() {
  if (!state.session.user.admin) {
    show('audit-state', 'no', () =>
      el('span', {
        text: 'The audit log and its verification are shown to administrators of the coordinator.',
      }),
    );
    show('audit-list', 'no', () => []);
    $('audit-refresh').hidden = true;
    return;
  }
  $('audit-refresh').hidden = false;
  const v = await call('GET', '/console/audit');
  const box = $('audit-state');
  box.classList.toggle('good', v.ok);
  box.classList.toggle('bad', !v.ok);
  box.replaceChildren(
    v.ok
      ? `Chain verified OK: records 1..${v.lastSeq}, ${v.checkpoints} signed checkpoint${v.checkpoints === 1 ? '' : 's'}, signed through seq ${v.signedThrough}${v.keyId ? ` by the coordinator's audit key ${v.keyId}` : ''}. Checked ${utc(v.checkedAt)}.`
      : `Verification FAILED${v.failure ? ` (${v.failure.code}): ${v.failure.message}` : ''}. Checked ${utc(v.checkedAt)}.`,
  );
  box.dataset.ok = String(v.ok);
  const after = Math.max(0, v.headSeq - AUDIT_ROWS);
  const rows = await call('GET', `/api/v1/audit?after=${after}&limit=${AUDIT_ROWS}`);
  show('audit-list', JSON.stringify(rows.map((r) => r.hash)), () =>
    table(
      `The last ${rows.length} audit records, newest first`,
      ['Seq', 'Time', 'Actor', 'Action', 'Subject', 'Details'],
      rows
        .slice()
        .reverse()
        .map((r) =>
          el(
            'tr',
            { 'data-action': r.action },
            el('td', { text: String(r.seq) }),
            el('td', { class: 'nowrap', text: utc(r.time) }),
            el('td', { class: 'mono', text: r.actor }),
            el('td', { text: r.action }),
            el('td', { class: 'mono', text: r.subject }),
            el('td', { class: 'mono', text: clip(JSON.stringify(r.details), 240) }),
          ),
        ),
    ),
  );
}

const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

// ── deployments and peers ───────────────────────────────────────────────────────────────────

async function loadInventory() {
  if (!state.session.user.admin) {
    show('deployments-list', 'no', () => needsAdmin('Deployments, connectors and services'));
    show('peers-list', 'no', () => needsAdmin('Peers'));
    fillDeployments();
    return;
  }
  const [deps, nodes] = await Promise.all([call('GET', '/api/v1/deployments'), call('GET', '/api/v1/nodes')]);
  // One call per deployment: the service list names its deployment only through the query.
  const services = new Map(
    await Promise.all(
      deps.map(async (d) => [
        d.name,
        await call('GET', `/api/v1/services?deployment=${encodeURIComponent(d.name)}`),
      ]),
    ),
  );
  for (const d of deps) state.deployments.add(d.name);
  fillDeployments();
  const live = nodes.filter((n) => n.revokedAt === null);
  show('deployments-list', JSON.stringify([deps, [...services], live]), () => {
    if (!deps.length) return el('p', { class: 'hint', text: 'No deployment yet.' });
    return deps.map((d) => deploymentCard(d, services, live));
  });
  show('peers-list', JSON.stringify(nodes), () =>
    nodes.length
      ? table(
          'Nodes as the coordinator knows them',
          ['Name', 'Kind', 'Belongs to', 'State', 'Last seen', 'Endpoints', 'Home relay', 'Path', 'RTT'],
          nodes.map((n) =>
            el(
              'tr',
              { 'data-node': n.name },
              el('td', { text: n.name }),
              el('td', { text: n.kind }),
              el('td', { text: n.deployment || n.user || '—' }),
              el('td', {}, badge(n)),
              el('td', { text: utc(n.lastSeenAt) }),
              el('td', { class: 'mono', text: n.endpoints.length ? n.endpoints.join(', ') : '—' }),
              el('td', { text: n.homeRelay || '—' }),
              pathCell(n, nodes, (p) => p.path),
              pathCell(n, nodes, (p) => (p.rttMs === undefined ? '—' : `${p.rttMs} ms`)),
            ),
          ),
        )
      : el('p', { class: 'hint', text: 'No node has enrolled yet.' }),
  );
}

/** One line per peer the node reported (agents send their paths when they change, checked every 2 s). */
function pathCell(n, nodes, text) {
  const peers = n.online && n.peerPaths ? n.peerPaths.peers : [];
  if (!peers.length) return el('td', { class: 'hint', text: n.online ? 'no peer' : '—' });
  const name = (key) => (nodes.find((x) => x.publicKey === key) || {}).name || `${key.slice(0, 8)}…`;
  return el(
    'td',
    {},
    ...peers.map((p) => el('div', { 'data-peer': name(p.key), text: `${name(p.key)}: ${text(p)}` })),
  );
}

function badge(n) {
  if (n.revokedAt !== null) return el('span', { class: 'badge off', text: 'revoked' });
  return el('span', { class: `badge ${n.online ? 'on' : 'off'}`, text: n.online ? 'online' : 'offline' });
}

function deploymentCard(d, services, nodes) {
  const h = `dep-${d.name}-h`;
  const connectors = nodes.filter((n) => n.kind === 'connector' && n.deployment === d.name);
  const svcs = services.get(d.name) || [];
  return el(
    'article',
    { class: 'card', 'aria-labelledby': h, 'data-deployment': d.name },
    el('h3', { id: h, text: `${d.name} (${d.cloud}, ${d.region})` }),
    el('h4', { text: 'Connectors' }),
    connectors.length
      ? el(
          'ul',
          {},
          connectors.map((n) =>
            el(
              'li',
              {},
              `${n.name} `,
              badge(n),
              ` last seen ${utc(n.lastSeenAt)} · key `,
              el('span', { class: 'mono', text: n.publicKey.slice(0, 8) }),
            ),
          ),
        )
      : el('p', { class: 'hint', text: 'No connector enrolled.' }),
    svcs.length
      ? table(
          `Services of ${d.name}`,
          ['Service', 'Kind', 'Address', 'Tailnet name', 'TLS', 'Connector'],
          svcs.map((s) =>
            el(
              'tr',
              {},
              el('td', { text: s.name }),
              el('td', { text: s.kind }),
              el('td', { class: 'mono', text: s.address }),
              el('td', { class: 'mono', text: s.tailnetName }),
              el('td', { text: s.tlsMode }),
              el('td', { text: connectorName(s.connectorKey, nodes) }),
            ),
          ),
        )
      : el('p', { class: 'hint', text: 'No service registered.' }),
  );
}

function connectorName(key, nodes) {
  const n = key && nodes.find((x) => x.publicKey === key);
  return n ? n.name : key ? key.slice(0, 8) : '—';
}

function fillDeployments() {
  const names = [...state.deployments].sort();
  show('deployment-names', JSON.stringify(names), () => names.map((n) => el('option', { value: n })));
}

// ── refresh and timers ──────────────────────────────────────────────────────────────────────

// ── the customer's switches and history ─────────────────────────────────────────────────────

async function loadControls() {
  const c = await call('GET', '/api/v1/customer');
  show('controls-list', JSON.stringify(c), () =>
    el(
      'div',
      {},
      c.controls.map((x) => {
        const allowed = (s) => c.customer.switches.includes(s);
        const flip = (label, field, on, switchName) => {
          const b = el('button', {
            type: 'button',
            class: on ? 'danger' : 'secondary',
            'aria-pressed': String(x[field]),
            'data-switch': `${x.deployment}:${field}`,
            text: label,
            onclick: () =>
              act(b, async () => {
                const r = await call(
                  'PUT',
                  `/api/v1/deployments/${encodeURIComponent(x.deployment)}/controls`,
                  {
                    [field]: on,
                  },
                );
                announce(
                  `${label} for ${x.deployment}: done${r.revoked && r.revoked.length ? `; ${r.revoked.length} grant(s) ended` : ''}.`,
                );
                await refresh(['controls', 'grants', 'history', 'approvals']);
              }),
          });
          if (!allowed(switchName)) b.disabled = true;
          return b;
        };
        return el(
          'article',
          { class: 'card', 'data-controls': x.deployment },
          el('h3', { text: x.deployment }),
          facts([
            ['Vendor access', x.noAccess ? 'switched off by you' : 'as the policy allows'],
            ['Your approval', x.requireCoApproval ? 'needed for every request' : 'as the policy asks'],
            ['Hours', x.hours ? hoursText(x.hours) : 'any time'],
            ['Last change', x.updatedAt ? `${utc(x.updatedAt)} by ${x.updatedBy}` : 'never'],
          ]),
          el(
            'div',
            { class: 'actions' },
            x.noAccess
              ? flip('Allow vendor access again', 'noAccess', false, 'no-access')
              : flip('Switch off all vendor access now', 'noAccess', true, 'no-access'),
            x.requireCoApproval
              ? flip('Stop requiring my approval', 'requireCoApproval', false, 'co-approval')
              : flip('Require my approval for every request', 'requireCoApproval', true, 'co-approval'),
          ),
          allowed('hours')
            ? hoursForm(x)
            : el('p', { class: 'hint', text: 'Hours: not a switch the vendor gave you.' }),
        );
      }),
    ),
  );
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const hoursText = (h) => `${h.days.map((d) => DAYS[d]).join(', ')} ${h.from}–${h.to} UTC`;

/** The hours switch: from, to (UTC) and days; "Any time" clears it. */
function hoursForm(x) {
  const id = (k) => `hours-${x.deployment}-${k}`;
  const h = x.hours || { from: '08:00', to: '18:00', days: [1, 2, 3, 4, 5] };
  const set = el('button', {
    type: 'button',
    'data-switch': `${x.deployment}:hours`,
    text: 'Set hours',
    onclick: () =>
      act(set, async () => {
        const days = DAYS.map((_, d) => d).filter((d) => $(id(`d${d}`)).checked);
        await call('PUT', `/api/v1/deployments/${encodeURIComponent(x.deployment)}/controls`, {
          hours: { from: $(id('from')).value, to: $(id('to')).value, days },
        });
        announce(
          `Vendor access to ${x.deployment} only ${hoursText({ from: $(id('from')).value, to: $(id('to')).value, days })}.`,
        );
        await refresh(['controls', 'history']);
      }),
  });
  const any = el('button', {
    type: 'button',
    class: 'secondary',
    text: 'Any time',
    onclick: () =>
      act(any, async () => {
        await call('PUT', `/api/v1/deployments/${encodeURIComponent(x.deployment)}/controls`, {
          hours: null,
        });
        announce(`Vendor access to ${x.deployment} at any time.`);
        await refresh(['controls']);
      }),
  });
  return el(
    'fieldset',
    { class: 'hours' },
    el('legend', { text: 'Hours the vendor may ask for access (UTC)' }),
    el('label', { for: id('from'), text: 'From ' }),
    el('input', { id: id('from'), type: 'time', value: h.from }),
    el('label', { for: id('to'), text: ' to ' }),
    el('input', { id: id('to'), type: 'time', value: h.to }),
    ' ',
    ...DAYS.map((name, d) => {
      const box = el('input', { id: id(`d${d}`), type: 'checkbox' });
      box.checked = h.days.includes(d);
      return el('span', { class: 'day' }, box, el('label', { for: id(`d${d}`), text: name }));
    }),
    ' ',
    set,
    ' ',
    any,
  );
}

async function loadHistory() {
  const [requests, grants, activity] = await Promise.all([
    call('GET', '/api/v1/requests'),
    call('GET', '/api/v1/access-grants'),
    call('GET', '/api/v1/activity?limit=500'),
  ]);
  const rows = [
    ...requests.map((r) => ({
      at: r.createdAt,
      kind: 'request',
      id: r.id,
      who: r.requester,
      deployment: r.deployment,
      services: r.services,
      status: r.status,
      by: r.decidedBy || (r.approvals || []).map((a) => a.by).join(', ') || '-',
      reason: r.reason,
    })),
    ...grants.map((g) => ({
      at: g.start,
      kind: 'grant',
      id: g.id,
      who: g.subject,
      deployment: g.deployment,
      services: g.services,
      status: g.status,
      by: g.endedBy || '-',
      reason: g.note || '',
    })),
    ...activity.map((x) => ({
      at: x.at,
      kind: x.kind,
      id: `${x.kind}-${x.seq}`,
      who: x.user || x.holder,
      deployment: x.deployment,
      services: [x.service],
      status:
        x.kind === 'connection'
          ? `${x.bytesIn ?? 0} B in, ${x.bytesOut ?? 0} B out${x.durationMs === undefined ? '' : `, ${x.durationMs} ms`}`
          : x.status,
      by: `grant ${x.grant}`,
      reason: x.kind === 'query' ? x.query : '',
    })),
  ].sort((a, b) => b.at - a.at);
  show('history-list', JSON.stringify(rows), () =>
    rows.length
      ? table(
          'Requests and grants on your deployments',
          [
            'When',
            'What',
            'Who',
            'Deployment',
            'Services',
            'Status',
            'Decided, ended by or under',
            'Reason or query',
          ],
          rows.map((r) =>
            el(
              'tr',
              { [`data-history`]: r.id },
              el('td', {}, el('time', { datetime: new Date(r.at).toISOString(), text: utc(r.at) })),
              el('td', { text: r.kind }),
              el('td', { text: r.who }),
              el('td', { text: r.deployment }),
              el('td', { text: r.services.join(', ') }),
              el('td', { text: r.status }),
              el('td', { text: r.by }),
              el('td', { text: r.reason }),
            ),
          ),
        )
      : el('p', { class: 'hint', text: 'Nothing yet.' }),
  );
}

// ── pages: requests, audit log, topology ────────────────────────────────────────────────────

const SVG = 'http://www.w3.org/2000/svg';
const PAGES = {
  'page-requests': loadRequestsPage,
  'page-audit': loadAuditPage,
  'page-topology': loadTopology,
};

/** The page the address names (#page-…), else the overview; its data loaded, its heading focused. */
async function route() {
  if (!state.session) return;
  const id = document.location.hash.slice(1);
  const page = PAGES[id] ? id : null;
  $('overview').hidden = page !== null;
  for (const p of document.querySelectorAll('section.page')) p.hidden = p.id !== page;
  for (const a of document.querySelectorAll('[data-page-link]'))
    if (a.dataset.pageLink === (page || 'overview')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  if (!page) return;
  try {
    await PAGES[page]();
  } catch (e) {
    fail(e, 'Loading the page');
  }
  $(`${page}-h`).focus();
}

/** A download link for `text` (made here, in the page: nothing leaves it but to the reader). */
function offer(link, text, type) {
  if (link.dataset.blob) URL.revokeObjectURL(link.dataset.blob);
  const url = URL.createObjectURL(new Blob([text], { type }));
  link.dataset.blob = url;
  link.href = url;
}

const csvCell = (v) => {
  const s = String(v ?? '');
  // A leading = + - @ would be a formula in a spreadsheet: quote it as text.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

async function loadRequestsPage() {
  const rows = await call('GET', '/api/v1/requests');
  const render = () => {
    const status = $('rf-status').value;
    const dep = $('rf-deployment').value.trim().toLowerCase();
    const who = $('rf-person').value.trim().toLowerCase();
    const hits = rows.filter(
      (r) =>
        (!status || r.status === status) &&
        (!dep || r.deployment.includes(dep)) &&
        (!who ||
          r.requester.toLowerCase().includes(who) ||
          (r.approvals || []).some((a) => a.by.toLowerCase().includes(who)) ||
          (r.decidedBy || '').toLowerCase().includes(who)),
    );
    const cols = [
      'createdAt',
      'id',
      'requester',
      'deployment',
      'services',
      'access',
      'status',
      'approvedBy',
      'reason',
    ];
    const data = hits.map((r) => ({
      ...r,
      createdAt: utc(r.createdAt),
      services: r.services.join(' '),
      approvedBy: (r.approvals || []).map((a) => a.by).join(' '),
    }));
    offer(
      $('requests-csv'),
      [cols.join(','), ...data.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n',
      'text/csv',
    );
    $('requests-table').replaceChildren(
      hits.length
        ? table(
            `${hits.length} of ${rows.length} requests, newest first`,
            ['Requested', 'Requester', 'Deployment', 'Services', 'Access', 'Status', 'Approved by', 'Reason'],
            hits.map((r) =>
              el(
                'tr',
                { 'data-row': r.id },
                el('td', { class: 'nowrap', text: utc(r.createdAt) }),
                el('td', { text: r.requester }),
                el('td', { text: r.deployment }),
                el('td', { text: r.services.join(', ') }),
                el('td', { text: r.access }),
                el('td', { text: r.status }),
                el('td', { text: (r.approvals || []).map((a) => a.by).join(', ') || '—' }),
                el('td', { text: r.reason }),
              ),
            ),
          )
        : el('p', { class: 'hint', text: 'No request matches.' }),
    );
  };
  $('requests-filter').oninput = render;
  render();
}

async function loadAuditPage() {
  const records = [];
  for (let i = 0; i < 50; i++) {
    const page = await call(
      'GET',
      `/api/v1/audit?after=${records.length ? records[records.length - 1].seq : 0}&limit=1000`,
    );
    records.push(...page);
    if (page.length < 1000) break;
  }
  const utcMs = (v) => (v ? Date.parse(`${v}:00Z`) : NaN);
  const render = () => {
    const actor = $('af-actor').value.trim().toLowerCase();
    const action = $('af-action').value.trim().toLowerCase();
    const text = $('af-text').value.trim().toLowerCase();
    const from = utcMs($('af-from').value);
    const to = utcMs($('af-to').value);
    const hits = records
      .filter(
        (r) =>
          (!actor || r.actor.toLowerCase().includes(actor)) &&
          (!action || r.action.toLowerCase().startsWith(action)) &&
          (!text || `${r.subject} ${JSON.stringify(r.details)}`.toLowerCase().includes(text)) &&
          (Number.isNaN(from) || r.time >= from) &&
          (Number.isNaN(to) || r.time < to + 60_000),
      )
      .reverse();
    offer($('audit-matches'), JSON.stringify(hits, null, 2) + '\n', 'application/json');
    $('audit-search').replaceChildren(
      hits.length
        ? table(
            `${hits.length} of ${records.length} records, newest first`,
            ['Seq', 'Time', 'Actor', 'Action', 'Subject', 'Details'],
            hits
              .slice(0, 500)
              .map((r) =>
                el(
                  'tr',
                  { 'data-seq': String(r.seq) },
                  el('td', { text: String(r.seq) }),
                  el('td', { class: 'nowrap', text: utc(r.time) }),
                  el('td', { class: 'mono', text: r.actor }),
                  el('td', { text: r.action }),
                  el('td', { class: 'mono', text: r.subject }),
                  el('td', { class: 'mono', text: clip(JSON.stringify(r.details), 240) }),
                ),
              ),
          )
        : el('p', { class: 'hint', text: 'No record matches.' }),
    );
  };
  $('audit-filter').oninput = render;
  render();
}

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const k of kids) e.append(k);
  return e;
}

async function loadTopology() {
  const nodes = (await call('GET', '/api/v1/nodes')).filter((n) => n.revokedAt === null);
  const right = nodes
    .filter((n) => n.kind === 'connector')
    .sort((a, b) => (a.deployment || '').localeCompare(b.deployment || ''));
  const left = nodes.filter((n) => n.kind !== 'connector');
  const rowH = 56;
  const height = Math.max(left.length, right.length, 1) * rowH + 40;
  const width = 900;
  const at = new Map();
  left.forEach((n, i) => at.set(n.publicKey, { x: 170, y: 40 + i * rowH }));
  right.forEach((n, i) => at.set(n.publicKey, { x: width - 170, y: 40 + i * rowH }));
  const edges = new Map();
  for (const n of nodes)
    for (const p of (n.online && n.peerPaths && n.peerPaths.peers) || []) {
      const k = [n.publicKey, p.key].sort().join('|');
      if (!edges.has(k) && at.has(p.key))
        edges.set(k, { a: n.publicKey, b: p.key, path: p.path, rtt: p.rttMs });
    }
  const box = (n, side) => {
    const { x, y } = at.get(n.publicKey);
    const label =
      side === 'right' ? `${n.deployment} · ${n.name}` : `${n.name}${n.user ? ` (${n.user})` : ''}`;
    return svg(
      'g',
      { 'data-node': n.name, class: n.online ? 'node on' : 'node off' },
      svg('rect', { x: x - 150, y: y - 18, width: 300, height: 36, rx: 6 }),
      svg('text', { x, y: y + 5, 'text-anchor': 'middle' }, `${label}${n.online ? '' : ' — offline'}`),
    );
  };
  const lines = [...edges.values()].map((e) => {
    const a = at.get(e.a);
    const b = at.get(e.b);
    const [l, r] = a.x < b.x ? [a, b] : [b, a];
    return svg(
      'g',
      { class: `edge ${e.path === 'direct' ? 'direct' : 'relay'}`, 'data-edge': `${e.path}` },
      svg('line', { x1: l.x + 150, y1: l.y, x2: r.x - 150, y2: r.y }),
      svg(
        'text',
        { x: (l.x + r.x) / 2, y: (l.y + r.y) / 2 - 6, 'text-anchor': 'middle' },
        `${e.path}${e.rtt === undefined ? '' : ` · ${e.rtt} ms`}`,
      ),
    );
  });
  const described = `${left.length} engineer or machine nodes, ${right.length} connectors, ${edges.size} live paths`;
  $('topology-svg').replaceChildren(
    nodes.length
      ? svg(
          'svg',
          {
            viewBox: `0 0 ${width} ${height}`,
            width: '100%',
            role: 'img',
            'aria-label': `Topology: ${described}`,
          },
          svg('title', {}, `Topology: ${described}`),
          ...lines,
          ...left.map((n) => box(n, 'left')),
          ...right.map((n) => box(n, 'right')),
        )
      : el('p', { class: 'hint', text: 'No node has enrolled yet.' }),
    el('p', { class: 'hint', text: described }),
  );
}

const LOADERS = {
  approvals: loadApprovals,
  grants: loadGrants,
  incidents: loadIncidents,
  audit: loadAudit,
  inventory: loadInventory,
  controls: loadControls,
  history: loadHistory,
};

/** The lists this person's console shows. */
const lists = () =>
  state.customer
    ? ['approvals', 'grants', 'controls', 'history']
    : ['approvals', 'grants', 'incidents', 'audit', 'inventory'];

/** Live updates: the coordinator's event stream; each event reloads the lists (once per 200 ms). */
function listen() {
  if (state.events || typeof EventSource === 'undefined') return;
  const es = new EventSource('/api/v1/events');
  state.events = es;
  es.addEventListener('open', () => (state.live = true));
  es.addEventListener('error', () => (state.live = false));
  es.addEventListener('access', () => {
    clearTimeout(state.eventTimer);
    state.eventTimer = setTimeout(() => {
      if (state.session) void refresh(lists().filter((l) => l !== 'inventory'));
    }, 200);
  });
}

async function refresh(which) {
  const results = await Promise.allSettled(which.map((w) => LOADERS[w]()));
  results.forEach((r, i) => {
    if (r.status === 'rejected' && state.session) fail(r.reason, `Loading ${which[i]}`);
  });
}

async function start() {
  state.decidable = 0;
  await refresh(lists());
  openLinked();
  stopTimers();
  listen();
  state.tick = setInterval(tick, 1000);
  state.poll = setInterval(async () => {
    if (state.polling || !state.session || document.visibilityState === 'hidden') return;
    const now = performance.now();
    if (state.live && now - state.lastPoll < LIVE_POLL_MS) return;
    state.lastPoll = now;
    state.polling = true;
    try {
      await refresh(lists().filter((l) => l !== 'audit'));
    } finally {
      state.polling = false;
    }
  }, POLL_MS);
}

/** A link from a notification (?open=request:ID): that card, scrolled to and focused. */
function openLinked() {
  const open = new URLSearchParams(document.location.search).get('open');
  const m = open && /^(request|extension|grant):([A-Za-z0-9_-]{1,64})$/.exec(open);
  if (!m) return;
  const card = document.querySelector(`[data-${m[1]}="${m[2]}"]`);
  if (!card) return announce(`That ${m[1]} is no longer waiting for you.`);
  card.classList.add('linked');
  card.scrollIntoView();
  const first = card.querySelector('button');
  if (first) first.focus();
}

function stopTimers() {
  clearInterval(state.tick);
  clearInterval(state.poll);
  if (state.events) state.events.close();
  state.events = null;
  state.live = false;
}

/** Offers the identity provider's sign-in when the coordinator has one (GET /api/v1/auth/methods). */
async function loadMethods() {
  try {
    const m = await call('GET', '/api/v1/auth/methods');
    if (!m.oidc) return;
    $('sso-link').textContent = `Sign in with ${m.oidc.name}`;
    $('sso-link').href =
      `/console/sso/start?return=${encodeURIComponent(`/console/${document.location.search}${document.location.hash}`)}`;
    $('sso').hidden = false;
  } catch {
    // The password form stays.
  }
}

/** An invitation link (#invite=TOKEN): the person sets a password and is signed in. */
function inviteToken() {
  const m = /^#invite=(spi_[A-Za-z0-9_-]{16,64})$/.exec(document.location.hash);
  return m ? m[1] : null;
}

async function acceptInvite(ev) {
  ev.preventDefault();
  const token = inviteToken();
  const pw = $('invite-password').value;
  if (pw !== $('invite-repeat').value) {
    $('invite-error').textContent = 'The two passphrases differ.';
    return;
  }
  try {
    const s = await call('POST', '/console/invite', { token, password: pw });
    $('invite-password').value = '';
    $('invite-repeat').value = '';
    // The token is spent: it leaves the address bar and the history.
    history.replaceState(null, '', '/console/');
    $('invite').hidden = true;
    setSession(s);
    announce(`Welcome, ${s.user.name}.`);
    await start();
  } catch (e) {
    $('invite-error').textContent = e.message || 'the invitation did not work';
  }
}

async function boot() {
  window.addEventListener('hashchange', () => void route());
  $('invite-form').addEventListener('submit', acceptInvite);
  if (inviteToken()) {
    $('signin').hidden = true;
    $('invite').hidden = false;
    $('invite-password').focus();
    return;
  }
  $('signin-form').addEventListener('submit', signIn);
  void loadMethods();
  $('request-form').addEventListener('submit', requestAccess);
  $('sign-out').addEventListener('click', () => void signOut());
  $('audit-refresh').addEventListener('click', (ev) => act(ev.currentTarget, loadAudit));
  try {
    setSession(await call('GET', '/console/session'));
    await start();
    await route();
  } catch {
    showSignIn('');
  }
}

void boot();
