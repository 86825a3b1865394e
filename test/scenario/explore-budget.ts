/** The step budget every seeded flaw must be found within, and the faithful model searched for. */
export const BUDGET = 2000;
