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
  InstallSession: 'install:session',

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
    handler(payload);
  });
  return typeof off === 'function' ? off : () => {};
}

