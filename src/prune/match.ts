/**
 * Layer-name patterns. `*` matches any run of characters (dots included), `?` one character.
 * A pattern also matches everything under it as a module prefix: `conv2.0` matches `conv2.0.conv`,
 * `conv2.*` matches `conv2.0.conv`, `backbone` matches `backbone.conv1.bn`.
 */

export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}(\\..*)?$`);
}

export function matchesPattern(name: string, pattern: string): boolean {
  return globToRegExp(pattern).test(name);
}

export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => matchesPattern(name, p));
}

/** Levenshtein distance (small strings only). */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** Up to `max` names closest to `query` (wildcards removed), best first. */
export function closeMatches(query: string, names: readonly string[], max = 5): string[] {
  const q = query.replace(/[*?]/g, '');
  const scored = names.map((n) => {
    // Compare with the name and with its module prefix of the same depth, whichever is closer.
    const depth = q.split('.').length;
    const prefix = n.split('.').slice(0, depth).join('.');
    return { n, d: Math.min(editDistance(q, n), editDistance(q, prefix) + 0.5) };
  });
  scored.sort((a, b) => a.d - b.d || a.n.localeCompare(b.n));
  return scored.slice(0, max).map((s) => s.n);
}
