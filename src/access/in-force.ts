// The one answer to "is this grant in force now?", for every place that asks: the coordinator's
// netmap (which grants make peers visible), its standing-grant reconciler (which it holds), the
// connector's router (may this stream open, must it be cut) and the agent's grant lookup. Pure.
//
// In force: not revoked, started (notBefore ≤ now; a window without a start has started) and not
// ended (now < end; a null end never ends). The end is exclusive, like a certificate's notAfter.

export interface GrantWindow {
  readonly notBefore?: number;
  readonly end: number | null;
  readonly revokedAt?: number | null;
}

export function inForce(w: GrantWindow, now: number): boolean {
  return (
    (w.revokedAt ?? null) === null &&
    (w.notBefore === undefined || w.notBefore <= now) &&
    (w.end === null || now < w.end)
  );
}
