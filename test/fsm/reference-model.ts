// An independent model of the kernel's combination transitions, written from the protocol's rules (not from
// src/fsm): the single arcs per flag set, and "the shortest path over single arcs that never passes through a
// saving-group state", plus the requests the kernel refuses. Tests compare src/fsm against it.

export const S = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const;
export const NAMES = ['ERROR', 'STOP', 'RUNNING', 'STOP_COPY', 'RESUMING', 'RUNNING_P2P', 'PRE_COPY', 'PRE_COPY_P2P'];
export const FLAG_SETS = [1, 3, 5, 7] as const;

const saving = (s: number) => s === S.STOP_COPY || s === S.PRE_COPY || s === S.PRE_COPY_P2P;

export function modelSupports(flags: number, s: number): boolean {
  const p2p = (flags & 2) !== 0;
  const pre = (flags & 4) !== 0;
  if (s === S.ERROR) return false;
  if (s === S.RUNNING_P2P) return p2p;
  if (s === S.PRE_COPY) return pre;
  if (s === S.PRE_COPY_P2P) return p2p && pre;
  return true;
}

/** Arcs as listed in the uAPI header's comment on struct vfio_device_feature_mig_state, as "FROM>TO" strings. */
export function modelArcs(flags: number): Set<string> {
  const p2p = (flags & 2) !== 0;
  const pre = (flags & 4) !== 0;
  const arcs = ['STOP>STOP_COPY', 'STOP_COPY>STOP', 'STOP>RESUMING', 'RESUMING>STOP'];
  if (p2p) arcs.push('RUNNING>RUNNING_P2P', 'RUNNING_P2P>RUNNING', 'RUNNING_P2P>STOP', 'STOP>RUNNING_P2P');
  else arcs.push('RUNNING>STOP', 'STOP>RUNNING');
  if (pre) arcs.push('RUNNING>PRE_COPY', 'PRE_COPY>RUNNING');
  if (pre && p2p) {
    arcs.push(
      'PRE_COPY>PRE_COPY_P2P',
      'PRE_COPY_P2P>PRE_COPY',
      'PRE_COPY_P2P>RUNNING_P2P',
      'RUNNING_P2P>PRE_COPY_P2P',
      'PRE_COPY_P2P>STOP_COPY',
    );
  }
  if (pre && !p2p) arcs.push('PRE_COPY>STOP_COPY');
  return new Set(arcs);
}

/**
 * All shortest valid paths (states after `from`, ending with `to`). The uAPI rule "the path cannot have saving group
 * states as interior arcs" is about the data session: an interior saving state would open a session only to end
 * it. A path that starts and ends in the saving group may move inside it (PRE_COPY, PRE_COPY_P2P, STOP_COPY keep one
 * session),
 * which is how the kernel takes PRE_COPY to STOP_COPY.
 */
export function shortestPaths(flags: number, from: number, to: number): number[][] {
  const arcs = modelArcs(flags);
  const succ = (s: number) =>
    NAMES.map((_, t) => t).filter((t) => arcs.has(`${NAMES[s]}>${NAMES[t]}`) && modelSupports(flags, t));
  let frontier: number[][] = [[]];
  for (let depth = 1; depth <= 8; depth++) {
    const next: number[][] = [];
    const found: number[][] = [];
    for (const p of frontier) {
      const last = p.length ? p[p.length - 1]! : from;
      const continuesSession = saving(from) && saving(to) && p.every(saving);
      if (p.length && saving(last) && !continuesSession) continue;
      for (const t of succ(last)) {
        if (t === from || p.includes(t)) continue;
        const q = [...p, t];
        if (t === to) found.push(q);
        else next.push(q);
      }
    }
    if (found.length) return found;
    frontier = next;
  }
  return [];
}

/** The model's answer: the path, or null where the kernel refuses the request. */
export function modelPath(flags: number, from: number, to: number): number[] | null {
  if (!modelSupports(flags, from) || !modelSupports(flags, to)) return null;
  if (from === S.STOP_COPY && (to === S.PRE_COPY || to === S.PRE_COPY_P2P)) return null; // blocked by the kernel
  if (from === to) return [];
  const paths = shortestPaths(flags, from, to);
  if (paths.length !== 1) throw new Error(`model: ${paths.length} shortest paths ${NAMES[from]}>${NAMES[to]}`);
  return paths[0]!;
}
