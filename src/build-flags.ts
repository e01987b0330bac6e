/**
 * Compile-time switches. The bundler replaces this module with constants for each bundle, so
 * code behind a false flag is removed from that bundle; in Node the values below apply.
 */

/** Debug logging through the client's `debug` event. Off in the board bundles. */
export const DEBUG = true;
