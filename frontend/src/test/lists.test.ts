import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { render, screen, within, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import Lists from '$lib/pages/Lists.svelte';
import type { App, AppList } from '$lib/api';
import { setLanguage } from '$lib/i18n';
import pagesEn from '$lib/i18n/pages.en.json';
import pagesZh from '$lib/i18n/pages.zh-CN.json';

// The page calls LibraryService through window.go (lib/api/call.ts): a small
// fake keeps the lists like the store does and records every call.
function app(id: number, pkg: string, label: string): App {
  return { id, sha256: '', package: pkg, label, labelZh: '', versionCode: 1, versionName: '1.0', minSdk: 21, targetSdk: 33, abis: '', signer: '', size: id * 1e6, source: 'custom', catalogId: '', fileName: '', createdAt: '' };
}
const apps = [app(1, 'com.tencent.mm', 'WeChat'), app(2, 'com.eg.android.AlipayGphone', 'Alipay'), app(3, 'org.example.notes', 'Notes')];

function list(id: number, source: 'custom' | 'catalog', appIds: number[], first: number[] = []): AppList {
  return {
    id, name: source === 'custom' ? 'Standard' : 'Head office', source, catalogId: '', operator: '', active: id === 1,
    items: appIds.map((appId, position) => ({ id: 100 * id + appId, appListId: id, appId, app: apps[appId - 1], position, priority: first.includes(appId) ? 1 : 0 })),
  };
}

class FakeLibrary {
  lists: AppList[] = [];
  calls: string[] = [];
  failNext = '';
  service = {
    Apps: async () => structuredClone(apps),
    Lists: async () => structuredClone(this.lists),
    SetItemFirst: async (listId: number, appId: number, first: boolean) => {
      this.calls.push(`SetItemFirst:${listId}:${appId}:${first}`);
      if (this.failNext) {
        const code = this.failNext;
        this.failNext = '';
        return Promise.reject({ code, message: 'refused' });
      }
      const l = this.lists.find((x) => x.id === listId)!;
      if (l.source !== 'custom') return Promise.reject({ code: 'library.read_only', message: 'catalog list' });
      l.items.find((i) => i.appId === appId)!.priority = first ? 1 : 0;
    },
    SetListItems: async (listId: number, appIds: number[]) => {
      this.calls.push(`SetListItems:${listId}:${appIds.join(',')}`);
      const l = this.lists.find((x) => x.id === listId)!;
      const keep = new Map(l.items.map((i) => [i.appId, i.priority]));
      l.items = appIds.map((appId, position) => ({ id: 100 * listId + appId, appListId: listId, appId, app: apps[appId - 1], position, priority: keep.get(appId) ?? 0 }));
    },
  };
}

let fake: FakeLibrary;
beforeEach(() => {
  fake = new FakeLibrary();
  fake.lists = [list(1, 'custom', [1, 2, 3]), list(2, 'catalog', [3, 1], [1])];
  window.go = { services: { LibraryService: fake.service, ReportService: { AppIcon: async () => '' } } } as unknown as Window['go'];
});
afterEach(() => {
  delete window.go;
});

/** row is the list item of one app on the shown list. */
function row(name: string) {
  const items = within(screen.getAllByRole('list').find((l) => l.tagName === 'OL')!).getAllByRole('listitem');
  return items.find((li) => within(li).queryByText(name))!;
}

describe('Lists: install first', () => {
  it('marks an app and unmarks it, saving each change', async () => {
    const user = userEvent.setup();
    render(Lists);
    await screen.findByRole('heading', { level: 2, name: 'Standard' });
    const toggle = within(row('Alipay')).getByRole('button', { name: 'Install first' });
    expect(toggle).toHaveAttribute('aria-pressed', 'false');

    await user.click(toggle);
    await waitFor(() => expect(within(row('Alipay')).getByRole('button', { name: 'Install first' })).toHaveAttribute('aria-pressed', 'true'));
    expect(fake.calls).toEqual(['SetItemFirst:1:2:true']);
    expect(within(row('WeChat')).getByRole('button', { name: 'Install first' })).toHaveAttribute('aria-pressed', 'false');
    expect(screen.getByText(/go onto every phone before the others/)).toBeInTheDocument();

    await user.click(within(row('Alipay')).getByRole('button', { name: 'Install first' }));
    await waitFor(() => expect(within(row('Alipay')).getByRole('button', { name: 'Install first' })).toHaveAttribute('aria-pressed', 'false'));
    expect(fake.calls).toEqual(['SetItemFirst:1:2:true', 'SetItemFirst:1:2:false']);
  });

  it('keeps the mark when the app is moved, and the position shows the list order', async () => {
    const user = userEvent.setup();
    fake.lists[0] = list(1, 'custom', [1, 2, 3], [3]);
    render(Lists);
    await screen.findByRole('heading', { level: 2, name: 'Standard' });
    expect(within(row('Notes')).getByTitle('Order in the list')).toHaveTextContent('3');

    await user.click(within(row('Notes')).getByRole('button', { name: 'Move up' }));
    await waitFor(() => expect(fake.calls).toEqual(['SetListItems:1:1,3,2']));
    expect(within(row('Notes')).getByTitle('Order in the list')).toHaveTextContent('2');
    expect(within(row('Notes')).getByRole('button', { name: 'Install first' })).toHaveAttribute('aria-pressed', 'true');
    expect(within(row('Alipay')).getByRole('button', { name: 'Install first' })).toHaveAttribute('aria-pressed', 'false');
  });

  it('shows the backend error and leaves the mark as it was', async () => {
    const user = userEvent.setup();
    fake.failNext = 'library.read_only';
    render(Lists);
    await screen.findByRole('heading', { level: 2, name: 'Standard' });
    await user.click(within(row('WeChat')).getByRole('button', { name: 'Install first' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Catalog lists are read-only.');
    expect(within(row('WeChat')).getByRole('button', { name: 'Install first' })).toHaveAttribute('aria-pressed', 'false');
  });

  it('catalog lists show the mark without a toggle', async () => {
    const user = userEvent.setup();
    render(Lists);
    await user.click(await screen.findByRole('button', { name: /Head office/ }));
    await screen.findByRole('heading', { level: 2, name: 'Head office' });
    expect(screen.queryByRole('button', { name: 'Install first' })).not.toBeInTheDocument();
    expect(within(row('WeChat')).getByText('Install first')).toBeInTheDocument();
    expect(within(row('Notes')).queryByText('Install first')).not.toBeInTheDocument();
  });

  it('in Chinese', async () => {
    setLanguage('zh-CN');
    render(Lists);
    await screen.findByRole('heading', { level: 2, name: 'Standard' });
    expect(within(row('Alipay')).getByRole('button', { name: '优先安装', pressed: false })).toBeInTheDocument();
    expect(screen.getByText(/先于其他应用安装/)).toBeInTheDocument();
  });
});

function keys(obj: object, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

describe('page message files', () => {
  it('have the same keys in English and Chinese', () => {
    expect(keys(pagesZh).sort()).toEqual(keys(pagesEn).sort());
  });
});
