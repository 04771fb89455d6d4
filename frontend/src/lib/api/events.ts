// Event names, mirrored from backend/events/events.go (shaped domain:verb[:id]).
// Subscribe with `on` so every listener can be removed when its component goes away.
import { EventsOn } from '../../../wailsjs/runtime/runtime';

export const Events = {
  DeviceAttached: 'device:attached',
  DeviceUpdated: 'device:updated',
  DeviceDetached: 'device:detached',

  InstallProgress: 'install:progress',
  InstallState: 'install:state',
  InstallDone: 'install:done',

  LibraryChanged: 'library:changed',
  LibraryProgress: 'library:progress',
  LibraryDropped: 'library:dropped',

  CatalogStatus: 'catalog:status',
  OutboxStatus: 'outbox:status',

  SessionChanged: 'session:changed',
  SettingsChanged: 'settings:changed',
  StationChanged: 'station:changed',

  AgentState: 'agent:state',
} as const;

export type EventName = (typeof Events)[keyof typeof Events];

/** on subscribes to one event and returns the function that unsubscribes. */
export function on<T = unknown>(name: EventName, handler: (payload: T) => void): () => void {
  const off = EventsOn(name, (payload: T) => {
    // The install engine also emits session:changed with an install session
    // (backend/install/session.go); that is not a sign-in change.
    if (name === Events.SessionChanged && isInstallSession(payload)) return;
    handler(payload);
  });
  return typeof off === 'function' ? off : () => {};
}

function isInstallSession(p: unknown): boolean {
  return !!p && typeof p === 'object' && 'serial' in p && 'uuid' in p && !('user' in p);
}
