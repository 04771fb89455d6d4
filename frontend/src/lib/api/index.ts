export { station, auth, settings } from './services';
export type { UserInfo, StationStatus, Station, UISettings, Language, Theme, SetupForm } from './services';
export { handleError, toApiError, type ApiError } from './errors';
export { Events, on, type EventName } from './events';
