// The current page, kept in the URL hash (#/hub) so reloads and links keep it.
import { pageIds, type PageId } from '$lib/pageIds';

function fromHash(): PageId {
  const id = (typeof location === 'undefined' ? '' : location.hash).replace(/^#\/?/, '');
  return (pageIds as readonly string[]).includes(id) ? (id as PageId) : 'hub';
}

export class NavStore {
  page = $state<PageId>(fromHash());

  go(id: PageId) {
    this.page = id;
    if (typeof history !== 'undefined') history.replaceState(null, '', `#/${id}`);
  }

  /** listen follows back/forward and typed hashes. */
  listen(): () => void {
    const onHash = () => (this.page = fromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }
}

export const nav = new NavStore();
