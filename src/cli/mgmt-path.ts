// Which way `sallyport mgmt` reaches a deployment's Kubernetes API (DESIGN.md §7): a pure decision
// from the deployment's management mode, whether the overlay answers now, and the operator's
// reason. `private` never uses the public endpoint, whatever happens; the fallback uses it only
// while the overlay is down, only with a reason, and only once the break-glass is recorded.
export type ManagementMode = 'public' | 'private' | 'private-with-public-fallback';

export type OverlayProbe = { up: true } | { up: false; why: string };

export type PathDecision =
  | { use: 'overlay' }
  | { use: 'public' }
  /** The public endpoint, after the break-glass is recorded (the caller records it first). */
  | { use: 'break-glass'; overlay: string; reason: string }
  | { use: 'refuse'; exit: 1 | 2; message: string };

export function decidePath(
  deployment: string,
  mode: ManagementMode,
  overlay: OverlayProbe | undefined,
  reason: string | undefined,
): PathDecision {
  if (mode === 'public') return { use: 'public' };
  if (!overlay) throw new RangeError('the overlay must be probed unless the mode is public');
  if (overlay.up) return { use: 'overlay' };
  if (mode === 'private')
    return {
      use: 'refuse',
      exit: 1,
      message: `the overlay is down (${overlay.why}) and ${deployment}'s management path is private: the public endpoint is never used. Fix the overlay (sallyport status, sallyport ping), or have the customer change the mode`,
    };
  if (!reason || reason.trim().length < 10)
    return {
      use: 'refuse',
      exit: 2,
      message: `the overlay is down (${overlay.why}). Using ${deployment}'s public endpoint is a break-glass, recorded in both audits and sent to the customer: say why with --reason TEXT (10+ characters)`,
    };
  return { use: 'break-glass', overlay: overlay.why, reason: reason.trim() };
}
