/** "bb:dd.f" of a 16-bit routing id (Requester ID), as lspci prints it. */
export function formatBdf(rid: number): string {
  const h = (v: number) => v.toString(16).padStart(2, '0');
  return `${h((rid >> 8) & 0xff)}:${h((rid >> 3) & 0x1f)}.${(rid & 7).toString(16)}`;
}
