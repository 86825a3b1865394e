/** CXL_IDE_KM (CXL 3.x section 11.4): the codec and its spec constants. */
export * from './constants.ts';
export * from './messages.ts';
