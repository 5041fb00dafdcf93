/**
 * Compares secrets in time that depends only on their lengths, not their
 * contents: every character of the expected secret is looked at, whatever the
 * given one holds.
 */
export function secretsEqual(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  const span = Math.max(given.length, 1);
  for (let i = 0; i < expected.length; i++) diff |= (given.charCodeAt(i % span) || 0) ^ expected.charCodeAt(i);
  return diff === 0;
}
