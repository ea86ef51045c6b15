/** Package statuses (DESIGN.md "Statuses"). */
export const STATUSES = ['reproducible', 'FTBR', 'FTBFS', 'depwait', 'E404', 'source-mismatch', 'timeout', 'NFU', 'blacklisted', 'untested'] as const;
export type Status = (typeof STATUSES)[number];
