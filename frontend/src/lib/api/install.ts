// The install engine (backend/services/install_service.go).
import { invoke } from './call';

export type EngineState = 'idle' | 'running' | 'done' | 'failed' | 'interrupted' | 'cancelled';

export interface PhoneStatus {
  serial: string;
  state: EngineState;
  transport: string;
  sessionUuid: string;
  planned: number;
  installed: number;
  skipped: number;
  failed: number;
  bytes: number;
  startedAt: string;
  endedAt: string;
}

export interface Progress {
  serial: string;
  sessionUuid: string;
  package: string;
  label: string;
  index: number;
  total: number;
  stage: 'transfer' | 'commit' | 'verify' | 'installed' | 'failed';
  sent: number;
  size: number;
  bytesPerSec: number;
}

export interface SessionEnd {
  serial: string;
  sessionUuid: string;
  outcome: string;
  planned: number;
  installed: number;
  skipped: number;
  failed: number;
  bytes: number;
  millis: number;
}

/** install.App has no JSON tags: its fields arrive with Go's names. */
export interface PlanApp {
  AppID: number;
  Package: string;
  Label: string;
  VersionCode: number;
  VersionName: string;
  Size: number;
}

export interface PlanView {
  serial: string;
  install: { app: PlanApp; update: boolean }[];
  skip: { app: PlanApp; reason: { code: string; params?: Record<string, string>; needsOperator?: boolean } }[];
  bytes: number;
  reasons: { package: string; code: string; en: string; zh: string }[];
}

export interface Hint {
  en: string;
  zh: string;
}

export interface InstallRecord {
  uuid: string;
  package: string;
  label: string;
  versionCode: number;
  versionName: string;
  bytes: number;
  transferMs: number;
  commitMs: number;
  result: 'installed' | 'skipped' | 'failed' | 'cancelled';
  code: string;
  message: string;
  startedAt: string;
  endedAt: string;
}

export interface InstallSession {
  id: number;
  uuid: string;
  serial: string;
  slotLabel: string;
  operator: string;
  station: string;
  brand: string;
  model: string;
  release: string;
  listName: string;
  outcome: string;
  planned: number;
  installed: number;
  skipped: number;
  failed: number;
  startedAt: string;
  endedAt: string | null;
  records?: InstallRecord[];
}

export const install = {
  start: (serial: string) => invoke<void>('InstallService', 'Start', serial),
  stop: (serial: string) => invoke<void>('InstallService', 'Stop', serial),
  retry: (serial: string) => invoke<void>('InstallService', 'Retry', serial),
  startAll: () => invoke<Record<string, string>>('InstallService', 'StartAll'),
  stopAll: () => invoke<Record<string, string>>('InstallService', 'StopAll'),
  setAuto: (on: boolean) => invoke<void>('InstallService', 'SetAuto', on),
  auto: () => invoke<boolean>('InstallService', 'Auto'),
  status: () => invoke<PhoneStatus[]>('InstallService', 'Status'),
  plan: (serial: string) => invoke<PlanView>('InstallService', 'Plan', serial),
  session: (uuid: string) => invoke<InstallSession>('InstallService', 'Session', uuid),
  hint: (code: string, brand: string) => invoke<Hint>('InstallService', 'Hint', code, brand),
};

export interface InstallCaps {
  hubConcurrency: number;
  hubRateMBps: number;
  phoneRateMBps: number;
  /** Within one priority the engine picks the fastest order; off: list order. */
  fastestOrder: boolean;
}

/** The engine's caps and order (saved, and applied to the running engine at once). */
export const caps = {
  get: () => invoke<InstallCaps>('SettingsService', 'InstallCaps'),
  set: (c: InstallCaps) => invoke<void>('SettingsService', 'SetInstallCaps', c),
};
