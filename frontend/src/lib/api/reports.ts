// History, receipts and summaries (backend/services/report_service.go).
import { invoke, isDesktop } from './call';
import type { InstallSession } from './install';

export interface HistoryFilter {
  from?: string; // RFC 3339
  to?: string;
  operator?: string;
  outcome?: string;
  model?: string;
  package?: string;
  serial?: string;
  page: number;
  pageSize: number;
}

export interface HistoryPage {
  total: number;
  page: number;
  pageSize: number;
  items: InstallSession[];
}

export interface ReceiptApp {
  label: string;
  package: string;
  versionName: string;
  versionCode: number;
  result: string;
  code: string;
  message: string;
  millis: number;
}

export interface Receipt {
  sessionUuid: string;
  station: string;
  slot: string;
  operator: string;
  serial: string;
  brand: string;
  model: string;
  release: string;
  listName: string;
  outcome: string;
  startedAt: string;
  endedAt: string | null;
  apps: ReceiptApp[];
  installed: number;
  skipped: number;
  failed: number;
}

export type SummaryGroup = 'day' | 'operator' | 'app';

export interface SummaryRow {
  key: string;
  label: string;
  total: number;
  done: number;
  failed: number;
  other: number;
  apps: number;
  successRate: number;
  avgMillis: number;
}

export interface Summary {
  group: SummaryGroup;
  rows: SummaryRow[];
  total: SummaryRow;
}

export interface Export {
  fileName: string;
  path: string;
  mime: string;
  data: string; // base64
}

/** zero-valued Go time for filters left empty */
const zero = '0001-01-01T00:00:00Z';

function goFilter(f: Partial<HistoryFilter>) {
  return {
    from: f.from || zero,
    to: f.to || zero,
    operator: f.operator ?? '',
    outcome: f.outcome ?? '',
    model: f.model ?? '',
    package: f.package ?? '',
    serial: f.serial ?? '',
    page: f.page ?? 1,
    pageSize: f.pageSize ?? 50,
  };
}

export const reports = {
  sessions: (f: HistoryFilter) => invoke<HistoryPage>('ReportService', 'Sessions', goFilter(f)),
  receipt: (uuid: string) => invoke<Receipt>('ReportService', 'Receipt', uuid),
  latestReceipt: (serial: string) => invoke<Receipt>('ReportService', 'LatestReceipt', serial),
  summary: (group: SummaryGroup, f: Partial<HistoryFilter>) => invoke<Summary>('ReportService', 'Summary', group, goFilter(f)),
  exportReceipt: (uuid: string, format: 'pdf' | 'csv' | 'html', lang: string) =>
    invoke<Export>('ReportService', 'ExportReceipt', uuid, format, lang),
  exportSummary: (group: SummaryGroup, f: Partial<HistoryFilter>, format: 'pdf' | 'csv', lang: string) =>
    invoke<Export>('ReportService', 'ExportSummary', group, goFilter(f), format, lang),
};

/**
 * deliver hands an export to the operator: a download in a browser; in the
 * window (no download manager in WebKitGTK) the file is already saved and its
 * path is returned for the UI to show.
 */
export function deliver(e: Export): string {
  if (isDesktop() && e.path) return e.path;
  const bin = atob(e.data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const url = URL.createObjectURL(new Blob([bytes], { type: e.mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = e.fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return e.fileName;
}
