// The browser console served by the coordinator under /console/ (docs/console.md).
export { registerConsole, type ConsoleOptions } from './routes.ts';
export { checkAudit, MAX_CONSOLE_VERIFY, type AuditCheck } from './audit-check.ts';
export { CONTENT_SECURITY_POLICY } from './assets.ts';
export {
  SESSION_COOKIE,
  CSRF_HEADER,
  csrfToken,
  csrfValid,
  sessionCookie,
  sessionFromCookie,
  SignedOut,
} from './session.ts';
