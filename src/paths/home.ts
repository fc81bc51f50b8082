// The home relay (DESIGN.md §4 "Relay"): the one region whose relay a node's peers send to when
// they reach it through a relay. Each node picks its own from what its relay clients measure, and
// announces it; a peer sends to the receiver's home relay (as DERP does), so two nodes on different
// homes reach each other with no relay-to-relay mesh.
//
// The choice is a pure function of the current home and the relays' views:
//   - while the home's relay is connected it is kept, unless another connected relay is closer by
//     both a third (rtt ≤ ⅔ × home's) and 10 ms: hysteresis, so two relays at about the same
//     distance never make the home flap, and a move is worth the peers' re-pointing;
//   - when the home's relay is not connected (or there is none yet), the closest connected one is
//     taken at once (one with no measurement yet counts as farthest; ties go to list order);
//   - with no relay connected the home stays what it was.
export interface RelayView {
  region: string;
  connected: boolean;
  /** Measured round-trip time, ms; undefined before the first measurement. */
  rttMs?: number;
}

export type HomeReason = 'kept' | 'first' | 'home-down' | 'closer';

export interface HomeChoice {
  home: string | undefined;
  reason: HomeReason;
}

/** A connected relay replaces a connected home only when rtt ≤ RATIO × home's and GAIN ms less. */
export const HOME_SWITCH_RATIO = 2 / 3;
export const HOME_SWITCH_MIN_GAIN_MS = 10;

function closest(relays: RelayView[]): RelayView | undefined {
  let best: RelayView | undefined;
  for (const r of relays) {
    if (!r.connected) continue;
    if (!best || (r.rttMs ?? Infinity) < (best.rttMs ?? Infinity)) best = r;
  }
  return best;
}

export function chooseHome(current: string | undefined, relays: RelayView[]): HomeChoice {
  const home = relays.find((r) => r.region === current);
  const best = closest(relays);
  if (home?.connected) {
    if (
      best &&
      best.region !== home.region &&
      best.rttMs !== undefined &&
      home.rttMs !== undefined &&
      best.rttMs <= home.rttMs * HOME_SWITCH_RATIO &&
      home.rttMs - best.rttMs >= HOME_SWITCH_MIN_GAIN_MS
    )
      return { home: best.region, reason: 'closer' };
    return { home: current, reason: 'kept' };
  }
  if (best) return { home: best.region, reason: current === undefined ? 'first' : 'home-down' };
  return { home: home ? current : undefined, reason: 'kept' };
}
