// The library: apps, custom APKs, lists, catalog (backend/services/library_service.go).
import { invoke } from './call';

export interface App {
  id: number;
  sha256: string;
  package: string;
  label: string;
  labelZh: string;
  versionCode: number;
  versionName: string;
  minSdk: number;
  targetSdk: number;
  abis: string;
  signer: string;
  size: number;
  source: 'catalog' | 'custom';
  catalogId: string;
  fileName: string;
  createdAt: string;
  cached?: boolean;
}

export interface AddResult {
  app: App;
  duplicate: boolean;
}

/** An item's priority is the operator's "install first" mark (store.PriorityNormal / PriorityFirst). */
export const Priority = { Normal: 0, First: 1 } as const;

export interface ListItem {
  id: number;
  appListId: number;
  appId: number;
  app: App;
  /** The list order (0-based). */
  position: number;
  /** Priority.First: installed before the others on every phone. */
  priority: number;
}

export interface AppList {
  id: number;
  name: string;
  source: 'catalog' | 'custom';
  catalogId: string;
  operator: string;
  active: boolean;
  items: ListItem[];
}

export interface LibraryStatus {
  progress: { state: string; filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number; error?: string };
  cacheBytes: number;
  cacheMax: number;
  missing: number;
}

export const library = {
  apps: () => invoke<App[]>('LibraryService', 'Apps'),
  addFile: (path: string) => invoke<AddResult>('LibraryService', 'AddFile', path),
  remove: (id: number) => invoke<void>('LibraryService', 'Remove', id),
  lists: () => invoke<AppList[]>('LibraryService', 'Lists'),
  createList: (name: string) => invoke<AppList>('LibraryService', 'CreateList', name),
  renameList: (id: number, name: string) => invoke<void>('LibraryService', 'RenameList', id, name),
  deleteList: (id: number) => invoke<void>('LibraryService', 'DeleteList', id),
  setListItems: (id: number, appIds: number[]) => invoke<void>('LibraryService', 'SetListItems', id, appIds),
  setItemFirst: (listId: number, appId: number, first: boolean) =>
    invoke<void>('LibraryService', 'SetItemFirst', listId, appId, first),
  activateList: (id: number) => invoke<void>('LibraryService', 'ActivateList', id),
  status: () => invoke<LibraryStatus>('LibraryService', 'Status'),
  registerCatalog: (url: string, code: string, name: string) =>
    invoke<void>('LibraryService', 'RegisterCatalog', url, code, name),
};

/** appIcon returns a data URL for an app's icon, or '' (cached per id). */
const iconCache = new Map<number, Promise<string>>();
export function appIcon(id: number): Promise<string> {
  let p = iconCache.get(id);
  if (!p) {
    p = invoke<string>('ReportService', 'AppIcon', id)
      .then((b64) => (b64 ? `data:image/png;base64,${b64}` : ''))
      .catch(() => '');
    iconCache.set(id, p);
  }
  return p;
}
