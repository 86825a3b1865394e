/** The step budget every seeded flaw must be found within, and the faithful model searched for. */
export const BUDGET = 4000;

/**
 * The budget of the depth-first search, one move deep, that must find every seeded flaw: it
 * covers each flaw's whole one-move space (the largest about 4,100 steps).
 */
export const FLAW_BUDGET = 6000;
