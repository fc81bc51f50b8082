// The console's static files, read from the package once when the coordinator starts (no build
// step: plain HTML, one ES module, one stylesheet, one icon), and the headers every console
// response carries: a strict Content-Security-Policy (no inline script or style, nothing from
// another origin, no framing), no MIME sniffing, no referrer.
import { readFileSync } from 'node:fs';

export interface Asset {
  type: string;
  body: Buffer;
}

const FILES: Record<string, [file: string, type: string]> = {
  '/console/': ['index.html', 'text/html; charset=utf-8'],
  '/console/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/console/console.css': ['console.css', 'text/css; charset=utf-8'],
  '/console/icon.svg': ['icon.svg', 'image/svg+xml'],
};

/** URL path → file, all read now (throws at start if the package lacks one). */
export function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const [path, [file, type]] of Object.entries(FILES))
    out.set(path, { type, body: readFileSync(new URL(`./assets/${file}`, import.meta.url)) });
  return out;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};
