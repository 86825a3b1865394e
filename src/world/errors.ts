/** A scenario that cannot run as asked (no such TDI, an impossible step): the user's input, not a bug. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}
