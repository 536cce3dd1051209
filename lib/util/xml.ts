/**
 * Escaping text for XML content and attribute values (libvirt domain, network
 * and pool XML; JUnit reports). Characters XML 1.0 forbids (most control
 * characters) cannot be escaped at all; they are written as a visible `\xNN`.
 */
export function xmlEscape(s: string | number): string {
  return String(s)
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, (ch) => `\\x${ch.codePointAt(0)?.toString(16).padStart(2, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
