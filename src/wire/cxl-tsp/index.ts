/** CXL TSP (CXL 3.x section 11.5): the codec and its spec constants. */
export * from './constants.ts';
export * from './messages.ts';
