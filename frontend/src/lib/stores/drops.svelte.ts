// APKs arriving in the library: by path (a drop in the window), by file
// (a browser drop, the file picker, a drop without paths: uploaded). Each file gets its own line with its own outcome; one bad
// file never stops the others.
import { library, uploadFile, handleError, toApiError, onDesktopDrop, onWindowFiles, type App, type AddResult } from '$lib/api';
import { nav } from './nav.svelte';

export type DropState = 'checking' | 'added' | 'duplicate' | 'error';

export interface DropItem {
  id: number;
  name: string;
  state: DropState;
  app?: App;
  error?: string;
  detail?: string;
}

let seq = 0;

export class DropsStore {
  items = $state<DropItem[]>([]);
  /** added is bumped after every file so the library list reloads. */
  added = $state(0);

  async addPaths(paths: string[]): Promise<void> {
    await this.#run(
      paths.map((p) => ({ name: p.split(/[\\/]/).pop() || p, add: () => library.addFile(p) })),
    );
  }

  async addFiles(files: File[]): Promise<void> {
    await this.#run(
      files.map((f) => ({
        name: f.name,
        add: () => uploadFile(f),
      })),
    );
  }

  clear() {
    this.items = this.items.filter((i) => i.state === 'checking');
  }

  async #run(jobs: { name: string; add: () => Promise<AddResult> }[]): Promise<void> {
    const lines = jobs.map((j) => {
      const item: DropItem = { id: ++seq, name: j.name, state: 'checking' };
      return { j, item };
    });
    this.items = [...lines.map((l) => l.item), ...this.items].slice(0, 50);
    // One at a time: the station hashes and inspects each file; order is kept.
    for (const { j, item } of lines) {
      const it = () => this.items.find((x) => x.id === item.id);
      if (!/\.apk$/i.test(j.name)) {
        Object.assign(it() ?? {}, { state: 'error', error: 'notApk' });
        continue;
      }
      try {
        const res = await j.add();
        Object.assign(it() ?? {}, { state: res.duplicate ? 'duplicate' : 'added', app: res.app });
        this.added++;
      } catch (err) {
        const e = toApiError(err);
        if (e.code === 'library.bad_apk') {
          // The backend's message repeats the headline: keep only why ("truncated", "no manifest", …).
          e.message = e.message.replace(/^this file is not a valid APK:?\s*/i, '').replace(/^\((.*)\)$/, '$1');
        }
        Object.assign(it() ?? {}, { state: 'error', error: handleError(e), detail: e.message });
      }
    }
  }
}

export const drops = new DropsStore();

// Files dropped anywhere on the window go to the library, on any page.
if (typeof window !== 'undefined') {
  onDesktopDrop((paths) => {
    nav.go('library');
    void drops.addPaths(paths);
  });
  onWindowFiles((files) => {
    nav.go('library');
    void drops.addFiles(files);
  });
}
