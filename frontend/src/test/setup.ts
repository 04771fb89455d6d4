import '@testing-library/jest-dom/vitest';
import { vi, beforeEach } from 'vitest';
import { cleanup } from '@testing-library/svelte';
import { afterEach } from 'vitest';
import { backend } from './fakeBackend';
import { setupI18n, setLanguage } from '$lib/i18n';

// The generated bindings are replaced by the fake backend, here and only here.
vi.mock('../../wailsjs/go/services/StationService', async () => (await import('./fakeBackend')).backend.StationService);
vi.mock('../../wailsjs/go/services/AuthService', async () => (await import('./fakeBackend')).backend.AuthService);
vi.mock('../../wailsjs/go/services/SettingsService', async () => (await import('./fakeBackend')).backend.SettingsService);
vi.mock('../../wailsjs/runtime/runtime', () => ({
  EventsOn: () => () => {},
  EventsOff: () => {},
}));

setupI18n('en');

beforeEach(() => {
  backend.reset();
  localStorage.clear();
  setLanguage('en');
  location.hash = '';
});

afterEach(() => cleanup());
