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

// jsdom's Blob has no arrayBuffer() (every browser and WebKitGTK have it):
// read it the way jsdom can, so uploads run as in the browser.
if (typeof Blob !== 'undefined' && !Blob.prototype.arrayBuffer) {
  Blob.prototype.arrayBuffer = function (this: Blob): Promise<ArrayBuffer> {
    return new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result as ArrayBuffer);
      r.onerror = () => reject(r.error);
      r.readAsArrayBuffer(this);
    });
  };
}
