// The hub board's live state: phones from the device manager, sessions from
// the install engine, progress events; one instance shared by the board, its
// header and the drawer. Listeners are removed by the function listen returns.
import {
  devices,
  install,
  handleError,
  toApiError,
  on,
  Events,
  type Phone,
  type PhoneStatus,
  type Progress,
  type SessionEnd,
  type InstallSession,
} from '$lib/api';
import { toCard, slotOrder, type Card, type Failure } from '$lib/components/hub/card';
import { chime } from './chime';

export class PhonesStore {
  phones = $state<Record<string, Phone>>({}); // by serial
  status = $state<Record<string, PhoneStatus>>({});
  progress = $state<Record<string, Progress>>({});
  failures = $state<Record<string, Failure>>({});
  gone = $state<Record<string, boolean>>({});
  auto = $state(false);
  error = $state('');
  loaded = $state(false);
  catalog = $state<{ state: string; url?: string; list?: string; operator?: string } | null>(null);
  outbox = $state<{ pending: number; delivered: number; lastError?: string } | null>(null);
  /** sound plays a chime when a phone finishes. */
  sound = $state(true);

  cards = $derived.by(() => {
    // One card per slot: the newest phone in a port replaces an unplugged one.
    const bySlot = new Map<string, Card>();
    for (const p of Object.values(this.phones)) {
      const c = toCard({
        phone: p,
        status: this.status[p.serial],
        progress: this.progress[p.serial],
        failure: this.failures[p.serial],
        gone: this.gone[p.serial],
      });
      const prev = bySlot.get(c.key);
      if (!prev || prev.state === 'unplugged') bySlot.set(c.key, c);
    }
    return [...bySlot.values()].sort(slotOrder);
  });

  counts = $derived.by(() => {
    const c = { connected: 0, installing: 0, done: 0, failed: 0, waiting: 0 };
    for (const card of this.cards) {
      if (card.state !== 'unplugged') c.connected++;
      if (card.state === 'installing') c.installing++;
      if (card.state === 'done') c.done++;
      if (card.state === 'failed') c.failed++;
      if (card.state === 'waiting') c.waiting++;
    }
    return c;
  });

  #off: (() => void)[] = [];

  async load(): Promise<void> {
    try {
      const [list, st, auto] = await Promise.all([
        devices.list(),
        install.status().catch(() => [] as PhoneStatus[]),
        install.auto().catch(() => false),
      ]);
      const phones: Record<string, Phone> = {};
      for (const p of list ?? []) phones[p.serial] = p;
      this.phones = phones;
      const status: Record<string, PhoneStatus> = {};
      for (const s of st ?? []) status[s.serial] = s;
      this.status = status;
      this.auto = auto;
      this.error = '';
      for (const s of st ?? []) if (s.state === 'failed') void this.loadFailure(s.serial, s.sessionUuid);
    } catch (err) {
      // A station without the device service bound (yet) simply has no phones.
      if (toApiError(err).code !== 'unknown_method') this.error = handleError(err);
    } finally {
      this.loaded = true;
    }
  }

  listen(): () => void {
    const upsert = (p: Phone) => {
      if (!p?.serial) return;
      this.phones[p.serial] = p;
      if (p.state === 'gone') this.gone[p.serial] = true;
      else delete this.gone[p.serial];
    };
    this.#off.push(
      on<Phone>(Events.DeviceAttached, (p) => {
        if (p?.serial) {
          // A new stay on the station: forget the last one's session.
          delete this.status[p.serial];
          delete this.progress[p.serial];
          delete this.failures[p.serial];
        }
        upsert(p);
      }),
      on<Phone>(Events.DeviceUpdated, upsert),
      on<Phone>(Events.DeviceDetached, (p) => {
        if (!p?.serial) return;
        if (this.phones[p.serial]) this.phones[p.serial] = { ...this.phones[p.serial], ...p, state: 'gone' };
        this.gone[p.serial] = true;
      }),
      on<PhoneStatus>(Events.InstallState, (s) => {
        if (!s?.serial) return;
        if (s.state === 'running' && this.status[s.serial]?.sessionUuid !== s.sessionUuid) {
          delete this.failures[s.serial];
        }
        this.status[s.serial] = s;
      }),
      on<Progress>(Events.InstallProgress, (p) => {
        if (!p?.serial) return;
        this.progress[p.serial] = p;
        const s = this.status[p.serial];
        if (!s || s.sessionUuid !== p.sessionUuid || s.state !== 'running') {
          this.status[p.serial] = {
            ...(s ?? { transport: '', bytes: 0, endedAt: '', startedAt: '', installed: 0, skipped: 0, failed: 0 }),
            serial: p.serial,
            sessionUuid: p.sessionUuid,
            state: 'running',
            planned: p.total,
          } as PhoneStatus;
        }
        if (p.stage === 'installed' || p.stage === 'failed') {
          const cur = this.status[p.serial];
          const key = p.stage === 'installed' ? 'installed' : 'failed';
          // Counters from progress until the engine's own status arrives.
          if (cur[key] < p.index + 1 && cur.installed + cur.failed < p.index + 1) cur[key]++;
        }
      }),
      on<SessionEnd>(Events.InstallDone, (e) => {
        if (!e?.serial) return;
        const prev = this.status[e.serial];
        this.status[e.serial] = {
          ...(prev ?? { transport: '', bytes: 0, startedAt: '' }),
          serial: e.serial,
          sessionUuid: e.sessionUuid,
          state: (['done', 'failed', 'cancelled', 'interrupted'].includes(e.outcome) ? e.outcome : 'done') as PhoneStatus['state'],
          planned: e.planned,
          installed: e.installed,
          skipped: e.skipped,
          failed: e.failed,
          endedAt: new Date().toISOString(),
        } as PhoneStatus;
        if (e.outcome === 'failed' || e.failed > 0) void this.loadFailure(e.serial, e.sessionUuid);
        if (this.sound && (e.outcome === 'done' || e.outcome === 'failed')) chime(e.outcome === 'done');
      }),
      on<{ state: string }>(Events.CatalogStatus, (s) => (this.catalog = s)),
      on<{ pending: number; delivered: number }>(Events.OutboxStatus, (s) => (this.outbox = s)),
    );
    return () => {
      this.#off.forEach((off) => off());
      this.#off = [];
    };
  }

  /** loadFailure finds the first failed app of a session and its operator hint. */
  async loadFailure(serial: string, uuid: string): Promise<void> {
    if (!uuid) return;
    try {
      const sess: InstallSession = await install.session(uuid);
      const rec = sess.records?.find((r) => r.result === 'failed');
      if (!rec) return;
      const f: Failure = { label: rec.label || rec.package, package: rec.package, code: rec.code, message: rec.message };
      try {
        f.hint = await install.hint(rec.code, sess.brand || this.phones[serial]?.facts?.brand || '');
      } catch {
        /* no hint for this code: the code and message stand */
      }
      this.failures[serial] = f;
    } catch {
      /* the card still says failed */
    }
  }

  async setAuto(on: boolean): Promise<void> {
    const was = this.auto;
    this.auto = on;
    try {
      await install.setAuto(on);
    } catch (err) {
      this.auto = was;
      this.error = handleError(err);
    }
  }

  async startAll(): Promise<void> {
    try {
      await install.startAll();
    } catch (err) {
      this.error = handleError(err);
    }
  }

  async stopAll(): Promise<void> {
    try {
      await install.stopAll();
    } catch (err) {
      this.error = handleError(err);
    }
  }
}

export const phones = new PhonesStore();
