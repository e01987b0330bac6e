/**
 * Compile-time switches. The bundler replaces this module with constants for each bundle, so
 * code behind a false flag is removed from that bundle; in Node the values below apply.
 */

/** Debug logging through the client's `debug` event. Off in the board bundles. */
export const DEBUG = true;
/** QoS 1 and 2 (the outbox, acknowledgements, the incoming QoS 2 table). Off in the QoS 0 bundles. */
export const QOS12 = true;
/**
 * Strings are bytes, as on Espruino's Wi-Fi boards (built without unicode strings): no UTF-8
 * encoding or decoding is needed, and the length of a string is its size on the wire.
 */
export const BYTE_STRINGS = false;
