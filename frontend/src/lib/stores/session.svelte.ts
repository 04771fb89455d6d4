// Who is at the station and what the app shows first: loading → setup (no
// station yet) → login → ready. One instance, shared by every component.
import { station, auth, handleError, on, Events } from '$lib/api';
import type { Station, UserInfo, SetupForm, StationStatus } from '$lib/api';

export type Phase = 'loading' | 'error' | 'setup' | 'login' | 'ready';

export class SessionStore {
  phase = $state<Phase>('loading');
  station = $state<Station | null>(null);
  user = $state<UserInfo | null>(null);
  version = $state('');
  /** loadError is the translated reason the first status call failed. */
  loadError = $state('');

  isAdmin = $derived(this.user?.role === 'admin');

  #off: (() => void)[] = [];

  /** load asks the backend where we are; call once at start and on retry. */
  async load(): Promise<void> {
    this.phase = 'loading';
    try {
      this.apply(await station.status());
    } catch (err) {
      this.loadError = handleError(err);
      this.phase = 'error';
    }
  }

  /** listen keeps this window in step when another UI (window or browser) logs in or out. */
  listen(): () => void {
    this.#off.push(
      on<{ user: UserInfo | null }>(Events.SessionChanged, (p) => {
        if (this.phase === 'setup' || this.phase === 'loading') return;
        this.user = p?.user ?? null;
        this.phase = this.user ? 'ready' : 'login';
      }),
      on<StationStatus>(Events.StationChanged, (s) => {
        if (s?.station) this.station = s.station;
      }),
    );
    return () => {
      this.#off.forEach((off) => off());
      this.#off = [];
    };
  }

  /** setup creates the station and its admin; the admin is then signed in. Throws on failure. */
  async setup(form: SetupForm): Promise<void> {
    this.apply(await station.setup(form));
  }

  /** login signs a user in. Throws on failure (the form shows handleError(err)). */
  async login(username: string, password: string): Promise<void> {
    this.user = await auth.login(username, password);
    this.phase = 'ready';
  }

  async logout(): Promise<void> {
    await auth.logout();
    this.user = null;
    this.phase = 'login';
  }

  private apply(s: StationStatus) {
    this.version = s.version;
    this.station = s.station ?? null;
    this.user = s.user ?? null;
    this.phase = !s.setUp ? 'setup' : this.user ? 'ready' : 'login';
  }
}

export const session = new SessionStore();
