// APK files arriving by drag-and-drop or the file picker.
//
// In the Wails window on Linux, WebKitGTK navigates to a dropped file unless
// the page cancels dragover/drop (wails#3686), and that navigation reloads
// the app and re-fires OnDomReady (wails#3563). guardDrops cancels both
// events on the whole window as soon as this module loads, before any page
// registers its own handlers. The window gives file *paths* through Wails'
// OnFileDrop; a browser on `serve` gives File objects, whose bytes are
// streamed to POST /api/upload (never base64 through a call). The window's
// file picker, and a drop that brings no paths (dragged from a browser, say),
// give File objects too: they go to the same /api/upload, which the window's
// asset server answers (web.UploadHandler).
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

/** uploadFile streams one file to the station and adds it to the library. */
export async function uploadFile(file: File): Promise<AddResult> {
  let res: Response;
  try {
    res = await fetch('/api/upload', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/octet-stream', 'X-File-Name': encodeURIComponent(file.name) },
      body: file,
    });
  } catch (err) {
    throw { code: 'network', message: String((err as Error)?.message ?? err) };
  }
  let body: { result?: AddResult; error?: unknown };
  try {
    body = await res.json();
  } catch {
    throw { code: 'network', message: `HTTP ${res.status} ${res.statusText}` };
  }
  if (body.error) throw toApiError(body.error);
  return body.result as AddResult;
}

guardDrops();
