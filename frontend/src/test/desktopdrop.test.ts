import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { droppedFiles, onDesktopDrop, pathDropWait, uploadFile, uploadPiece } from '$lib/api/files';

// In the Wails window one drop can arrive twice: as File objects (HTML5) and
// as paths (OnFileDrop). Paths win; File objects go on only when no paths came.
function apk(name: string) {
  return new File(['PK\x03\x04'], name);
}

describe('droppedFiles', () => {
  let pathCb: ((x: number, y: number, paths: string[]) => void) | undefined;
  let off: () => void = () => {};
  const w = window as unknown as Record<string, unknown>;

  let hour = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    // Each test an hour later: the module remembers the last path drop.
    vi.setSystemTime(new Date(Date.UTC(2026, 10, 24, 8 + hour++)));
  });
  afterEach(() => {
    off();
    delete w.WailsInvoke;
    delete w.runtime;
    vi.useRealTimers();
  });

  function desktop(): string[][] {
    w.WailsInvoke = () => {};
    w.runtime = { OnFileDrop: (cb: typeof pathCb) => (pathCb = cb), OnFileDropOff: () => (pathCb = undefined) };
    const paths: string[][] = [];
    off = onDesktopDrop((p) => paths.push(p));
    return paths;
  }

  it('in a browser, hands the files over at once', () => {
    const got: File[][] = [];
    droppedFiles([apk('a.apk')], (f) => got.push(f));
    expect(got.map((f) => f.map((x) => x.name))).toEqual([['a.apk']]);
  });

  it('in the window, drops the File objects when the same drop brings paths after them', () => {
    const paths = desktop();
    const got: File[][] = [];
    droppedFiles([apk('a.apk')], (f) => got.push(f));
    vi.advanceTimersByTime(100);
    pathCb?.(0, 0, ['/home/op/a.apk']);
    vi.advanceTimersByTime(pathDropWait * 2);
    expect(paths).toEqual([['/home/op/a.apk']]);
    expect(got).toEqual([]);
  });

  it('in the window, drops the File objects when the paths came just before', () => {
    desktop();
    const got: File[][] = [];
    pathCb?.(0, 0, ['/home/op/b.apk']);
    vi.advanceTimersByTime(50);
    droppedFiles([apk('b.apk')], (f) => got.push(f));
    vi.advanceTimersByTime(pathDropWait * 2);
    expect(got).toEqual([]);
  });

  it('in the window, uploads a drop that brings no paths, once it is clear none will come', () => {
    desktop();
    const got: File[][] = [];
    droppedFiles([apk('from-browser.apk')], (f) => got.push(f));
    vi.advanceTimersByTime(pathDropWait - 1);
    expect(got).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(got.map((f) => f.map((x) => x.name))).toEqual([['from-browser.apk']]);
  });
});

describe('uploadFile', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends the file in 1 MiB pieces, each an ArrayBuffer (never the File: WebKitGTK crashes on Blob bodies)', async () => {
    const size = 2 * uploadPiece + 12345;
    const file = new File([new Uint8Array(size).fill(7)], '微信 v8.apk');
    const calls: { headers: Record<string, string>; body: unknown }[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (_url: string, init: RequestInit) => {
        const headers = init.headers as Record<string, string>;
        calls.push({ headers, body: init.body });
        const end = Number(headers['X-Offset']) + (init.body as ArrayBuffer).byteLength;
        const answer = end === size ? { result: { duplicate: false, app: { id: 3, package: 'com.tencent.mm' } } } : { received: end };
        return new Response(JSON.stringify(answer));
      }),
    );
    const res = await uploadFile(file);
    expect(res.app.package).toBe('com.tencent.mm');
    expect(calls.map((c) => c.headers['X-Offset'])).toEqual(['0', String(uploadPiece), String(2 * uploadPiece)]);
    expect(calls.every((c) => c.body instanceof ArrayBuffer)).toBe(true);
    expect(new Set(calls.map((c) => c.headers['X-Upload-Id'])).size).toBe(1);
    expect(calls[0].headers['X-Total']).toBe(String(size));
    expect(decodeURIComponent(calls[0].headers['X-File-Name'])).toBe('微信 v8.apk');
  });

  it('stops with a clear error when the station answers a piece with an error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ error: { code: 'bad_request', message: 'a piece at byte 5, expected byte 0' } }))));
    await expect(uploadFile(new File(['PK'], 'a.apk'))).rejects.toMatchObject({ message: expect.stringContaining('expected byte 0') });
  });
});
