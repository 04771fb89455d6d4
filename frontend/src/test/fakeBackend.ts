// The one fake of the Go side for component tests: it stands in for the
// generated wailsjs modules (mocked in setup.ts), keeps state like the real
// services and rejects with the same {code, message} errors.
export interface FakeUser {
  id: number;
  username: string;
  password: string;
  role: 'admin' | 'operator';
}

function reject(code: string, message = code): Promise<never> {
  return Promise.reject({ code, message });
}

export class FakeBackend {
  station: { id: number; name: string; uuid: string } | null = null;
  users: FakeUser[] = [];
  current: FakeUser | null = null;
  language = '';
  theme = 'system';
  calls: string[] = [];

  reset() {
    this.station = null;
    this.users = [];
    this.current = null;
    this.language = '';
    this.theme = 'system';
    this.calls = [];
  }

  /** withStation puts the backend past first-run setup, logged out. */
  withStation(name = 'Shop 1', admin = { username: 'admin', password: 'password1' }) {
    this.station = { id: 1, name, uuid: 'uuid-1' };
    this.users = [{ id: 1, role: 'admin', ...admin }];
    this.current = null;
  }

  private info(u: FakeUser | null) {
    return u ? { id: u.id, username: u.username, role: u.role, displayName: '' } : null;
  }

  private status() {
    return { setUp: !!this.station, station: this.station, user: this.info(this.current), version: 'test' };
  }

  StationService = {
    Status: async () => {
      this.calls.push('Status');
      return this.status();
    },
    Setup: async (req: { stationName: string; adminUsername: string; adminPassword: string }) => {
      this.calls.push('Setup');
      if (this.station) return reject('already_set_up');
      if (!req.stationName.trim()) return reject('invalid_station_name');
      if (req.adminPassword.length < 8) return reject('weak_password');
      this.station = { id: 1, name: req.stationName.trim(), uuid: 'uuid-1' };
      const admin: FakeUser = { id: 1, username: req.adminUsername.toLowerCase(), password: req.adminPassword, role: 'admin' };
      this.users.push(admin);
      this.current = admin;
      return this.status();
    },
    Rename: async (name: string) => {
      if (!this.station) return reject('not_found');
      this.station.name = name;
      return this.station;
    },
  };

  AuthService = {
    Login: async (username: string, password: string) => {
      this.calls.push('Login');
      if (!this.station) return reject('not_set_up');
      const u = this.users.find((x) => x.username === username.toLowerCase());
      if (!u || u.password !== password) return reject('bad_credentials', 'wrong username or password');
      this.current = u;
      return this.info(u);
    },
    Logout: async () => {
      this.calls.push('Logout');
      this.current = null;
    },
    CurrentUser: async () => this.info(this.current),
    ListUsers: async () => this.users.map((u) => this.info(u)),
    CreateUser: async () => reject('forbidden'),
    ChangePassword: async () => reject('unauthenticated'),
  };

  SettingsService = {
    UI: async () => ({ language: this.language, theme: this.theme }),
    SetLanguage: async (lang: string) => {
      this.calls.push(`SetLanguage:${lang}`);
      this.language = lang;
    },
    SetTheme: async (theme: string) => {
      this.theme = theme;
    },
  };
}

export const backend = new FakeBackend();
