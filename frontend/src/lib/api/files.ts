// APK files arriving by drag-and-drop or the file picker.
//
// In the Wails window on Linux, WebKitGTK navigates to a dropped file unless
// the page cancels dragover/drop (wails#3686), and that navigation reloads
// the app and re-fires OnDomReady (wails#3563). guardDrops cancels both
// events on the whole window as soon as this module loads, before any page
// registers its own handlers. The window gives file *paths* through Wails'
// OnFileDrop; a browser on `serve` gives File objects, whose bytes go to
// POST /api/upload in 1 MiB pieces (never base64 through a call). The
// window's file picker, and a drop that brings no paths (dragged from a
// browser, say), give File objects too: they go to the same /api/upload,
// which the window's asset server answers (web.UploadHandler).
import type { AddResult } from './library';
import { isDesktop } from './call';
import { toApiError } from './errors';

type DropCallback = (x: number, y: number, paths: string[]) => void;
interface WailsRuntime {
  OnFileDrop?: (cb: DropCallback, useDropTarget: boolean) => void;
  OnFileDropOff?: () => void;
}

/** A drop not handled by a drop zone; the window-level handler routes it. */
const handledMark = Symbol('preload-drop-handled');

export function markHandled(e: Event): void {
  (e as unknown as Record<symbol, boolean>)[handledMark] = true;
}

function isHandled(e: Event): boolean {
  return !!(e as unknown as Record<symbol, boolean>)[handledMark];
}

export function hasFiles(e: DragEvent): boolean {
  return !!e.dataTransfer && Array.from(e.dataTransfer.types ?? []).includes('Files');
}

let guarded = false;
let fallback: ((files: File[]) => void) | null = null;
/** When the window last delivered dropped paths (OnFileDrop). */
let lastPathDrop = -Infinity;

/** How long a drop's File objects wait for the same drop's paths in the window. */
export const pathDropWait = 500;

/**
 * droppedFiles hands a drop's File objects to cb, unless the window delivers
 * the same drop as paths (OnFileDrop): in a browser at once; in the window
 * only if no paths arrived around it, so one drop is never added twice.
 */
export function droppedFiles(files: File[], cb: (files: File[]) => void): void {
  if (!files.length) return;
  if (!isDesktop()) {
    cb(files);
    return;
  }
  const at = Date.now();
  if (at - lastPathDrop < pathDropWait) return;
  setTimeout(() => {
    if (lastPathDrop < at - pathDropWait) cb(files);
  }, pathDropWait);
}

/** guardDrops stops the webview from opening dropped files; idempotent. */
export function guardDrops(): void {
  if (guarded || typeof window === 'undefined') return;
  guarded = true;
  window.addEventListener('dragover', (e) => {
    if (hasFiles(e)) {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    }
  });
  window.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    const cb = fallback;
    if (!isHandled(e) && cb && e.dataTransfer) droppedFiles(Array.from(e.dataTransfer.files), cb);
  });
}

/** onWindowFiles receives files dropped anywhere outside a drop zone that did not come as paths. */
export function onWindowFiles(cb: (files: File[]) => void): () => void {
  fallback = cb;
  return () => {
    if (fallback === cb) fallback = null;
  };
}

/** onDesktopDrop receives dropped paths in the Wails window; a no-op in a browser. */
export function onDesktopDrop(cb: (paths: string[]) => void): () => void {
  const rt = (window as unknown as { runtime?: WailsRuntime }).runtime;
  if (!isDesktop() || typeof rt?.OnFileDrop !== 'function') return () => {};
  rt.OnFileDrop((_x, _y, paths) => {
    lastPathDrop = Date.now();
    cb(paths);
  }, false);
  return () => rt.OnFileDropOff?.();
}

/** uploadPiece is the size of one request of an upload. */
export const uploadPiece = 1 << 20;

/**
 * uploadFile sends one file to the station in pieces and adds it to the
 * library. Each piece goes as an ArrayBuffer, never as the File itself: in
 * the Wails window on Linux, WebKitGTK crashes the app when a request body
 * is backed by a Blob or File (wails#5845, #6068).
 */
export async function uploadFile(file: File): Promise<AddResult> {
  const id = uploadId();
  let offset = 0;
  for (;;) {
    const end = Math.min(offset + uploadPiece, file.size);
    const piece = await file.slice(offset, end).arrayBuffer();
    let res: Response;
    try {
      res = await fetch('/api/upload', {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/octet-stream',
          'X-File-Name': encodeURIComponent(file.name),
          'X-Upload-Id': id,
          'X-Offset': String(offset),
          'X-Total': String(file.size),
        },
        body: piece,
      });
    } catch (err) {
      throw { code: 'network', message: String((err as Error)?.message ?? err) };
    }
    let body: { result?: AddResult; error?: unknown; received?: number };
    try {
      body = await res.json();
    } catch {
      throw { code: 'network', message: `HTTP ${res.status} ${res.statusText}` };
    }
    if (body.error) throw toApiError(body.error);
    if (body.result) return body.result;
    if (body.received !== end || end >= file.size) {
      throw { code: 'network', message: `upload of ${file.name} stopped at byte ${body.received ?? offset} of ${file.size}` };
    }
    offset = end;
  }
}

function uploadId(): string {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `u${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

guardDrops();
