import { describe, it, expect, vi, afterEach } from 'vitest';
import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import DropZone from '$lib/components/library/DropZone.svelte';
import DropResults from '$lib/components/library/DropResults.svelte';
import { DropsStore } from '$lib/stores/drops.svelte';

function apk(name: string, bytes = 'PK\x03\x04') {
  return new File([bytes], name, { type: 'application/vnd.android.package-archive' });
}
function dataTransfer(files: File[]) {
  return { files, types: ['Files'], items: files.map((f) => ({ kind: 'file', getAsFile: () => f })), dropEffect: 'none' };
}

afterEach(() => vi.unstubAllGlobals());

describe('DropZone', () => {
  it('hands dropped files over, highlights while dragging, and cancels the browser default', async () => {
    const got: File[][] = [];
    render(DropZone, { onfiles: (f: File[]) => got.push(f) });
    const zone = screen.getByRole('region', { name: 'Drop APK files here' });
    const files = [apk('a.apk'), apk('b.apk')];
    await fireEvent.dragEnter(zone, { dataTransfer: dataTransfer(files) });
    expect(zone).toHaveClass('over');
    expect(screen.getByText('Release to add')).toBeInTheDocument();
    const ev = new Event('drop', { bubbles: true, cancelable: true });
    Object.assign(ev, { dataTransfer: dataTransfer(files) });
    zone.dispatchEvent(ev);
    expect(ev.defaultPrevented).toBe(true);
    expect(got).toHaveLength(1);
    expect(got[0].map((f) => f.name)).toEqual(['a.apk', 'b.apk']);
    await waitFor(() => expect(zone).not.toHaveClass('over'));
  });

  it('ignores drags that carry no files', async () => {
    const got: File[][] = [];
    render(DropZone, { onfiles: (f: File[]) => got.push(f) });
    const zone = screen.getByRole('region', { name: 'Drop APK files here' });
    await fireEvent.dragEnter(zone, { dataTransfer: { files: [], types: ['text/plain'] } });
    expect(zone).not.toHaveClass('over');
    await fireEvent.drop(zone, { dataTransfer: { files: [], types: ['text/plain'] } });
    expect(got).toHaveLength(0);
  });

  it('the file picker hands over the chosen files', async () => {
    const got: File[][] = [];
    const { container } = render(DropZone, { onfiles: (f: File[]) => got.push(f) });
    const input = container.querySelector('input[type="file"]') as HTMLInputElement;
    await userEvent.setup().upload(input, [apk('picked.apk')]);
    expect(got[0][0].name).toBe('picked.apk');
  });
});

describe('dropped files, one line each', () => {
  it('uploads each file: added, duplicate, broken (with the reason), not an APK; one failure stops nothing', async () => {
    const answers: Record<string, unknown> = {
      'good.apk': { result: { duplicate: false, app: { id: 1, package: 'com.tencent.mm', label: '微信', versionName: '8.0' } } },
      'again.apk': { result: { duplicate: true, app: { id: 1, package: 'com.tencent.mm', label: '微信' } } },
      'broken.apk': { error: { code: 'library.bad_apk', message: 'this file is not a valid APK (no AndroidManifest.xml)' } },
    };
    const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
      const name = decodeURIComponent((init.headers as Record<string, string>)['X-File-Name']);
      return new Response(JSON.stringify(answers[name]), { headers: { 'Content-Type': 'application/json' } });
    });
    vi.stubGlobal('fetch', fetchMock);
    const store = new DropsStore();
    await store.addFiles([apk('good.apk'), apk('broken.apk'), apk('notes.txt'), apk('again.apk')]);
    expect(fetchMock).toHaveBeenCalledTimes(3); // the .txt never leaves the browser
    expect(fetchMock.mock.calls[0][0]).toBe('/api/upload');
    expect(store.items.map((i) => [i.name, i.state])).toEqual([
      ['good.apk', 'added'],
      ['broken.apk', 'error'],
      ['notes.txt', 'error'],
      ['again.apk', 'duplicate'],
    ]);
    render(DropResults, { items: store.items });
    expect(screen.getByText(/Added · 微信 8.0/)).toBeInTheDocument();
    expect(screen.getByText(/Already in the library · 微信/)).toBeInTheDocument();
    const alerts = screen.getAllByRole('alert').map((a) => a.textContent);
    expect(alerts).toContain('✕ This file is not a valid APK (no AndroidManifest.xml).');
    expect(alerts).toContain('✕ Not an .apk file');
  });
});
