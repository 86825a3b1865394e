/** A scenario that cannot run as asked (no such TDI, an impossible step): the user's input, not a bug. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** A world that cannot be built or driven as configured (unknown flavour, no such function). */
export class WorldError extends Error {
  override readonly name = 'WorldError';
}
