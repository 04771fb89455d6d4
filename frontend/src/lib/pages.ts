// The sidebar's pages, in order. To add a page: write pages/<Name>.svelte, add
// its id here and in pageIds.ts, and its strings under nav.<id> and pages.<id>.
import type { Component } from 'svelte';
import Hub from './pages/Hub.svelte';
import Library from './pages/Library.svelte';
import Lists from './pages/Lists.svelte';
import History from './pages/History.svelte';
import Reports from './pages/Reports.svelte';
import Settings from './pages/Settings.svelte';
import type { IconName } from './components/icons';

import type { PageId } from './pageIds';
export { pageIds, type PageId } from './pageIds';

export interface PageDef {
  id: PageId;
  icon: IconName;
  component: Component;
}

export const pages: PageDef[] = [
  { id: 'hub', icon: 'hub', component: Hub },
  { id: 'library', icon: 'library', component: Library },
  { id: 'lists', icon: 'lists', component: Lists },
  { id: 'history', icon: 'history', component: History },
  { id: 'reports', icon: 'reports', component: Reports },
  { id: 'settings', icon: 'settings', component: Settings },
];
