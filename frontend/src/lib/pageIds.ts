export const pageIds = ['hub', 'library', 'lists', 'history', 'reports', 'settings'] as const;
export type PageId = (typeof pageIds)[number];
