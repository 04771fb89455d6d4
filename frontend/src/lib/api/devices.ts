// Phones on the hub and their slots (backend/services/device_service.go, agent_service.go).
import { invoke } from './call';

export type DeviceState = 'unauthorized' | 'authorizing' | 'offline' | 'probing' | 'ready' | 'busy' | 'gone';

export interface Slot {
  id: number;
  path: string;
  label: string;
  hub: string;
  position: number;
}

export interface Facts {
  brand: string;
  manufacturer: string;
  model: string;
  device: string;
  release: string;
  sdk: number;
  abis: string[];
  freeData: number;
  battery: number;
  packageCount: number;
}

export interface Phone {
  serial: string;
  state: DeviceState;
  reason?: string;
  adbState: string;
  tcp: boolean;
  devPath?: string;
  product?: string;
  adbModel?: string;
  slot: Slot;
  facts?: Facts;
  busy?: string;
  attachedAt: string;
}

export interface AgentState {
  serial: string;
  state: string;
  error?: string;
}

export const devices = {
  list: () => invoke<Phone[]>('DeviceService', 'List'),
  slots: () => invoke<Slot[]>('DeviceService', 'Slots'),
  setSlotLabel: (slotId: number, label: string) => invoke<Slot>('DeviceService', 'SetSlotLabel', slotId, label),
  identify: (serial: string) => invoke<void>('DeviceService', 'Identify', serial),
  refresh: (serial: string) => invoke<Phone>('DeviceService', 'Refresh', serial),
  reasons: () => invoke<Record<string, { en: string; zh: string }>>('DeviceService', 'Reasons'),
  agentStates: () => invoke<AgentState[]>('AgentService', 'States'),
};
