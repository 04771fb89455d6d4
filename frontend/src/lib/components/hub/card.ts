// The hub board's view of one slot: pure, so the card's states are table-tested.
import type { Phone, PhoneStatus, Progress, Hint } from '$lib/api';

export type CardState = 'waiting' | 'preparing' | 'ready' | 'installing' | 'done' | 'failed' | 'stopped' | 'unplugged';

export interface Failure {
  label: string;
  package: string;
  code: string;
  message: string;
  hint?: Hint;
}

export interface Card {
  key: string; // slot path: a new phone in the same port replaces the card
  serial: string;
  slotId: number;
  slotLabel: string;
  position: number;
  brand: string;
  model: string;
  release: string;
  battery: number; // -1 unknown
  state: CardState;
  reason: string; // device reason code (allow_usb_debugging, …)
  k: number; // apps finished (installed + failed) in this session
  n: number; // apps planned
  apkLabel: string;
  apkPct: number; // 0..100 of the current APK's transfer
  apkStage: string;
  planPct: number; // 0..100 of the plan
  sessionUuid: string;
  failure?: Failure;
}

export interface CardInput {
  phone: Phone;
  status?: PhoneStatus;
  progress?: Progress;
  failure?: Failure;
  gone?: boolean;
}

const preparingDevice = new Set(['offline', 'probing']);

/** stateOf decides the big chip. Device trouble outranks the engine; a finished session stays visible. */
export function stateOf(i: CardInput): CardState {
  const d = i.phone.state;
  if (i.gone || d === 'gone') return 'unplugged';
  if (d === 'unauthorized' || d === 'authorizing') return 'waiting';
  const e = i.status?.state;
  if (e === 'running') return 'installing';
  if (e === 'done') return 'done';
  if (e === 'failed') return 'failed';
  if (e === 'cancelled' || e === 'interrupted') return 'stopped';
  if (preparingDevice.has(d)) return 'preparing';
  return 'ready';
}

export function toCard(i: CardInput): Card {
  const p = i.phone;
  const st = i.status;
  const pr = i.progress && st && i.progress.sessionUuid === st.sessionUuid ? i.progress : undefined;
  const state = stateOf(i);
  const n = st?.planned ?? pr?.total ?? 0;
  const finished = (st?.installed ?? 0) + (st?.failed ?? 0);
  let apkPct = 0;
  let planPct = 0;
  if (state === 'installing' && pr) {
    const frac =
      pr.stage === 'installed' || pr.stage === 'failed'
        ? 1
        : pr.stage === 'transfer'
          ? pr.size > 0
            ? pr.sent / pr.size
            : 0
          : 1;
    apkPct = Math.round(Math.min(1, frac) * 100);
    const done = Math.max(finished, pr.stage === 'installed' || pr.stage === 'failed' ? pr.index + 1 : pr.index);
    planPct = n > 0 ? Math.round(Math.min(1, (done + (done > pr.index ? 0 : frac * 0.9)) / n) * 100) : 0;
  } else if (state === 'done' || state === 'failed') {
    planPct = 100;
    apkPct = 100;
  } else if (state === 'installing') {
    planPct = n > 0 ? Math.round((finished / n) * 100) : 0;
  }
  const f = p.facts;
  return {
    key: p.slot?.path || `serial:${p.serial}`,
    serial: p.serial,
    slotId: p.slot?.id ?? 0,
    slotLabel: p.slot?.label ?? '',
    position: p.slot?.position ?? 0,
    brand: f?.brand ?? '',
    model: f?.model || p.adbModel || p.product || '',
    release: f?.release ?? '',
    battery: f?.battery ?? -1,
    state,
    reason: p.reason ?? '',
    k: state === 'installing' ? Math.min(n, Math.max(finished, pr ? pr.index + 1 : finished)) : finished,
    n,
    apkLabel: pr?.label || pr?.package || '',
    apkPct,
    apkStage: pr?.stage ?? '',
    planPct,
    sessionUuid: st?.sessionUuid ?? '',
    failure: state === 'failed' ? i.failure : undefined,
  };
}

/** slotOrder sorts labelled slots naturally (A2 before A10), unlabelled ones after, by arrival. */
export function slotOrder(a: Card, b: Card): number {
  if (a.slotLabel && b.slotLabel) {
    const c = a.slotLabel.localeCompare(b.slotLabel, undefined, { numeric: true, sensitivity: 'base' });
    if (c !== 0) return c;
  } else if (a.slotLabel || b.slotLabel) {
    return a.slotLabel ? -1 : 1;
  }
  return a.position - b.position || a.serial.localeCompare(b.serial);
}
