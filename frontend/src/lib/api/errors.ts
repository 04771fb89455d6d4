// One place maps backend error codes to translated messages. Both modes reject
// with {code, message}: Wails through its ErrorFormatter, `serve` through the shim.
import { get } from 'svelte/store';
import { _, json } from 'svelte-i18n';

export interface ApiError {
  code: string;
  message: string;
}

/** toApiError normalises whatever a rejected call gave us. */
export function toApiError(err: unknown): ApiError {
  if (err && typeof err === 'object' && 'code' in err) {
    const e = err as { code: unknown; message?: unknown };
    return { code: String(e.code), message: String(e.message ?? '') };
  }
  if (typeof err === 'string') {
    // Wails without an ErrorFormatter, or a JSON string of one.
    try {
      const parsed = JSON.parse(err);
      if (parsed && typeof parsed === 'object' && 'code' in parsed) return toApiError(parsed);
    } catch {
      /* plain text */
    }
    return { code: 'internal', message: err };
  }
  if (err instanceof Error) return { code: 'internal', message: err.message };
  return { code: 'internal', message: String(err) };
}

/** handleError returns the translated message for an error from any API call. */
export function handleError(err: unknown): string {
  const e = toApiError(err);
  const t = get(_);
  const values = { message: e.message || e.code };
  const known = get(json)(`errors.${e.code}`);
  if (typeof known === 'string') return t(`errors.${e.code}`, { values });
  return t('errors.internal', { values });
}
