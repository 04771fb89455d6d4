// src/lib/api is the only importer of wailsjs/: components call these typed
// functions and never know whether they run in the window or in a browser.
import * as StationService from '../../../wailsjs/go/services/StationService';
import * as AuthService from '../../../wailsjs/go/services/AuthService';
import * as SettingsService from '../../../wailsjs/go/services/SettingsService';
import { services, store } from '../../../wailsjs/go/models';

export type UserInfo = services.UserInfo;
export type StationStatus = services.StationStatus;
export type Station = store.Station;
export type UISettings = services.UISettings;
export type Language = 'en' | 'zh-CN';
export type Theme = 'system' | 'light' | 'dark';

export interface SetupForm {
  stationName: string;
  adminUsername: string;
  adminPassword: string;
}

export const station = {
  status: (): Promise<StationStatus> => StationService.Status(),
  setup: (form: SetupForm): Promise<StationStatus> =>
    StationService.Setup(services.SetupRequest.createFrom(form)),
  rename: (name: string): Promise<Station> => StationService.Rename(name),
};

export const auth = {
  login: (username: string, password: string): Promise<UserInfo> => AuthService.Login(username, password),
  logout: (): Promise<void> => AuthService.Logout(),
  currentUser: (): Promise<UserInfo | null> => AuthService.CurrentUser(),
  listUsers: (): Promise<UserInfo[]> => AuthService.ListUsers(),
  createUser: (u: { username: string; password: string; role: 'admin' | 'operator'; displayName?: string }) =>
    AuthService.CreateUser(services.NewUserRequest.createFrom({ displayName: '', ...u })),
  changePassword: (oldPassword: string, newPassword: string): Promise<void> =>
    AuthService.ChangePassword(oldPassword, newPassword),
};

export const settings = {
  ui: (): Promise<UISettings> => SettingsService.UI(),
  setLanguage: (lang: Language): Promise<void> => SettingsService.SetLanguage(lang),
  setTheme: (theme: Theme): Promise<void> => SettingsService.SetTheme(theme),
};
