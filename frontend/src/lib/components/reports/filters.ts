// History filters as the form holds them, and as the service wants them.
import type { HistoryFilter } from '$lib/api';

export interface FilterForm {
  from: string; // yyyy-mm-dd, local
  to: string; // yyyy-mm-dd, local, inclusive
  operator: string;
  outcome: string;
  model: string;
  package: string;
  serial: string;
}

export const emptyForm = (): FilterForm => ({ from: '', to: '', operator: '', outcome: '', model: '', package: '', serial: '' });

/** toFilter turns the form into a service filter: local days, "to" inclusive. */
export function toFilter(f: FilterForm, page: number, pageSize: number): HistoryFilter {
  const day = (s: string, plus = 0) => {
    if (!s) return '';
    const [y, m, d] = s.split('-').map(Number);
    return new Date(y, m - 1, d + plus).toISOString();
  };
  return {
    from: day(f.from),
    to: day(f.to, 1),
    operator: f.operator.trim(),
    outcome: f.outcome,
    model: f.model.trim(),
    package: f.package.trim(),
    serial: f.serial.trim(),
    page,
    pageSize,
  };
}
